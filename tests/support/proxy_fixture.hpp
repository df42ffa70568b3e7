// The real proxy, in-process, on 127.0.0.1 with a kernel-chosen port: configured from YAML
// through the real loader and fault registry, run on its own control thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <asio/io_context.hpp>

#include "faults/registry.hpp"
#include "control/server.hpp"

namespace faultline::test {

class RunningProxy {
 public:
  // `yaml` is a whole config file; use {upstream} for the upstream port, e.g.
  //   proxies: [{name: p, listen: 127.0.0.1:0, upstream: 127.0.0.1:{upstream}}]
  RunningProxy(const std::string& yaml, std::uint16_t upstream_port, unsigned threads = 2,
               proxy::WorkerOptions options = {});
  ~RunningProxy();

  std::uint16_t port(const std::string& proxy = "") const;
  // A live change, as the API makes it: the proxy's fault list becomes `faults_yaml` (items
  // of a `faults:` list). Runs on the control thread; returns when applied to the proxy
  // (open connections move to it before their next chunk, idle ones at once).
  void set_faults(const std::string& faults_yaml, const std::string& proxy = "");
  control::Server& server() { return *server_; }
  asio::io_context& control() { return control_; }

 private:
  faults::FaultRegistry registry_;
  asio::io_context control_{1};
  std::unique_ptr<control::Server> server_;
  std::thread thread_;
  std::string first_;
};

// A one-proxy config: listen on 127.0.0.1:0, given upstream, and extra proxy keys / faults.
std::string one_proxy_yaml(const std::string& extra_proxy_keys = "",
                           const std::string& faults_yaml = "");

}  // namespace faultline::test
