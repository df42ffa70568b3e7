// Faultline for GoogleTest: a proxy per test that shows its log only when the test failed, and
// assertions on what it counted that wait for the count (the proxy counts a fault or a close
// on its own threads, a moment after the client saw it).
//
//   faultline::testing::TestProxy proxy({.upstream = server.address(),
//                                        .faults = {faultline::reset_peer()}});
//   EXPECT_EQ(my_client_get(proxy.port()), ECONNRESET);
//   EXPECT_TRUE(faultline::testing::ResetFired(proxy));
//
// Link Faultline::gtest (it brings Faultline::faultline and GTest::gtest).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include <gtest/gtest.h>

#include "faultline/faultline.hpp"

namespace faultline::testing {

using std::chrono::milliseconds;
inline constexpr milliseconds kWait{2000};

// A Proxy that, when the test that made it has failed, stops and prints its log (the last
// ProxyOptions::log_capacity lines, debug and up by default) under the failure. Set
// FAULTLINE_SHOW_LOG=1 to print it after passing tests too.
class TestProxy : public Proxy {
 public:
  explicit TestProxy(ProxyOptions options);
  TestProxy(std::string upstream, std::vector<Fault> faults);
  ~TestProxy();
  TestProxy(TestProxy&&) = default;
};

// Each waits up to `wait` for the count, then fails with the proxy's counters.
// At least n faults fired, of any type.
::testing::AssertionResult FaultsFired(const Proxy& proxy, std::uint64_t n = 1,
                                       milliseconds wait = kWait);
// At least n firings of `type` (a fault type or an alias: "reset_peer", "rst", "slicer").
::testing::AssertionResult Fired(const Proxy& proxy, std::string_view type, std::uint64_t n = 1,
                                 milliseconds wait = kWait);
// At least n reset_peer firings: the client's recv/send failed with ECONNRESET.
::testing::AssertionResult ResetFired(const Proxy& proxy, std::uint64_t n = 1,
                                      milliseconds wait = kWait);
// At least n connections ended by `cause` (rst: a peer reset, fault: a fault closed it, fin:
// an ordinary close, ...).
::testing::AssertionResult ClosedBy(const Proxy& proxy, CloseCause cause, std::uint64_t n = 1,
                                    milliseconds wait = kWait);

}  // namespace faultline::testing
