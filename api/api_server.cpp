#include "api/api_server.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <future>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>
#include <type_traits>

#include <fmt/format.h>
#include <httplib.h>
#include <asio/post.hpp>

#include "proxy/logging.hpp"
#include "proxy/platform/platform.hpp"
#include "api/metrics.hpp"
#include "api/toxic_json.hpp"

namespace faultline::api {

using proxy::log_api;
using proxy::log_config;

namespace {

constexpr const char* kJson = "application/json";

std::string dump(const ojson& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void send(httplib::Response& res, int status, const ojson& body) {
  res.status = status;
  res.set_content(dump(body), kJson);
}

void send_error(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  res.set_content(api::error_body(status, message), kJson);
}

// A request body parsed on the HTTP thread; a parse error is raised only where Toxiproxy
// would raise it (after the proxy was looked up).
struct Body {
  std::optional<json> value;
  std::string error;

  explicit Body(const std::string& text) {
    try {
      value = api::parse_body(text);
    } catch (const HttpError& e) {
      error = e.what();
    }
  }
  const json& get() const {
    if (!value) throw HttpError(400, error);
    return *value;
  }
};

// Constant time for equal lengths: the token is not guessed byte by byte from timings.
bool same_token(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string fault_list(const std::vector<config::FaultSpec>& faults, std::string_view skip = {}) {
  std::string out;
  for (const auto& f : faults) {
    if (f.name == skip) continue;
    out += out.empty() ? f.name : ", " + f.name;
  }
  return out;
}

// httplib's task queue, elastic: `initial` threads at once, one more whenever a connection
// arrives while all are busy, up to `max`; beyond that connections wait their turn. httplib's
// own ThreadPool is fixed, and a connection holds its thread until it closes: 8 clients
// trickling a header byte every few seconds (slowloris) held all 8 and the API answered no one.
// Threads stay once started (an idle one costs a stack, no CPU); shutdown() joins them all.
class ElasticPool final : public httplib::TaskQueue {
 public:
  ElasticPool(std::size_t initial, std::size_t max) : max_(std::max(initial, max)) {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < initial; ++i)
      spawn();
  }
  ~ElasticPool() override = default;

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(fn));
      if (idle_ < jobs_.size() && threads_.size() < max_ && !shutdown_) spawn();
    }
    cond_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      shutdown_ = true;
    }
    cond_.notify_all();
    // No thread starts after shutdown_, so the list is stable here.
    for (auto& t : threads_)
      t.join();
  }

 private:
  // Under the lock. A thread counts as idle from here, so a burst starts one per job.
  void spawn() {
    ++idle_;
    threads_.emplace_back([this] { work(); });
  }

  void work() {
    for (bool first = true;; first = false) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mutex_);
        if (!first) ++idle_;
        cond_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
        --idle_;
        if (jobs_.empty()) return;  // shutting down with nothing left
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      fn();
    }
  }

  const std::size_t max_;
  std::mutex mutex_;
  std::condition_variable cond_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;  // threads waiting for a job
  bool shutdown_ = false;
};

}  // namespace

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

struct ApiServer::Impl {
  Server& server;
  const faults::FaultRegistry& registry;
  ApiOptions options;
  httplib::Server http;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::uint16_t port = 0;
  std::vector<std::regex> routes;  // every path the API knows, for 405 vs 404
  // Tasks posted to the control thread run only while this is alive; stop() flips it under
  // the mutex, so it also waits for a task already running. (A task whose caller gave up
  // waiting may run late: it must not touch a destroyed ApiServer.)
  struct Guard {
    std::mutex mutex;
    bool alive = true;
  };
  std::shared_ptr<Guard> guard = std::make_shared<Guard>();

  Impl(Server& s, ApiOptions o) : server(s), registry(s.registry()), options(std::move(o)) {}

