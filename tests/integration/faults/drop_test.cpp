// drop through the real proxy: the client gets the first after_bytes, then silence (no FIN),
// while the connection stays open and its bytes still reach the upstream.
#include <gtest/gtest.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <string>

#include "tests/support/net.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace faultline::test {
namespace {

// An echo server that also reports everything it read.
class ReportingEcho {
 public:
  ReportingEcho()
      : server_([this](Fd s) {
          char buf[4096];
          for (;;) {
            int err = 0;
            long n = recv_some(s.get(), buf, sizeof buf, 5s, &err);
            if (n <= 0) return;
            {
              std::lock_guard lock(mutex_);
              read_.append(buf, static_cast<std::size_t>(n));
            }
            changed_.notify_all();
            if (!send_all(s.get(), buf, static_cast<std::size_t>(n))) return;
          }
        }) {}

  std::uint16_t port() const { return server_.port(); }

  // Waits until the server has read exactly `want` in total; returns what it read.
  std::string wait_for(const std::string& want, Ms timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return read_.size() >= want.size(); });
    return read_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string read_;
  ScriptedServer server_;  // last: its handler threads use the members above
};

TEST(DropThroughProxy, PassesAfterBytesThenSilenceOnAnOpenConnection) {
  ReportingEcho upstream;
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: drop, stream: downstream, after_bytes: 4}\n"),
      upstream.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), "12345678"));
  ReadResult first = read_n(c.get(), 4, 2s);
  EXPECT_EQ(first.data, "1234");

  char buf[64];
  int err = 0;
  EXPECT_EQ(recv_some(c.get(), buf, sizeof buf, 300ms, &err), -1) << "bytes past after_bytes";
  EXPECT_EQ(err, ETIMEDOUT) << "expected silence, got errno " << err;

  // Still open: the client's next bytes reach the upstream (and their echo is dropped too).
  ASSERT_TRUE(send_all(c.get(), "more"));
  EXPECT_EQ(upstream.wait_for("12345678more", 2s), "12345678more");
  err = 0;
  EXPECT_EQ(recv_some(c.get(), buf, sizeof buf, 100ms, &err), -1);
  EXPECT_EQ(err, ETIMEDOUT);
}

TEST(DropThroughProxy, TheServersFinIsSwallowedToo) {
  ScriptedServer server([](Fd s) { send_all(s.get(), "hi"); });  // then closes: FIN
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: blackhole, stream: downstream, after_bytes: 2}\n"),
      server.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  ReadResult r = read_to_eof(c.get(), 300ms);
  EXPECT_EQ(r.data, "hi");
  EXPECT_FALSE(r.eof) << "the peer must see silence, not a FIN";
  EXPECT_EQ(r.error, ETIMEDOUT);
}

}  // namespace
}  // namespace faultline::test
