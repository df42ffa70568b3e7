// A tiny client of a line protocol, the kind of code Faultline exists to test: it sends one
// request line and reads one reply line, with a deadline. A recv may return part of the line
// (it keeps reading until the newline), the server may reset the connection (ECONNRESET), or
// never answer (the deadline).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace example {

enum class Outcome { ok, reset, timeout, closed, failed };
const char* to_string(Outcome o);

struct Reply {
  Outcome outcome = Outcome::failed;
  std::string line;  // without the newline
  int recvs = 0;     // how many recv calls returned bytes
};

// Connects to host:port, sends `request` and a newline, reads one line back, all within
// `deadline`.
Reply ask(const std::string& host, std::uint16_t port, const std::string& request,
          std::chrono::milliseconds deadline);

}  // namespace example
