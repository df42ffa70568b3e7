// The control layer against real sockets: one fault and one proxy edited at a time with typed
// refusals, and every change all-or-nothing when a bind fails part-way (the second of three
// new proxies on a port the test holds): proxies, listeners, faults and open connections are
// as before, and no connection was cut. Also a proxy moving onto an address another proxy of
// the same change gives up, and the rollback when that bind fails.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <asio/post.hpp>

#include "config/config.hpp"
#include "control/server.hpp"
#include "tests/support/net.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace faultline::test {
namespace {

using control::ControlError;
using control::ControlErrorKind;
using control::PopulateEntry;
using control::ProxyPatch;
using control::ProxyView;
using std::chrono::steady_clock;

// Runs `fn` on the proxy's control thread (where every Server method runs) and returns its
// result. A refusal crosses back as its kind and message, rethrown here as a new ControlError:
// an exception object itself must not cross, because its reference count lives in libstdc++,
// which ThreadSanitizer does not see, and freeing it on the other thread reads as a race.
template <typename F>
auto on_control(RunningProxy& proxy, F fn) -> std::invoke_result_t<F> {
  using R = std::invoke_result_t<F>;
  struct Refusal {
    ControlErrorKind kind;
    std::string message;
  };
  std::optional<Refusal> refused;
  std::optional<std::string> failed;
  std::promise<std::conditional_t<std::is_void_v<R>, bool, R>> result;
  asio::post(proxy.control(), [&] {
    try {
      if constexpr (std::is_void_v<R>) {
        fn();
        result.set_value(true);
      } else {
        result.set_value(fn());
      }
    } catch (const ControlError& e) {
      refused = Refusal{e.kind(), std::string(e.what())};
      result.set_value({});
    } catch (const std::exception& e) {
      failed = std::string(e.what());
      result.set_value({});
    }
  });
  [[maybe_unused]] auto value = result.get_future().get();
  if (refused) throw ControlError(refused->kind, refused->message);
  if (failed) throw std::runtime_error(*failed);
  if constexpr (!std::is_void_v<R>) return value;
}

// The kind of the ControlError `fn` throws on the control thread (or "none").
template <typename F>
std::string refusal(RunningProxy& proxy, F fn, std::string* message = nullptr) {
  try {
    on_control(proxy, fn);
  } catch (const ControlError& e) {
    if (message) *message = e.what();
    switch (e.kind()) {
      case ControlErrorKind::not_found:
        return "not_found";
      case ControlErrorKind::conflict:
        return "conflict";
      case ControlErrorKind::invalid:
        return "invalid";
      case ControlErrorKind::failed:
        return "failed";
    }
  }
  return "none";
}

// Everything a client can see of the proxies, as one string to compare before and after.
std::string snapshot(RunningProxy& proxy) {
  return on_control(proxy, [&] {
    std::string out;
    for (const ProxyView& v : proxy.server().views()) {
      out += v.name + " " + v.listen + " -> " + v.upstream + (v.enabled ? " on" : " off");
      for (const auto& f : v.faults)
        out += " [" + f.name + " " + f.type + "]";
      out += "\n";
    }
    return out;
  });
}

config::ProxyConfig proxy_config(const std::string& name, std::uint16_t listen,
                                 std::uint16_t upstream) {
  config::ProxyConfig pc;
  pc.name = name;
  pc.listen = config::Endpoint{"127.0.0.1", listen};
  pc.upstream = config::Endpoint{"127.0.0.1", upstream};
  return pc;
}

config::FaultSpec latency(const std::string& name, const std::string& value) {
  config::Config cfg = config::load_config_string(
      "proxies:\n  - name: x\n    listen: 127.0.0.1:0\n    upstream: 127.0.0.1:1\n"
      "    faults:\n      - {name: " +
          name + ", type: latency, latency: " + value + "}\n",
      "fault.yaml");
  return cfg.proxies[0].faults[0];
}

bool refused(std::uint16_t port) {
  int err = 0;
  Fd c = connect_tcp(port, 500ms, &err);
  return !c && err == ECONNREFUSED;
}

// One proxy "a" with a 50 ms latency and a connection open through it.
struct Fixture {
  EchoServer echo;
  RunningProxy proxy{one_proxy_yaml("", "      - {type: latency, latency: 50ms}\n"), echo.port()};
  Fd open;

