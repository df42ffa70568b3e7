// The echo client core against real sockets on 127.0.0.1: the in-process echo server and
// small misbehaving servers. Ports come from the kernel; every wait has a deadline.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <asio/post.hpp>

#include "clients/echo_client_core.hpp"
#include "clients/echo_server_core.hpp"
#include "clients/frame.hpp"
#include "tests/unit/clients/raw_server.hpp"

namespace faultline::clients {
namespace {

using testing::RawServer;
using testing::read_frame;
using testing::write_all;
using namespace std::chrono_literals;

// The echo server on its own io_context thread; connection ends are recorded for waiting.
class InProcessEchoServer {
 public:
  explicit InProcessEchoServer(ServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = "0";
    options.quiet = true;
    server_.emplace(io_, options, log_);
    server_->on_connection_end([this](const ConnectionEnd& end) {
      std::lock_guard lock(mutex_);
      ends_.push_back(end);
      changed_.notify_all();
    });
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~InProcessEchoServer() {
    asio::post(io_, [this] { server_->stop(); });
    thread_.join();  // run() returns once every connection has ended
  }

  std::string port() const { return std::to_string(server_->local_endpoint().port()); }

  // Waits until n connections have ended; returns what they reported.
  std::vector<ConnectionEnd> wait_for_ends(std::size_t n, std::chrono::milliseconds deadline = 5s) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, deadline, [&] { return ends_.size() >= n; });
    return ends_;
  }

