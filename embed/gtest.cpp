#include "faultline/gtest.hpp"

#include <cstdlib>
#include <iostream>
#include <string>

namespace faultline::testing {
namespace {

::testing::AssertionResult check(const Proxy& proxy, const std::string& what,
                                 const std::function<bool(const Counters&)>& done,
                                 milliseconds wait) {
  if (proxy.wait_for(done, wait)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "proxy " << proxy.name() << ": expected " << what << " within " << wait.count()
         << " ms; it counted " << proxy.counters().to_string();
}

bool show_always() {
  const char* v = std::getenv("FAULTLINE_SHOW_LOG");
  return v && *v && std::string(v) != "0";
}

}  // namespace

TestProxy::TestProxy(ProxyOptions options) : Proxy(std::move(options)) {}

TestProxy::TestProxy(std::string upstream, std::vector<Fault> faults)
    : Proxy(std::move(upstream), std::move(faults)) {}

TestProxy::~TestProxy() {
  if (!running()) return;  // moved from, or already shown
  stop();                  // the log then holds every connection's close
  bool failed = ::testing::Test::HasFailure();
  if (!failed && !show_always()) return;
  auto lines = log_lines();
  std::cout << "---- faultline proxy " << name() << " (" << address() << " -> " << upstream()
            << "): " << lines.size() << " log line" << (lines.size() == 1 ? "" : "s")
            << (failed ? ", shown because the test failed" : "") << "\n";
  for (const auto& l : lines)
    std::cout << l << "\n";
  std::cout << "---- counters: " << counters().to_string() << "\n" << std::flush;
}

::testing::AssertionResult FaultsFired(const Proxy& proxy, std::uint64_t n, milliseconds wait) {
  return check(
      proxy, std::to_string(n) + " fault firing(s)",
      [n](const Counters& c) { return c.faults_fired() >= n; }, wait);
}

::testing::AssertionResult Fired(const Proxy& proxy, std::string_view type, std::uint64_t n,
                                 milliseconds wait) {
  std::string t(type);
  return check(
      proxy, std::to_string(n) + " firing(s) of " + t,
      [n, t](const Counters& c) { return c.fired_of(t) >= n; }, wait);
}

::testing::AssertionResult ResetFired(const Proxy& proxy, std::uint64_t n, milliseconds wait) {
  return Fired(proxy, "reset_peer", n, wait);
}

::testing::AssertionResult ClosedBy(const Proxy& proxy, CloseCause cause, std::uint64_t n,
                                    milliseconds wait) {
  return check(
      proxy, std::to_string(n) + " connection(s) closed by " + faultline::to_string(cause),
      [n, cause](const Counters& c) { return c.closed_by(cause) >= n; }, wait);
}

}  // namespace faultline::testing
