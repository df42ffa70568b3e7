// slicer through the real proxy, seen from a real client: partial recvs, one byte each.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <future>

#include "faultline/gtest.hpp"
#include "tests/support/net.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace faultline::test {
namespace {

// The delay is 5 ms, not 1 ms: with 1 ms this passes on an idle machine (40 of 40 runs) but a
// client thread descheduled for over 1 ms finds two pieces in its buffer and reads them in one
// recv (4 of 30 runs failed with both cores busy; 5 ms: 0 of 30).
TEST(Slicer, ATwentyByteEchoArrivesOneBytePerRecv) {
  // Through the public API (faultline/gtest.hpp), as a user's test would.
  EchoServer echo;
  faultline::testing::TestProxy proxy(echo.address(),
                                      {faultline::slicer({.average_size = 1, .delay = 5ms})});
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  const std::string msg = "twenty bytes, sliced";
  ASSERT_EQ(msg.size(), 20u);
  auto sent = std::chrono::steady_clock::now();
  ASSERT_TRUE(send_all(c.get(), msg));
  ReadResult r = read_n(c.get(), msg.size(), 2s);
  double took =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent).count();
  EXPECT_EQ(r.data, msg) << "errno " << r.error;
  EXPECT_EQ(r.recv_sizes, std::vector<std::size_t>(20, 1));
  // 19 gaps of at least 5 ms between the pieces.
  EXPECT_GE(took, 95.0);
  std::printf("[ slicer   ] 20 bytes in %zu recvs over %.1f ms\n", r.recv_sizes.size(), took);
}

TEST(Slicer, UpstreamPiecesReachTheServerApart) {
  // The other direction, with a size range: the server's recvs are 2..6 bytes (the last one
  // may be shorter), and together they are the message. 15 ms between pieces: two merge only
  // if the server does not read for that long (under TSan 5 ms was not enough).
  std::promise<ReadResult> got;
  ScriptedServer server([&](Fd s) { got.set_value(read_to_eof(s.get(), 5s)); });
  RunningProxy proxy(one_proxy_yaml("",
                                    "      - {type: split, stream: upstream, "
                                    "average_size: 4, size_variation: 2, delay: 15ms}\n"),
                     server.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  const std::string msg = random_bytes(200, 6);
  ASSERT_TRUE(send_all(c.get(), msg));
  shutdown_write(c.get());
  auto fut = got.get_future();
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  ReadResult r = fut.get();
  EXPECT_TRUE(r.eof);
  EXPECT_TRUE(r.data == msg);
  ASSERT_GT(r.recv_sizes.size(), 200u / 6);
  for (std::size_t i = 0; i + 1 < r.recv_sizes.size(); ++i) {
    EXPECT_GE(r.recv_sizes[i], 2u) << i;
    EXPECT_LE(r.recv_sizes[i], 6u) << i;
  }
}

}  // namespace
}  // namespace faultline::test