  // Runs `fn` on the control thread and waits for its result. A failure crosses back as a
  // status and a message, not as an exception object: an exception_ptr released on the
  // other thread is a race ThreadSanitizer cannot see through libstdc++.
  template <typename F>
  std::invoke_result_t<F> on_control(F fn) {
    using R = std::invoke_result_t<F>;
    struct Outcome {
      std::mutex mutex;
      std::condition_variable cv;
      bool done = false;
      std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> value{};
      int status = 0;
      std::string error;
    };
    auto out = std::make_shared<Outcome>();
    asio::post(server.control(), [out, fn = std::move(fn), guard = guard]() mutable {
      std::lock_guard alive_lock(guard->mutex);
      if (!guard->alive) return;  // the waiter got 503
      int status = 0;
      std::string error;
      try {
        if constexpr (std::is_void_v<R>) {
          fn();
        } else {
          auto value = fn();
          std::lock_guard lock(out->mutex);
          out->value.emplace(std::move(value));
        }
      } catch (const HttpError& e) {
        status = e.status();
        error = e.what();
      } catch (const control::ControlError& e) {
        status = http_status(e.kind());
        error = e.what();
      } catch (const config::ConfigError& e) {
        status = 400;
        error = e.what();
      } catch (const std::exception& e) {
        status = 500;
        error = e.what();
      }
      std::lock_guard lock(out->mutex);
      out->status = status;
      out->error = std::move(error);
      out->done = true;
      out->cv.notify_all();
    });
    auto deadline = std::chrono::steady_clock::now() + options.control_timeout;
    std::unique_lock lock(out->mutex);
    while (!out->done) {
      out->cv.wait_for(lock, std::chrono::milliseconds(20));
      if (out->done) break;
      if (stopping) throw HttpError(503, "shutting down");
      if (std::chrono::steady_clock::now() > deadline) {
        throw HttpError(503, "the proxy did not answer in time");
      }
    }
    if (out->status != 0) throw HttpError(out->status, out->error);
    if constexpr (!std::is_void_v<R>) return std::move(*out->value);
  }

  // Runs a handler body, turning exceptions into Toxiproxy's error bodies.
  void guarded(httplib::Response& res, const std::function<void()>& fn) {
    try {
      fn();
    } catch (const HttpError& e) {
      send_error(res, e.status(), e.what());
    } catch (const control::ControlError& e) {
      send_error(res, http_status(e.kind()), e.what());
    } catch (const config::ConfigError& e) {
      send_error(res, 400, e.what());
    } catch (const std::exception& e) {
      log_api().error("internal error: {}", e.what());
      send_error(res, 500, e.what());
    }
  }

  // A route's handler: a member function, run guarded (errors become Toxiproxy's bodies).
  using Handler = void (Impl::*)(const httplib::Request&, httplib::Response&);

