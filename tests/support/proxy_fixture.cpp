#include "tests/support/proxy_fixture.hpp"

#include <future>
#include <optional>
#include <stdexcept>
#include <sstream>

#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>

#include "config/config.hpp"
#include "proxy/logging.hpp"

namespace faultline::test {

RunningProxy::RunningProxy(const std::string& yaml, std::uint16_t upstream_port, unsigned threads,
                           proxy::WorkerOptions options) {
  std::string text = yaml;
  for (auto pos = text.find("{upstream}"); pos != std::string::npos;
       pos = text.find("{upstream}")) {
    text.replace(pos, 10, std::to_string(upstream_port));
  }
  config::Config cfg = config::load_config_string(text, "test.yaml");
  if (!cfg.seed_given) {
    cfg.seed = 1;
    cfg.seed_given = true;
  }
  const char* level = std::getenv("FAULTLINE_TEST_LOG");
  proxy::setup_logging(level ? level : "warn", config::LogFormat::text);
  faults::register_builtin_faults(registry_);
  first_ = cfg.proxies.front().name;
  server_ = std::make_unique<control::Server>(control_, registry_, threads, options);
  server_->start(cfg);
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(control_);
    control_.run();
  });
}

RunningProxy::~RunningProxy() {
  // The server's methods run on its control thread, as in the binary (where the signal
  // handler stops it).
  std::promise<void> stopped;
  asio::post(control_, [&] {
    server_->stop();
    stopped.set_value();
  });
  stopped.get_future().wait();
  control_.stop();
  thread_.join();
  server_.reset();
}

std::uint16_t RunningProxy::port(const std::string& proxy) const {
  return server_->listen_endpoint(proxy.empty() ? first_ : proxy).port();
}

void RunningProxy::set_faults(const std::string& faults_yaml, const std::string& proxy) {
  std::string indented;
  std::istringstream lines(faults_yaml);
  for (std::string l; std::getline(lines, l);)
    indented += "      " + l + "\n";
  config::Config cfg = config::load_config_string(
      "proxies:\n  - name: x\n    listen: 127.0.0.1:0\n    upstream: 127.0.0.1:1\n"
      "    faults:\n" +
          indented,
      "live.yaml");
  // A refusal crosses back as its message, not as the exception object (see control_test's
  // on_control: ThreadSanitizer cannot see libstdc++'s exception reference count).
  std::promise<std::optional<std::string>> done;
  asio::post(control_, [&] {
    try {
      server_->set_faults(proxy.empty() ? first_ : proxy, cfg.proxies[0].faults);
      done.set_value(std::nullopt);
    } catch (const std::exception& e) {
      done.set_value(std::string(e.what()));
    }
  });
  if (auto error = done.get_future().get()) throw std::runtime_error(*error);
}

std::string one_proxy_yaml(const std::string& extra_proxy_keys, const std::string& faults_yaml) {
  std::string y =
      "seed: 7\n"
      "proxies:\n"
      "  - name: p\n"
      "    listen: 127.0.0.1:0\n"
      "    upstream: 127.0.0.1:{upstream}\n";
  if (!extra_proxy_keys.empty()) y += extra_proxy_keys;
  if (!faults_yaml.empty()) y += "    faults:\n" + faults_yaml;
  return y;
}

}  // namespace faultline::test
