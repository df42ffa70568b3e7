#!/bin/sh
# The image's entrypoint. Given no arguments it behaves like Toxiproxy's image: an empty
# server whose API listens on 0.0.0.0:8474 (the container's own network), to be filled through
# the API -- unless a config file is mounted at /etc/faultline/faultline.yaml, which then runs.
# Arguments go to faultline unchanged: toxiproxy-server's command line
# (-host=0.0.0.0 -config /x.json), Faultline's own (--config FILE, --check FILE), or ctl.
set -e
config=/etc/faultline/faultline.yaml
if [ "$#" -eq 0 ]; then
  if [ -f "$config" ]; then
    exec faultline --config "$config"
  fi
  exec faultline -host=0.0.0.0 -port=8474
fi
exec faultline "$@"