  void route(const char* method, const std::string& pattern, Handler h) {
    auto wrapped = [this, h](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] { (this->*h)(req, res); });
    };
    std::string m = method;
    if (m == "GET") http.Get(pattern, wrapped);
    if (m == "POST") http.Post(pattern, wrapped);
    if (m == "PATCH") http.Patch(pattern, wrapped);
    if (m == "DELETE") http.Delete(pattern, wrapped);
    routes.emplace_back(pattern);
  }

  void install_routes() {
    const std::string proxy = R"(/proxies/([^/]+))";
    const std::string toxic = proxy + R"(/toxics/([^/]+))";
    route("GET", "/version", &Impl::show_version);
    route("GET", "/proxies", &Impl::list_proxies);
    route("POST", "/proxies", &Impl::create_proxy);
    route("POST", "/populate", &Impl::populate);
    route("GET", proxy, &Impl::show_proxy);
    route("POST", proxy, &Impl::update_proxy);
    route("PATCH", proxy, &Impl::update_proxy);
    route("DELETE", proxy, &Impl::delete_proxy);
    route("GET", proxy + "/toxics", &Impl::list_toxics);
    route("POST", proxy + "/toxics", &Impl::create_toxic);
    route("GET", toxic, &Impl::show_toxic);
    route("POST", toxic, &Impl::update_toxic);
    route("PATCH", toxic, &Impl::update_toxic);
    route("DELETE", toxic, &Impl::delete_toxic);
    route("POST", "/reset", &Impl::reset);
    route("POST", "/reload", &Impl::reload);
    route("GET", "/metrics", &Impl::metrics);
  }

  // GET /version
  void show_version(const httplib::Request&, httplib::Response& res) {
    ojson v;
    v["version"] = kToxiproxyApiVersion;
    v["faultline"] = options.version;
    send(res, 200, v);
  }

  // GET /proxies
  void list_proxies(const httplib::Request&, httplib::Response& res) {
    auto views = on_control([this] { return server.views(); });
    ojson out = ojson::object();
    for (const auto& v : views)
      out[v.name] = api::proxy_to_json(v, registry);
    send(res, 200, out);
  }

  // POST /proxies
  void create_proxy(const httplib::Request& req, httplib::Response& res) {
    auto body = std::make_shared<const Body>(req.body);
    auto view = on_control([this, body] {
      config::ProxyConfig pc = api::proxy_from_json(body->get(), registry);
      for (const auto& f : pc.faults)
        api::check_toxic(f, registry);
      return server.create_proxy(std::move(pc));
    });
    send(res, 201, api::proxy_to_json(view, registry));
  }

  // POST /populate: entries that list their toxics get exactly those, kept proxies included.
  void populate(const httplib::Request& req, httplib::Response& res) {
    auto body = std::make_shared<const Body>(req.body);
    try {
      auto views = on_control([this, body] {
        const json& list = body->get();
        if (!list.is_array()) throw HttpError(400, "bad request body: expected a list of proxies");
        std::vector<control::PopulateEntry> entries;
        for (const auto& entry : list) {
          entries.push_back({api::proxy_from_json(entry, registry), api::has_toxics(entry)});
          for (const auto& f : entries.back().config.faults)
            api::check_toxic(f, registry);
        }
        return server.populate(std::move(entries));
      });
      ojson out;
      out["proxies"] = ojson::array();
      for (const auto& v : views)
        out["proxies"].push_back(api::proxy_to_json(v, registry));
      send(res, 201, out);
    } catch (const HttpError& e) {
      ojson out = ojson::parse(api::error_body(e.status(), e.what()));
      out["proxies"] = ojson::array();  // Toxiproxy lists what was created: nothing, here
      send(res, e.status(), out);
    }
  }

  // GET /proxies/{proxy}
  void show_proxy(const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1];
    auto view = on_control([this, name] { return server.view(name); });
    send(res, 200, api::proxy_to_json(view, registry));
  }

  // POST or PATCH /proxies/{proxy}
  void update_proxy(const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1];
    auto body = std::make_shared<const Body>(req.body);
    auto view = on_control([this, name, body] {
      ProxyView current = server.view(name);
      ProxyPatch patch = api::patch_from_json(body->get());
      // Clients send the whole proxy back, with the bound address: not a move.
      if (patch.listen && config::parse_endpoint(current.listen) == patch.listen) {
        patch.listen.reset();
      }
      if (patch.upstream && config::parse_endpoint(current.upstream) == patch.upstream) {
        patch.upstream.reset();
      }
      return server.update_proxy(name, patch);
    });
    send(res, 200, api::proxy_to_json(view, registry));
  }

  // DELETE /proxies/{proxy}
  void delete_proxy(const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1];
    on_control([this, name] { server.delete_proxy(name); });
    res.status = 204;
  }

  // GET /proxies/{proxy}/toxics
  void list_toxics(const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1];
    auto view = on_control([this, name] { return server.view(name); });
    ojson out = ojson::array();
    for (const auto& f : view.faults)
      out.push_back(api::toxic_to_json(f, registry));
    send(res, 200, out);
  }

  // POST /proxies/{proxy}/toxics
  void create_toxic(const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1];
    auto body = std::make_shared<const Body>(req.body);
    auto spec = on_control([this, name, body] {
      server.view(name);  // an unknown proxy is 404 before the body is read
      config::FaultSpec spec = api::toxic_from_json(body->get(), registry);
      server.add_fault(name, spec);
      log_api().info("proxy {}: toxic {} added ({}, {}); faults now: {}", name, spec.name,
                     spec.type, config::to_string(spec.stream),
                     fault_list(server.view(name).faults));
      return spec;
    });
    send(res, 200, api::toxic_to_json(spec, registry));
  }

  // GET /proxies/{proxy}/toxics/{toxic}
  void show_toxic(const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1], toxic_name = req.matches[2];
    auto spec = on_control([this, name, toxic_name] { return server.fault(name, toxic_name); });
    send(res, 200, api::toxic_to_json(spec, registry));
  }

  // POST or PATCH /proxies/{proxy}/toxics/{toxic}
  void update_toxic(const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1], toxic_name = req.matches[2];
    auto body = std::make_shared<const Body>(req.body);
    auto spec = on_control([this, name, toxic_name, body] {
      config::FaultSpec spec = server.fault(name, toxic_name);
      api::merge_toxic(spec, body->get(), registry);
      server.update_fault(name, toxic_name, spec);
      log_api().info("proxy {}: toxic {} updated", name, toxic_name);
      return spec;
    });
    send(res, 200, api::toxic_to_json(spec, registry));
  }

  // DELETE /proxies/{proxy}/toxics/{toxic}
  void delete_toxic(const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1], toxic_name = req.matches[2];
    on_control([this, name, toxic_name] {
      server.remove_fault(name, toxic_name);
      auto faults = server.view(name).faults;
      log_api().info("proxy {}: toxic {} removed; faults now: {}", name, toxic_name,
                     faults.empty() ? "none" : fault_list(faults));
    });
    res.status = 204;
  }

  // POST /reset
  void reset(const httplib::Request&, httplib::Response& res) {
    on_control([this] { server.reset(); });
    log_api().info("reset: every proxy enabled, every toxic removed");
    res.status = 204;
  }

  // POST /reload
  void reload(const httplib::Request&, httplib::Response& res) {
    if (options.config_path.empty()) {
      throw HttpError(400, "nothing to reload: faultline was started without --config");
    }
    auto summary = on_control([this] { return reload_config(server, options.config_path); });
    ojson out;
    out["reloaded"] = options.config_path;
    out["message"] = summary;
    send(res, 200, out);
  }

  // GET /metrics
  void metrics(const httplib::Request&, httplib::Response& res) {
    auto views = on_control([this] { return server.views(); });
    res.status = 200;
    res.set_content(render_metrics(views, options.version), kMetricsContentType);
  }

  bool known_path(const std::string& path) const {
    for (const auto& r : routes) {
      if (std::regex_match(path, r)) return true;
    }
    return false;
  }

  void install_guards() {
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      // A request without Content-Length or chunked encoding has no body (RFC 9112 6.3);
      // httplib would wait for one until its read timeout (`curl -X POST .../reset`).
      if (!req.has_header("Content-Length") &&
          req.get_header_value("Transfer-Encoding").find("chunked") == std::string::npos) {
        const_cast<httplib::Request&>(req).set_header("Content-Length", "0");
      }
      // Every body here is JSON, whatever its Content-Type; curl -d (the docs' examples) sends
      // application/x-www-form-urlencoded. httplib 0.11 parses such a body into form
      // parameters after reading it, and answers 413 when it is over 8192 bytes
      // (CPPHTTPLIB_FORM_URL_ENCODED_PAYLOAD_MAX_LENGTH, compiled into Debian's
      // libcpp-httplib), which our error handler then reported as the 1 MiB limit. The body is
      // read after this handler: call it what it is.
      if (req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0) {
        auto& headers = const_cast<httplib::Request&>(req).headers;
        headers.erase("Content-Type");
        headers.emplace("Content-Type", kJson);
      }
      // Toxiproxy's guard: a web page must not drive the API from a browser.
      if (req.get_header_value("User-Agent").rfind("Mozilla/", 0) == 0) {
        send_error(res, 403, "User agent not allowed");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (!options.token.empty()) {
        std::string auth = req.get_header_value("Authorization");
        std::string given = req.get_header_value("X-Faultline-Token");
        if (auth.rfind("Bearer ", 0) == 0) given = auth.substr(7);
        if (!same_token(given, options.token)) {
          res.set_header("WWW-Authenticate", "Bearer realm=\"faultline\"");
          send_error(res, 401,
                     "unauthorized: this API needs its token (Authorization: Bearer <token> or "
                     "X-Faultline-Token)");
          return httplib::Server::HandlerResponse::Handled;
        }
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    // Bodies for the errors httplib answers itself (unknown path, wrong method, too large).
    http.set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request& req, httplib::Response& res) {
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          std::string message;
          const bool known_method = req.method == "GET" || req.method == "POST" ||
                                    req.method == "PATCH" || req.method == "DELETE";
          if ((res.status == 404 || !known_method) && known_path(req.path)) {
            res.status = 405;
            message = fmt::format("method {} not allowed on {}", req.method, req.path);
          } else if (res.status == 404) {
            message = fmt::format("not found: {}", req.path);
          } else if (res.status == 413) {
            message = fmt::format("request body too large (at most {} bytes)", options.max_body);
          } else {
            message = res.status == 400 ? "bad request" : fmt::format("HTTP {}", res.status);
          }
          send_error(res, res.status, message);
          return httplib::Server::HandlerResponse::Handled;
        }));
    http.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "internal error";
          try {
            if (ep) std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          send_error(res, 500, what);
        });
    http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      log_api().debug("{} {} -> {}", req.method, req.path, res.status);
    });
  }
};