 private:
  asio::io_context io_;
  std::ostringstream log_;
  std::optional<EchoServer> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<ConnectionEnd> ends_;
};

ClientOptions options_for(const std::string& port) {
  ClientOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  options.count = 50;
  options.timeout_ms = 5000;
  options.backoff_ms = 5;
  options.quiet = true;
  return options;
}

ClientReport run(const ClientOptions& options) {
  std::ostringstream log;
  return run_echo_client(options, log);
}

// Echoes frames faithfully: what a correct server does, used after a fault has fired.
void echo_frames(int fd) {
  for (;;) {
    const auto frame = read_frame(fd);
    if (frame.empty() || !write_all(fd, frame.data(), frame.size())) return;
  }
}

TEST(EchoClientTest, RobustVerifiesEverythingAgainstTheEchoServer) {
  InProcessEchoServer server;
  auto options = options_for(server.port());
  options.count = 200;
  options.min_size = 0;
  options.max_size = 2000;
  const auto report = run(options);
  EXPECT_EQ(report.outcome, Outcome::ok) << report.last_error;
  EXPECT_EQ(report.verified, 200u);
  EXPECT_EQ(report.resets, 0u);
  EXPECT_EQ(report.eofs, 0u);
  EXPECT_EQ(report.timeouts, 0u);
  EXPECT_EQ(report.reconnects, 0u);
  EXPECT_EQ(exit_code(report.outcome), 0);
}

TEST(EchoClientTest, RobustPipelinesLargeMessages) {
  InProcessEchoServer server;
  auto options = options_for(server.port());
  options.count = 40;
  options.min_size = 1;
  options.max_size = 300000;  // bigger than socket buffers: send and recv must interleave
  options.pipeline = 8;
  const auto report = run(options);
  EXPECT_EQ(report.outcome, Outcome::ok) << report.last_error;
  EXPECT_EQ(report.verified, 40u);
  EXPECT_GT(report.partial_reads, 0u);
}

TEST(EchoClientTest, NaivePassesAgainstAPlainEchoServer) {
  InProcessEchoServer server;
  auto options = options_for(server.port());
  options.naive = true;
  const auto report = run(options);
  EXPECT_EQ(report.outcome, Outcome::ok) << report.last_error;
  EXPECT_EQ(report.verified, 50u);
}

// Echoes each frame one byte per send(), with a pause between, like the slicer fault.
RawServer slicing_server() {
  return RawServer([](int fd, int) {
    for (;;) {
      const auto frame = read_frame(fd);
      if (frame.empty()) return false;
      for (const auto byte : frame) {
        if (!write_all(fd, &byte, 1)) return false;
        std::this_thread::sleep_for(200us);  // the fault's pacing, not synchronisation
      }
    }
  });
}

TEST(EchoClientTest, RobustReassemblesPartialReads) {
  const RawServer server = slicing_server();
  auto options = options_for(server.port_text());
  options.count = 10;
  options.min_size = options.max_size = 16;
  const auto report = run(options);
  EXPECT_EQ(report.outcome, Outcome::ok) << report.last_error;
  EXPECT_EQ(report.verified, 10u);
  EXPECT_GT(report.partial_reads, 0u);
}

TEST(EchoClientTest, NaiveTakesAPartialReadForTheMessageAndMismatches) {
  const RawServer server = slicing_server();
  auto options = options_for(server.port_text());
  options.count = 10;
  options.min_size = options.max_size = 16;
  options.naive = true;
  const auto report = run(options);
  EXPECT_EQ(report.outcome, Outcome::mismatch);
  EXPECT_EQ(exit_code(report.outcome), 5);
  EXPECT_EQ(report.verified, 0u);
}

// Holds echoes until `batch` frames have arrived, then writes them with one send().
RawServer coalescing_server(std::size_t batch) {
  return RawServer([batch](int fd, int) {
    for (;;) {
      std::vector<std::uint8_t> out;
      for (std::size_t i = 0; i < batch; ++i) {
        const auto frame = read_frame(fd);
        if (frame.empty()) return false;
        out.insert(out.end(), frame.begin(), frame.end());
      }
      if (!write_all(fd, out.data(), out.size())) return false;
    }
  });
}

TEST(EchoClientTest, RobustSplitsCoalescedReads) {
  const RawServer server = coalescing_server(4);
  auto options = options_for(server.port_text());
  options.count = 40;
  options.pipeline = 4;
  const auto report = run(options);
  EXPECT_EQ(report.outcome, Outcome::ok) << report.last_error;
  EXPECT_EQ(report.verified, 40u);
  EXPECT_GT(report.coalesced_reads, 0u);
}

TEST(EchoClientTest, NaiveTakesCoalescedEchoesForOneMessageAndMismatches) {
  const RawServer server = coalescing_server(4);
  auto options = options_for(server.port_text());
  options.count = 40;
  options.pipeline = 4;
  options.naive = true;
  const auto report = run(options);
  EXPECT_EQ(report.outcome, Outcome::mismatch);
  EXPECT_EQ(exit_code(report.outcome), 5);
}

// First connection: echoes one message, reads the next (so the client has consumed the
// echo) and resets. Later connections echo faithfully.
RawServer resetting_server() {
  return RawServer([](int fd, int index) {
    if (index > 0) {
      echo_frames(fd);
      return false;
    }
    const auto first = read_frame(fd);
    if (first.empty() || !write_all(fd, first.data(), first.size())) return false;
    read_frame(fd);
    return true;  // RST
  });
}

TEST(EchoClientTest, RobustReconnectsAfterAResetAndResends) {
  const RawServer server = resetting_server();
  auto options = options_for(server.port_text());
  options.count = 20;
  const auto report = run(options);
  EXPECT_EQ(report.outcome, Outcome::ok) << report.last_error;
  EXPECT_EQ(report.verified, 20u);
  EXPECT_GE(report.resets, 1u);
  EXPECT_GE(report.reconnects, 1u);
  EXPECT_NE(report.last_error.find("ECONNRESET"), std::string::npos) << report.last_error;
}

TEST(EchoClientTest, NaiveStopsAtTheReset) {
  const RawServer server = resetting_server();
  auto options = options_for(server.port_text());
  options.count = 20;
  options.naive = true;
  const auto report = run(options);
  EXPECT_EQ(report.outcome, Outcome::resets);
  EXPECT_EQ(exit_code(report.outcome), 3);
  EXPECT_EQ(report.verified, 1u);
  EXPECT_EQ(report.resets, 1u);
  EXPECT_NE(report.last_error.find("ECONNRESET (Connection reset by peer)"), std::string::npos)
      << report.last_error;
}

TEST(EchoClientTest, RobustResendsAfterAnEofMidFrame) {
  const RawServer server([](int fd, int index) {
    if (index > 0) {
      echo_frames(fd);
      return false;
    }
    const auto first = read_frame(fd);
    if (first.empty() || !write_all(fd, first.data(), first.size())) return false;
    const auto second = read_frame(fd);
    write_all(fd, second.data(), second.size() / 2);
    return false;  // FIN in the middle of the second echo
  });
  auto options = options_for(server.port_text());
  options.count = 10;
  const auto report = run(options);
  EXPECT_EQ(report.outcome, Outcome::ok) << report.last_error;
  EXPECT_EQ(report.verified, 10u);
  EXPECT_GE(report.eofs, 1u);
  EXPECT_EQ(report.reconnects, 1u);
}

TEST(EchoClientTest, RobustReportsTimeoutsFromASilentServerAndGivesUp) {
  const RawServer server([](int fd, int) {
    std::uint8_t sink[4096];
    while (::recv(fd, sink, sizeof sink, 0) > 0) {
    }
    return false;
  });
  auto options = options_for(server.port_text());
  options.timeout_ms = 200;
  options.retries = 2;
  const auto started = std::chrono::steady_clock::now();
  const auto report = run(options);
  EXPECT_EQ(report.outcome, Outcome::timeouts);
  EXPECT_EQ(exit_code(report.outcome), 4);
  EXPECT_EQ(report.timeouts, 3u);
  EXPECT_EQ(report.verified, 0u);
  EXPECT_NE(report.last_error.find("timeout"), std::string::npos) << report.last_error;
  EXPECT_GE(std::chrono::steady_clock::now() - started, 600ms);
}

TEST(EchoClientTest, RefusedConnectsGiveUpWithTheConnectCode) {
  std::string port;
  {
    const RawServer gone([](int, int) { return false; });
    port = gone.port_text();
  }  // closed: connects to it are refused
  auto options = options_for(port);
  options.retries = 2;
  const auto report = run(options);
  EXPECT_EQ(report.outcome, Outcome::connect);
  EXPECT_EQ(exit_code(report.outcome), 6);
  EXPECT_EQ(report.connect_failures, 3u);
  EXPECT_NE(report.last_error.find("ECONNREFUSED"), std::string::npos) << report.last_error;
  options.naive = true;
  EXPECT_EQ(run(options).outcome, Outcome::connect);
}

TEST(EchoClientTest, MismatchIsNeverRetried) {
  const RawServer server([](int fd, int) {
    auto frame = read_frame(fd);
    if (frame.size() > 4) frame.back() ^= 0xff;
    write_all(fd, frame.data(), frame.size());
    echo_frames(fd);
    return false;
  });
  const auto report = run(options_for(server.port_text()));
  EXPECT_EQ(report.outcome, Outcome::mismatch);
  EXPECT_EQ(exit_code(report.outcome), 5);
  EXPECT_EQ(report.reconnects, 0u);
  EXPECT_NE(report.last_error.find("message 0 differs"), std::string::npos) << report.last_error;
}

TEST(EchoClientTest, ServerCloseAfterNFramesSendsFinAndTheClientResumes) {
  ServerOptions server_options;
  server_options.close_after = 3;
  InProcessEchoServer server(server_options);
  auto options = options_for(server.port());
  options.count = 10;
  const auto report = run(options);
  EXPECT_EQ(report.outcome, Outcome::ok) << report.last_error;
  EXPECT_EQ(report.verified, 10u);
  EXPECT_EQ(report.eofs, 3u);
  EXPECT_EQ(report.resets, 0u) << "a FIN, not an RST";
  EXPECT_EQ(report.reconnects, 3u);
  const auto ends = server.wait_for_ends(4);
  ASSERT_EQ(ends.size(), 4u);
  const auto closed = std::count_if(ends.begin(), ends.end(), [](const ConnectionEnd& end) {
    return end.cause.find("--close-after") != std::string::npos && end.frames == 3;
  });
  EXPECT_EQ(closed, 3);
}

TEST(EchoClientTest, ServerRstAfterNFramesResetsAndTheClientResumes) {
  ServerOptions server_options;
  server_options.rst_after = 4;
  InProcessEchoServer server(server_options);
  auto options = options_for(server.port());
  options.count = 10;
  const auto report = run(options);
  EXPECT_EQ(report.outcome, Outcome::ok) << report.last_error;
  EXPECT_EQ(report.verified, 10u);
  EXPECT_GE(report.resets, 1u);
  EXPECT_GE(report.reconnects, 2u);
}

TEST(EchoServerTest, SurvivesClientResetsAndVanishingClients) {
  InProcessEchoServer server;
  const auto port = static_cast<std::uint16_t>(std::stoi(server.port()));
  {
    // Half a frame, then an RST.
    const int fd = testing::connect_loopback(port);
    ASSERT_GE(fd, 0);
    const auto frame = encode_frame(std::vector<std::uint8_t>(100, 7));
    ASSERT_TRUE(write_all(fd, frame.data(), 50));
    testing::reset_close(fd);
  }
  {
    // A lot of data, never read, then an RST: the server's writes fail.
    const int fd = testing::connect_loopback(port);
    ASSERT_GE(fd, 0);
    const std::vector<std::uint8_t> junk(256 * 1024, 1);
    ::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    testing::reset_close(fd);
  }
  auto ends = server.wait_for_ends(2);
  ASSERT_EQ(ends.size(), 2u);
  const auto report = run(options_for(server.port()));
  EXPECT_EQ(report.outcome, Outcome::ok) << report.last_error;
  ends = server.wait_for_ends(3);
  EXPECT_EQ(ends.size(), 3u);
}

TEST(EchoServerTest, FinishesEchoingAfterAHalfCloseThenCloses) {
  InProcessEchoServer server;
  const int fd = testing::connect_loopback(static_cast<std::uint16_t>(std::stoi(server.port())));
  ASSERT_GE(fd, 0);
  std::vector<std::uint8_t> sent;
  for (int i = 0; i < 3; ++i)
    append_frame(sent, make_payload(1, i, 1000, 5000));
  ASSERT_TRUE(write_all(fd, sent.data(), sent.size()));
  ::shutdown(fd, SHUT_WR);
  std::vector<std::uint8_t> got;
  std::uint8_t buffer[4096];
  timeval tv{5, 0};  // a deadline on each read, so a bug fails rather than hangs
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    ASSERT_GE(n, 0) << "recv failed or timed out";
    if (n == 0) break;
    got.insert(got.end(), buffer, buffer + n);
  }
  ::close(fd);
  EXPECT_EQ(got, sent);
  const auto ends = server.wait_for_ends(1);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_NE(ends[0].cause.find("EOF"), std::string::npos) << ends[0].cause;
}

}  // namespace
}  // namespace faultline::clients
