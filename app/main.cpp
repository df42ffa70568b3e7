// faultline: a fault-injecting TCP proxy. `faultline --config FILE` runs the proxies of a YAML
// file (and the control API); `faultline --api HOST:PORT` alone is an empty server filled
// through the API; `faultline --check FILE` validates a file and exits; `faultline ctl` drives
// a running one through its API. Started as `toxiproxy-server` (or with one of its flags
// first), it takes toxiproxy-server's command line instead (app/toxiproxy_cli.hpp).
// Exit codes: 0 ok, 1 bad config or cannot start, 2 usage error.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/signal_set.hpp>

#include "config/config.hpp"
#include "faultline/version.hpp"
#include "faults/registry.hpp"
#include "api/api_server.hpp"
#include "proxy/congestion.hpp"
#include "app/ctl.hpp"
#include "app/toxiproxy_cli.hpp"
#include "proxy/logging.hpp"
#include "proxy/platform/platform.hpp"
#include "control/server.hpp"
#include "proxy/splice_relay.hpp"
#include "proxy/time_source.hpp"
#include "proxy/worker_pool.hpp"

namespace {

using namespace faultline;

struct Options {
  std::string config_path;
  std::string check_path;
  std::string probe;
  std::string log_level;
  std::string log_format;
  std::string api;  // HOST:PORT or "off"; overrides the file's `api`
  unsigned threads = 0;
  std::string busy_poll;  // a duration; empty: the default
  bool no_splice = false;
  std::string timer_spin;          // a duration; empty: the default
  std::string profile = "frugal";  // frugal or low-latency: the defaults of the two above
  std::string memory_budget;       // a size; empty: the default
  std::string congestion = "auto";
  // From toxiproxy-server's command line: the API's address, a JSON file of proxies, a seed,
  // and a note to log once logging is set up.
  std::optional<config::Endpoint> api_endpoint;
  std::string json_config;
  std::optional<std::uint64_t> seed;
  std::string log_warning;
  std::string_view seed_hint = control::kConfigFileSeedHint;  // how to give a seed back
};

constexpr std::string_view kExitCodes =
    "Exit codes: 0 ok (or stopped by SIGINT/SIGTERM), 1 bad config or cannot start (a port in\n"
    "use), 2 usage error (unknown flag, bad value, missing file).";

// The check of a relay-setting flag: a duration with a unit (or 0), at most `limit`.
std::function<std::string(const std::string&)> duration_up_to(config::Duration limit,
                                                              std::string example) {
  return [limit, example](const std::string& v) -> std::string {
    auto d = config::parse_duration(v);
    if (d && *d <= limit) return "";
    return "expected a duration up to " + config::format_duration(limit) + ", e.g. " + example +
           ", 0; got \"" + v + "\"";
  };
}

// How the start line shows a relay duration: "off" for zero.
std::string on_for(std::chrono::microseconds d) {
  return d.count() > 0 ? config::format_duration(d) : "off";
}

// A checked duration flag, when it was given, into `out`.
void set_from_flag(const std::string& flag, std::chrono::microseconds& out) {
  if (!flag.empty()) {
    out = std::chrono::duration_cast<std::chrono::microseconds>(*config::parse_duration(flag));
  }
}

int check(const std::string& path, const faults::FaultRegistry& registry) {
  try {
    config::Config cfg = config::load_config_file(path);
    control::validate(cfg, registry);
    std::size_t faults = 0;
    for (const auto& p : cfg.proxies)
      faults += p.faults.size();
    std::cout << path << ": ok (" << cfg.proxies.size() << " prox"
              << (cfg.proxies.size() == 1 ? "y" : "ies") << ", " << faults << " fault"
              << (faults == 1 ? "" : "s") << ")\n";
    return 0;
  } catch (const config::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}

// A health probe that needs no curl (for container HEALTHCHECKs): exit 0 when a TCP connect
// to HOST:PORT succeeds within two seconds.
int probe(const std::string& target) {
  auto endpoint = config::parse_endpoint(target);
  if (!endpoint || endpoint->port == 0) {
    std::cerr << "--probe: expected HOST:PORT, got \"" << target << "\"\n";
    return 2;
  }
  asio::io_context context;
  asio::ip::tcp::socket socket(context);
  asio::steady_timer timer(context, std::chrono::seconds(2));
  asio::error_code result = asio::error::timed_out;
  asio::ip::tcp::resolver resolver(context);
  asio::error_code ec;
  auto endpoints = resolver.resolve(endpoint->host, std::to_string(endpoint->port), ec);
  if (ec) {
    std::cerr << "probe " << target << ": " << ec.message() << "\n";
    return 1;
  }
  asio::async_connect(socket, endpoints, [&](const asio::error_code& e, const auto&) {
    result = e;
    timer.cancel();
  });
  timer.async_wait([&](const asio::error_code& e) {
    if (!e) socket.close();
  });
  context.run();
  if (result) {
    std::cerr << "probe " << target << ": " << result.message() << "\n";
    return 1;
  }
  return 0;
}

int run(const Options& opt, const faults::FaultRegistry& registry) {
  // Without a file, an empty server: proxies come through the API (or a JSON file).
  config::Config cfg;
  std::vector<config::ProxyConfig> json_proxies;
  try {
    if (!opt.config_path.empty()) {
      cfg = config::load_config_file(opt.config_path);
      control::validate(cfg, registry);
    }
    if (!opt.json_config.empty())
      json_proxies = app::load_toxiproxy_json(opt.json_config, registry);
  } catch (const config::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  if (opt.seed) {
    cfg.seed = *opt.seed;
    cfg.seed_given = true;
  }
  try {
    auto format = cfg.log.format;
    if (!opt.log_format.empty()) {
      format = opt.log_format == "json" ? config::LogFormat::json : config::LogFormat::text;
    }
    proxy::setup_logging(opt.log_level.empty() ? cfg.log.level : opt.log_level, format);
  } catch (const std::invalid_argument& e) {
    std::cerr << "--log-level: " << e.what() << "\n";
    return 1;
  }
  if (!opt.log_warning.empty()) proxy::log_config().warn("{}", opt.log_warning);

  asio::io_context control(1);
  // Signals are caught from here on and queued until the loop below runs: a SIGTERM sent as
  // soon as the start lines appear still stops the server cleanly (exit 0).
  // Windows has no SIGHUP: there POST /reload re-reads the file.
  asio::signal_set signals(control, SIGINT, SIGTERM);
  const std::optional<int> reload_signal = proxy::platform::reload_signal();
  if (reload_signal) signals.add(*reload_signal);
  unsigned threads = opt.threads ? opt.threads : std::max(1u, std::thread::hardware_concurrency());
  proxy::WorkerOptions workers;
  if (opt.profile == "low-latency") {
    workers.busy_poll = proxy::kLowLatencyBusyPoll;
    workers.timer_spin = proxy::kLowLatencyTimerSpin;
  }
  set_from_flag(opt.busy_poll, workers.busy_poll);
  workers.splice = !opt.no_splice;
  set_from_flag(opt.timer_spin, workers.timer_spin);
  workers.congestion = proxy::CongestionPolicy::parse(opt.congestion);
  if (!opt.memory_budget.empty()) {
    workers.memory_budget = static_cast<std::size_t>(*config::parse_size(opt.memory_budget));
  }
  control::Server server(control, registry, threads, workers);
  try {
    server.start(cfg, opt.seed_hint);
  } catch (const control::StartError& e) {
    proxy::log_proxy().error("{}", e.what());
    return 1;
  }
  // A JSON file's proxies go in as POST /populate would put them.
  if (!json_proxies.empty()) {
    try {
      std::vector<control::PopulateEntry> entries;
      for (const auto& pc : json_proxies)
        entries.push_back({pc, true});  // the file gives each proxy whole, toxics included
      server.populate(std::move(entries));
    } catch (const std::exception& e) {
      proxy::log_proxy().error("{}: {}", opt.json_config, e.what());
      server.stop(std::chrono::milliseconds(500));
      return 1;
    }
  }
  std::size_t count = cfg.proxies.size() + json_proxies.size();
  std::string source = !opt.json_config.empty() ? opt.json_config : opt.config_path;
  std::string what =
      count == 0 ? "no proxies" : fmt::format("{} prox{}", count, count == 1 ? "y" : "ies");
  if (!source.empty()) what += " from " + source;
  if (count == 0) what += " (an empty server: add proxies through the API)";
  proxy::log_proxy().info(
      "faultline {} running {} on {} worker thread{} (busy-poll {}, splice {}, timer-spin {}, "
      "congestion {})",
      FAULTLINE_VERSION, what, threads, threads == 1 ? "" : "s", on_for(workers.busy_poll),
      workers.splice && proxy::splice_available() ? "on" : "off", on_for(workers.timer_spin),
      workers.congestion.to_string());

  // The control API: the file's `api`, overridden by --api.
  std::unique_ptr<api::ApiServer> api;
  config::ApiConfig api_cfg = cfg.api;
  if (opt.api_endpoint) {
    api_cfg.enabled = true;
    api_cfg.listen = *opt.api_endpoint;
  } else if (opt.api == "off") {
    api_cfg.enabled = false;
  } else if (!opt.api.empty()) {
    api_cfg.enabled = true;
    api_cfg.listen = *config::parse_endpoint(opt.api);  // checked when parsing the options
  }
  if (api_cfg.enabled) {
    api::ApiOptions api_opt;
    api_opt.listen = api_cfg.listen;
    api_opt.token = api_cfg.token;
    api_opt.config_path = opt.config_path;
    api_opt.version = FAULTLINE_VERSION;
    api = std::make_unique<api::ApiServer>(server, api_opt);
    try {
      api->start();
    } catch (const control::StartError& e) {
      proxy::log_api().error("{}", e.what());
      server.stop(std::chrono::milliseconds(500));
      return 1;
    }
  } else {
    proxy::log_api().info("control API off");
  }

  // SIGINT/SIGTERM stop; SIGHUP re-reads the config file (a bad one changes nothing).
  std::function<void(const asio::error_code&, int)> on_signal = [&](const asio::error_code& ec,
                                                                    int signo) {
    if (ec) return;
    if (signo == reload_signal && opt.config_path.empty()) {
      proxy::log_config().info("SIGHUP received: no config file to reload");
      signals.async_wait(on_signal);
      return;
    }
    if (signo == reload_signal) {
      proxy::log_config().info("SIGHUP received: reloading {}", opt.config_path);
      try {
        control::reload_config(server, opt.config_path);
      } catch (const config::ConfigError&) {
        // logged by reload_config with its file:line:col
      } catch (const control::ControlError&) {
        // logged by reload_config: nothing was changed
      } catch (const std::exception& e) {
        proxy::log_config().error("reload failed: {}", e.what());
      }
      signals.async_wait(on_signal);
      return;
    }
    proxy::log_proxy().info("{} received: closing listeners and connections",
                            signo == SIGINT ? "SIGINT" : "SIGTERM");
    if (api) api->stop();
    server.stop(std::chrono::milliseconds(500));
    control.stop();
  };
  signals.async_wait(on_signal);
  control.run();
  if (api) api->stop();
  proxy::log_proxy().info("stopped");
  return 0;
}

// toxiproxy-server's command line (Go flags; see app/toxiproxy_cli.hpp).
int toxiproxy_main(const std::string& program, const std::vector<std::string>& args,
                   const faults::FaultRegistry& registry) {
  app::ToxiproxyArgs t;
  try {
    t = app::parse_toxiproxy_args(args);
  } catch (const app::UsageError& e) {
    std::cerr << program << ": " << e.what() << "\nRun with -help for the flags.\n";
    return 2;
  }
  if (t.help) {
    std::cout << app::toxiproxy_usage(program);
    return 0;
  }
  if (t.version) {
    std::cout << "faultline " << FAULTLINE_VERSION << " (toxiproxy-server command line)\n";
    return 0;
  }
  std::error_code ec;
  if (!t.config_path.empty() && !std::filesystem::is_regular_file(t.config_path, ec)) {
    std::cerr << program << ": -config: no such file: " << t.config_path << "\n";
    return 2;
  }
  Options opt;
  opt.api_endpoint = config::Endpoint{t.host, t.port};
  opt.json_config = t.config_path;
  opt.seed = t.seed;
  opt.seed_hint = "start with -seed {}";
  // Toxiproxy's LOG_LEVEL; an unknown value is reported and ignored, as Toxiproxy does.
  if (const char* level = std::getenv("LOG_LEVEL")) {
    if (auto mapped = app::log_level_from_toxiproxy(level)) {
      opt.log_level = *mapped;
    } else {
      opt.log_warning = fmt::format("unknown LOG_LEVEL value: \"{}\" (ignored)", level);
    }
  }
  return run(opt, registry);
}

}  // namespace

int main(int argc, char** argv) {
  proxy::platform::ignore_broken_pipe();  // a peer that vanished must never kill the proxy

  faults::FaultRegistry registry;
  faults::register_builtin_faults(registry);

  // toxiproxy-server's command line: by the program's name, or by its first argument.
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string argv0 = argc > 0 ? argv[0] : "faultline";
  if (app::is_toxiproxy_name(argv0) || (!args.empty() && app::is_toxiproxy_flag(args[0]))) {
    std::string program = std::filesystem::path(argv0).filename().string();
    return toxiproxy_main(program.empty() ? "faultline" : program, args, registry);
  }

  CLI::App app{"faultline: a fault-injecting TCP proxy for resilience testing"};
  // Help on --help only: CLI11's -h would take toxiproxy-server's -host=... for it.
  app.set_help_flag("--help", "Print this help message and exit");
  app.set_version_flag("--version", std::string("faultline ") + FAULTLINE_VERSION);
  app.footer(std::string(kExitCodes) +
             "\n\nStarted as toxiproxy-server (a link or copy of that name), or with one of its "
             "flags first\n(-host, -port, -config, -seed, -version, -proxy-metrics, "
             "-runtime-metrics), faultline takes\ntoxiproxy-server's command line instead: "
             "faultline -host=0.0.0.0 -config proxies.json\n");
  Options opt;
  app.add_option("-c,--config", opt.config_path, "run the proxies of this YAML file")
      ->check(CLI::ExistingFile);
  app.add_option("--check", opt.check_path, "validate this YAML file and exit (0 valid, 1 not)")
      ->check(CLI::ExistingFile);
  app.add_option("--probe", opt.probe,
                 "exit 0 if HOST:PORT accepts a TCP connection within 2 s (a health check)");
  app.add_option("--log-level", opt.log_level,
                 fmt::format("{} (default: the file's, info)", fmt::join(config::kLogLevels, ", ")))
      ->check(CLI::IsMember(
          std::vector<std::string>(config::kLogLevels.begin(), config::kLogLevels.end())));
  app.add_option("--log-format", opt.log_format, "text or json (default: the file's, text)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--threads", opt.threads, "worker threads (default: one per core)")
      ->check(CLI::Range(1, 256));
  app.add_option("--profile", opt.profile,
                 "frugal: no polling, no spinning, CPU only for work done; low-latency: "
                 "--busy-poll 50us --timer-spin 500us, faster round trips and microsecond "
                 "fault timers for up to a core per busy worker (default: frugal)")
      ->check(CLI::IsMember({"frugal", "low-latency"}));
  app.add_option("--busy-poll", opt.busy_poll,
                 "after traffic, keep polling this long before sleeping (lower latency, CPU "
                 "while busy); 0 turns it off (default: 0, low-latency: 50us)")
      ->check(duration_up_to(std::chrono::seconds(1), "50us"));
  app.add_flag("--no-splice", opt.no_splice,
               "relay through user-space buffers even when a connection has no fault on");
  app.add_option(
         "--timer-spin", opt.timer_spin,
         fmt::format("fault timers wake this early and poll until due (delays "
                     "accurate to microseconds, CPU up to this long per timer); 0 "
                     "turns it off, and a timer of {}ms or more then wakes {}us early "
                     "and sleeps again until due, without polling (default: 0, "
                     "low-latency: {}us)",
                     proxy::RealTime::kLeadFrom.count(), proxy::RealTime::kDefaultLead.count(),
                     proxy::kLowLatencyTimerSpin.count()))
      ->check(duration_up_to(std::chrono::milliseconds(10), "500us"));
  app.add_option("--memory-budget", opt.memory_budget,
                 "the most bytes all faults together may hold (latency queues, coalesce "
                 "buffers); when spent, the affected directions stop reading until bytes "
                 "drain, and nothing is dropped (default: 256MiB)")
      ->check([](const std::string& v) -> std::string {
        auto n = config::parse_size(v);
        if (n && *n >= (std::uint64_t{1} << 20)) return "";
        return "expected a size of at least 1MiB, e.g. 256MiB, 1GiB; got \"" + v + "\"";
      });
  app.add_option("--congestion", opt.congestion,
                 "TCP congestion control of the proxy's own sockets: auto (reno on loopback, "
                 "where pacing buys nothing; the system's elsewhere), system, or a name such as "
                 "cubic for every leg (default: auto)")
      ->check([](const std::string& v) { return proxy::CongestionPolicy::check(v); });
  app.add_option("--api", opt.api,
                 "the control API's HOST:PORT, or off (default: the file's api, 127.0.0.1:8474); "
                 "without --config, an empty server whose proxies come through the API")
      ->check([](const std::string& v) -> std::string {
        if (v == "off" || config::parse_endpoint(v)) return "";
        return "expected HOST:PORT or off, got \"" + v + "\"";
      });
  app::Ctl ctl(app, FAULTLINE_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version print and exit 0; every other parse error is a usage error, 2 (not
    // CLI11's own codes).
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (ctl.selected()) return ctl.run();

  if (!opt.probe.empty()) return probe(opt.probe);
  if (!opt.check_path.empty()) return check(opt.check_path, registry);
  if (opt.config_path.empty() && (opt.api.empty() || opt.api == "off")) {
    std::cerr << "faultline: nothing to " << (opt.api == "off" ? "serve" : "do")
              << ": give --config FILE, --api HOST:PORT (an empty server, filled through the "
                 "API), or --check FILE\n"
              << "Run with --help for more information.\n";
    return 2;
  }
  return run(opt, registry);
}