ApiServer::ApiServer(Server& server, ApiOptions options)
    : impl_(std::make_unique<Impl>(server, std::move(options))) {}

ApiServer::~ApiServer() {
  stop();
}

void ApiServer::start() {
  Impl& im = *impl_;
  const std::size_t threads = std::max<std::size_t>(1, im.options.threads);
  const std::size_t max_threads = im.options.max_threads;
  im.http.new_task_queue = [threads, max_threads] { return new ElasticPool(threads, max_threads); };
  im.http.set_payload_max_length(im.options.max_body);
  im.http.set_keep_alive_timeout(2);
  im.http.set_read_timeout(5, 0);
  im.http.set_write_timeout(5, 0);
  im.http.set_tcp_nodelay(true);
  // SO_REUSEADDR only (Windows: SO_EXCLUSIVEADDRUSE): httplib's default adds SO_REUSEPORT,
  // which would let a second process share the port silently instead of failing.
  im.http.set_socket_options([](socket_t sock) { proxy::platform::set_listen_options(sock); });
  im.install_guards();
  im.install_routes();

  std::string host = im.options.listen.host.empty() ? "0.0.0.0" : im.options.listen.host;
  int port = im.options.listen.port;
  errno = 0;
  if (port == 0) {
    port = im.http.bind_to_any_port(host);
  } else if (!im.http.bind_to_port(host, port)) {
    port = -1;
  }
  if (port <= 0) {
    int err = errno;
    throw control::StartError(fmt::format("control API: cannot listen on {}: {}",
                                          im.options.listen.to_string(),
                                          err ? std::strerror(err) : "cannot bind"));
  }
  im.port = static_cast<std::uint16_t>(port);
  im.thread = std::thread([&im] { im.http.listen_after_bind(); });
  // stop() is a no-op until the accept loop runs: wait for it, so stop() never hangs.
  for (int i = 0; i < 2000 && !im.http.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  log_api().info("control API listening on http://{} ({})", address(),
                 im.options.token.empty() ? "no token required"
                                          : "token required: Authorization: Bearer <token>");
  if (!is_loopback_host(host)) {
    log_api().warn(
        "the control API listens on {}, which is reachable from other machines: anyone who can "
        "connect can change the proxies{}",
        address(), im.options.token.empty() ? " (set api.token to require a token)" : "");
  }
}

void ApiServer::stop() {
  Impl& im = *impl_;
  if (im.stopping.exchange(true)) return;
  {
    std::lock_guard lock(im.guard->mutex);
    im.guard->alive = false;
  }
  im.http.stop();
  if (im.thread.joinable()) im.thread.join();
}

std::uint16_t ApiServer::port() const {
  return impl_->port;
}

std::string ApiServer::address() const {
  config::Endpoint ep{impl_->options.listen.host.empty() ? "0.0.0.0" : impl_->options.listen.host,
                      impl_->port};
  return ep.to_string();
}

}  // namespace faultline::api
