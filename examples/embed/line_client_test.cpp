// The line client against the three things a network does to it: a reply that arrives in
// pieces (partial recv), a reset (ECONNRESET), and silence (the read times out). Each test
// puts an in-process Faultline between the client and a tiny server; the proxy's log is
// printed only if the test fails.
#include <faultline/gtest.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "line_client.hpp"

using namespace std::chrono_literals;
namespace ft = faultline::testing;

// The server: answers each line "you said: <line>". Port 0: the kernel chooses.
class LineServer {
 public:
  LineServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len);
    ::listen(listener_, 16);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~LineServer() {
    ::shutdown(listener_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(listener_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    for (int c; (c = ::accept(listener_, nullptr, nullptr)) >= 0; ::close(c)) {
      std::string in;
      char buf[256];
      for (ssize_t n; (n = ::recv(c, buf, sizeof buf, 0)) > 0;) {
        in.append(buf, static_cast<std::size_t>(n));
        for (auto nl = in.find('\n'); nl != std::string::npos; nl = in.find('\n')) {
          std::string reply = "you said: " + in.substr(0, nl) + "\n";
          ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
          in.erase(0, nl + 1);
        }
      }
    }
  }
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST(LineClient, ReassemblesAReplyThatArrivesInPieces) {
  LineServer server;
  ft::TestProxy proxy(server.address(), {faultline::slicer({.average_size = 1, .delay = 5ms})});

  auto reply = example::ask(proxy.host(), proxy.port(), "hello", 2s);

  EXPECT_EQ(reply.outcome, example::Outcome::ok);
  EXPECT_EQ(reply.line, "you said: hello");
  EXPECT_GT(reply.recvs, 1);  // it did get the line in pieces
  EXPECT_TRUE(ft::Fired(proxy, "slicer"));
}

TEST(LineClient, ReportsAResetAsAReset) {
  LineServer server;
  ft::TestProxy proxy(server.address(), {faultline::reset_peer()});  // RST on the reply

  auto reply = example::ask(proxy.host(), proxy.port(), "hello", 2s);

  EXPECT_EQ(reply.outcome, example::Outcome::reset);
  EXPECT_TRUE(ft::ResetFired(proxy));
  EXPECT_TRUE(ft::ClosedBy(proxy, faultline::CloseCause::rst));
}

TEST(LineClient, GivesUpAtItsDeadlineWhenNoReplyComes) {
  LineServer server;
  ft::TestProxy proxy(server.address(), {faultline::drop()});  // the reply never comes

  auto start = std::chrono::steady_clock::now();
  auto reply = example::ask(proxy.host(), proxy.port(), "hello", 200ms);

  EXPECT_EQ(reply.outcome, example::Outcome::timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  EXPECT_TRUE(ft::Fired(proxy, "drop"));
}

TEST(LineClient, RecoversOnceTheFaultIsGone) {
  LineServer server;
  ft::TestProxy proxy({.upstream = server.address()});

  proxy.add_fault(faultline::timeout({.timeout = 50ms}));  // data stops, then a FIN
  EXPECT_EQ(example::ask(proxy.host(), proxy.port(), "one", 2s).outcome, example::Outcome::closed);
  proxy.remove_fault("timeout_downstream");
  EXPECT_EQ(example::ask(proxy.host(), proxy.port(), "two", 2s).line, "you said: two");
}