  Fixture() {
    open = connect_tcp(proxy.port());
    EXPECT_GE(echo_ms(open.get()), 50);
  }
  // The open connection still relays, through the same 50 ms latency.
  void expect_untouched(const std::string& before) {
    EXPECT_EQ(snapshot(proxy), before);
    double t = echo_ms(open.get());
    EXPECT_GE(t, 50) << "the open connection was cut or lost its fault";
    Fd fresh = connect_tcp(proxy.port());
    EXPECT_GE(echo_ms(fresh.get()), 50) << "the listener does not accept as before";
  }
};

TEST(Control, OneFaultAtATimeWithTypedRefusals) {
  Fixture f;
  control::Server& s = f.proxy.server();
  const std::string p = "p";
  EXPECT_EQ(refusal(f.proxy, [&] { s.add_fault(p, latency("latency_downstream", "1ms")); }),
            "conflict");
  EXPECT_EQ(refusal(f.proxy, [&] { s.add_fault("nope", latency("l", "1ms")); }), "not_found");
  std::string message;
  EXPECT_EQ(refusal(
                f.proxy, [&] { s.add_fault(p, latency("slow", "soon")); }, &message),
            "invalid");
  EXPECT_NE(message.find("latency: "), std::string::npos) << message;
  EXPECT_EQ(refusal(f.proxy, [&] { s.update_fault(p, "nope", latency("nope", "1ms")); }),
            "not_found");
  EXPECT_EQ(refusal(f.proxy, [&] { s.remove_fault(p, "nope"); }), "not_found");
  EXPECT_EQ(refusal(f.proxy, [&] { s.fault(p, "nope"); }), "not_found");

  // Added, updated (the open connection follows) and removed, one by one.
  on_control(f.proxy, [&] { s.add_fault(p, latency("extra", "100ms")); });
  EXPECT_GE(echo_ms(f.open.get()), 150);
  on_control(f.proxy, [&] { s.update_fault(p, "extra", latency("ignored", "1ms")); });
  EXPECT_EQ(on_control(f.proxy, [&] { return s.fault(p, "extra").attributes.at("latency").text; }),
            "1ms");
  double t = echo_ms(f.open.get());
  EXPECT_GE(t, 50);
  EXPECT_LT(t, 150) << "the update did not reach the open connection";
  on_control(f.proxy, [&] { s.remove_fault(p, "latency_downstream"); });
  EXPECT_LT(echo_ms(f.open.get()), 50);
  EXPECT_EQ(on_control(f.proxy, [&] { return s.view(p).faults.size(); }), 1u);

  // One proxy: the same kinds.
  EXPECT_EQ(refusal(f.proxy, [&] { s.create_proxy(proxy_config(p, 0, f.echo.port())); }),
            "conflict");
  EXPECT_EQ(refusal(f.proxy, [&] { s.delete_proxy("nope"); }), "not_found");
  EXPECT_EQ(refusal(f.proxy, [&] { s.update_proxy("nope", ProxyPatch{}); }), "not_found");
}

TEST(Control, PopulateWithTheSecondOfThreePortsTakenChangesNothing) {
  Fixture f;
  std::uint16_t taken = 0;
  Fd holder = listen_tcp(&taken);
  const std::uint16_t first = unused_port(), third = unused_port();
  const std::string before = snapshot(f.proxy);
  std::string message;
  EchoServer other;
  auto kind = refusal(
      f.proxy,
      [&] {
        std::vector<PopulateEntry> entries;
        // The existing proxy re-routed (same listen): it would give its port up and bind again.
        entries.push_back({proxy_config("p", f.proxy.port(), other.port()), false});
        entries.push_back({proxy_config("n1", first, f.echo.port()), false});
        entries.push_back({proxy_config("n2", taken, f.echo.port()), false});
        entries.push_back({proxy_config("n3", third, f.echo.port()), false});
        f.proxy.server().populate(std::move(entries));
      },
      &message);
  EXPECT_EQ(kind, "failed");
  EXPECT_NE(message.find("proxy \"n2\": cannot listen on 127.0.0.1:" + std::to_string(taken)),
            std::string::npos)
      << message;
  f.expect_untouched(before);
  EXPECT_TRUE(refused(first)) << "n1's listener was left open";
  EXPECT_TRUE(refused(third)) << "n3's listener was left open";
}

TEST(Control, ApplyWithTheSecondOfThreePortsTakenChangesNothing) {
  Fixture f;
  std::uint16_t taken = 0;
  Fd holder = listen_tcp(&taken);
  const std::uint16_t first = unused_port(), third = unused_port();
  const std::string before = snapshot(f.proxy);
  config::Config cfg;
  cfg.proxies.push_back(proxy_config("n1", first, f.echo.port()));
  cfg.proxies.push_back(proxy_config("n2", taken, f.echo.port()));
  cfg.proxies.push_back(proxy_config("n3", third, f.echo.port()));
  // The file no longer lists "p": it would be removed.
  EXPECT_EQ(refusal(f.proxy, [&] { f.proxy.server().apply(cfg); }), "failed");
  f.expect_untouched(before);
  EXPECT_TRUE(refused(first));
  EXPECT_TRUE(refused(third));
}

TEST(Control, UpdateOntoATakenPortKeepsTheProxyWhereItWas) {
  Fixture f;
  std::uint16_t taken = 0;
  Fd holder = listen_tcp(&taken);
  const std::string before = snapshot(f.proxy);
  ProxyPatch patch;
  patch.listen = config::Endpoint{"127.0.0.1", taken};
  EXPECT_EQ(refusal(f.proxy, [&] { f.proxy.server().update_proxy("p", patch); }), "failed");
  f.expect_untouched(before);
}

TEST(Control, AProxyMovesOntoTheAddressAnotherOneGivesUpInTheSameChange) {
  EchoServer echo;
  const std::uint16_t x = unused_port(), y = unused_port();
  RunningProxy proxy("seed: 1\nproxies:\n  - {name: a, listen: 127.0.0.1:" + std::to_string(x) +
                         ", upstream: 127.0.0.1:{upstream}}\n",
                     echo.port());
  Fd open = connect_tcp(x);
  ASSERT_GE(echo_ms(open.get()), 0);
  // a moves to y and b takes x: b's bind waits until a's listener closed in the commit.
  config::Config cfg;
  cfg.proxies.push_back(proxy_config("a", y, echo.port()));
  cfg.proxies.push_back(proxy_config("b", x, echo.port()));
  on_control(proxy, [&] { proxy.server().apply(cfg); });
  EXPECT_EQ(snapshot(proxy), "a 127.0.0.1:" + std::to_string(y) +
                                 " -> 127.0.0.1:" + std::to_string(echo.port()) +
                                 " on\nb 127.0.0.1:" + std::to_string(x) +
                                 " -> 127.0.0.1:" + std::to_string(echo.port()) + " on\n");
  EXPECT_TRUE(read_to_eof(open.get(), 3s).eof) << "a moved: its old connection ends with a FIN";
  Fd to_b = connect_tcp(x), to_a = connect_tcp(y);
  EXPECT_GE(echo_ms(to_b.get()), 0);
  EXPECT_GE(echo_ms(to_a.get()), 0);
  EXPECT_EQ(
      on_control(proxy, [&] { return proxy.server().view("b").state->stats.accepted.load(); }), 1u);
}

TEST(Control, ACommitWhoseDeferredBindFailsRollsBack) {
  EchoServer echo, other;
  const std::uint16_t x = unused_port();
  RunningProxy proxy("seed: 1\nproxies:\n  - {name: a, listen: 127.0.0.1:" + std::to_string(x) +
                         ", upstream: 127.0.0.1:{upstream}}\n",
                     echo.port());
  Fd open = connect_tcp(x);
  ASSERT_GE(echo_ms(open.get()), 0);
  const std::string before = snapshot(proxy);
  // a re-routed on its own port (its bind waits for the commit) and b on the same port: b's
  // bind fails after a's old listener closed, and a must listen there again.
  std::vector<PopulateEntry> entries;
  entries.push_back({proxy_config("a", x, other.port()), false});
  entries.push_back({proxy_config("b", x, other.port()), false});
  std::string message;
  EXPECT_EQ(refusal(
                proxy, [&] { proxy.server().populate(std::move(entries)); }, &message),
            "failed");
  EXPECT_NE(message.find("Address already in use"), std::string::npos) << message;
  EXPECT_EQ(snapshot(proxy), before);
  EXPECT_GE(echo_ms(open.get()), 0) << "the rollback cut the open connection";
  Fd fresh = connect_tcp(x);
  ASSERT_TRUE(fresh) << "a does not listen again after the rollback";
  EXPECT_GE(echo_ms(fresh.get()), 0);
  // Still the old a (the old upstream, the old counters).
  EXPECT_EQ(
      on_control(proxy, [&] { return proxy.server().view("a").state->stats.accepted.load(); }), 2u);
}

}  // namespace
}  // namespace faultline::test
