# Faultline in a container: build and unit-test on debian:bookworm, run on bookworm-slim
# with the runtime libraries and the three binaries only. See docs/docker.md.
#
#   docker build -t faultline .
#   docker run --rm -p 127.0.0.1:8474:8474 faultline        # an empty server, as Toxiproxy's image
#   docker run --rm -v "$PWD/my.yaml:/etc/faultline/faultline.yaml:ro" faultline
#
# Stages: `toolchain` (debian:bookworm with the compiler and -dev packages), `runtime-base`
# (bookworm-slim with the runtime libraries and a non-root user), `build` (the build and
# `ctest -L unit`, on toolchain) and `runtime` (the binaries, on runtime-base). The two base
# stages hold the package installs and nothing of the sources, so their layers stay cached
# while the code changes (tests/docker/run.sh --prepare builds them ahead).
# Build arguments: JOBS (parallel compile jobs, default 2), UNIT_TESTS (ON: build and run the
# unit tests in the build stage; OFF: only the binaries).

# The dev.faultline.stage labels come first in each stage so that every layer carries them:
# tests/docker/run.sh prunes its own stale cache layers by them, and nothing else.
FROM debian:bookworm AS toolchain
LABEL dev.faultline.stage="build"
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       g++ cmake ninja-build pkg-config \
       libasio-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev \
       nlohmann-json3-dev libcpp-httplib-dev libgtest-dev libgmock-dev \
    && apt-get clean && rm -rf /var/lib/apt/lists/*

FROM debian:bookworm-slim AS runtime-base
LABEL dev.faultline.stage="runtime" \
      org.opencontainers.image.title="faultline" \
      org.opencontainers.image.description="A fault-injecting TCP proxy for resilience testing"
# The shared libraries the binaries link (Debian 12 names; libcpp-httplib0.11 brings libssl3,
# libbrotli1, zlib1g); libstdc++6 is in the base. A missing one fails the build below.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       libyaml-cpp0.7 libspdlog1.10 libfmt9 libcpp-httplib0.11 \
    && apt-get clean && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home \
               --home-dir /nonexistent --shell /usr/sbin/nologin faultline

FROM toolchain AS build
ARG JOBS=2
ARG UNIT_TESTS=ON
# The context is an allowlist (.dockerignore): sources, tests, examples, docs.
COPY . /src
WORKDIR /build
# Only the three binaries and the unit test binaries are built (tests/unit/*/all): the
# integration tests need more time and run on the host (scripts/test). The image has no default
# config: given nothing it serves an empty API (see the entrypoint). examples/demo.yaml with
# container addresses (listen 0.0.0.0:7000, upstream echo-server:7001, the API on 0.0.0.0:8474)
# is shipped as /usr/share/faultline/demo.yaml to try: --config /usr/share/faultline/demo.yaml.
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
          -DFAULTLINE_BUILD_TESTS="${UNIT_TESTS}" \
    && unit_targets="$(ninja -t targets all | sed -n 's|^\(tests/unit/[^:]*/all\):.*|\1|p')" \
    && if [ "${UNIT_TESTS}" != "ON" ]; then unit_targets=""; fi \
    && cmake --build /build -j "${JOBS}" --target faultline echo-server echo-client ${unit_targets} \
    && if [ "${UNIT_TESTS}" = "ON" ]; then ctest -L unit --output-on-failure -j "${JOBS}"; fi \
    && mkdir -p /out/bin /out/etc \
    && strip -o /out/bin/faultline bin/faultline \
    && strip -o /out/bin/echo-server bin/echo-server \
    && strip -o /out/bin/echo-client bin/echo-client \
    && sed -e 's/127\.0\.0\.1:7000/0.0.0.0:7000/' -e 's/127\.0\.0\.1:7001/echo-server:7001/' \
           /src/examples/demo.yaml > /out/etc/demo.yaml \
    && printf 'api: { listen: 0.0.0.0:8474 }\n' >> /out/etc/demo.yaml \
    && /out/bin/faultline --check /out/etc/demo.yaml \
    && install -m 0755 /src/app/docker-entrypoint.sh /out/bin/faultline-entrypoint

FROM runtime-base AS runtime
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/etc/demo.yaml /usr/share/faultline/demo.yaml
# Fails the build if a runtime library is missing. /toxiproxy and toxiproxy-server are
# Toxiproxy's image's names for its server: a compose file that names them as its entrypoint
# gets toxiproxy-server's command line.
RUN faultline --check /usr/share/faultline/demo.yaml \
    && ln -s /usr/local/bin/faultline /toxiproxy \
    && ln -s /usr/local/bin/faultline /usr/local/bin/toxiproxy-server
USER faultline
# 8474: the HTTP control API (Toxiproxy's port and dialect); publish it on the host's
# 127.0.0.1 only. Proxies listen where they are told (Testcontainers uses 8666-8697).
EXPOSE 8474
# The health check opens a TCP connection to FAULTLINE_PROBE (HOST:PORT, inside the
# container): by default the API, which goes through no proxy. A config with the API off or
# elsewhere sets `-e FAULTLINE_PROBE=HOST:PORT` (a fault-free proxy: a probe through a proxy
# counts for `connections:` filters, docs/docker.md), or replaces the whole check with
# `docker run --health-cmd` / compose `healthcheck:`.
ENV FAULTLINE_PROBE=127.0.0.1:8474
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD faultline --probe "$FAULTLINE_PROBE" || exit 1
STOPSIGNAL SIGTERM
# No arguments: /etc/faultline/faultline.yaml when one is mounted, else an empty server with
# its API on 0.0.0.0:8474, as Toxiproxy's image. Arguments go to faultline unchanged, so
# Toxiproxy's `-host=0.0.0.0 -config /x.json` works as it does with Toxiproxy's image.
ENTRYPOINT ["faultline-entrypoint"]
