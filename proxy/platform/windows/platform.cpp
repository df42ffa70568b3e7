// proxy/platform/platform.hpp and the congestion control of proxy/congestion.hpp on Windows.
#include "proxy/platform/platform.hpp"

#include <winsock2.h>

#include "proxy/congestion.hpp"

namespace faultline::proxy {
namespace platform {

void ignore_broken_pipe() {}  // Winsock reports a vanished peer as an error, never a signal

void block_broken_pipe_on_this_thread() {}

void precise_timers_on_this_thread() {}

void set_listen_options(NativeSocket socket) {
  const BOOL yes = TRUE;
  ::setsockopt(socket, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char*>(&yes),
               sizeof yes);
}

std::optional<int> reload_signal() {
  return std::nullopt;
}

bool congestion_selectable() {
  return false;
}

std::string check_congestion(std::string_view text) {
  return "Windows chooses the congestion control itself: only auto and system exist here, got \"" +
         std::string(text) + "\"";
}

std::optional<asio::ip::address> container_gateway() {
  return std::nullopt;
}

}  // namespace platform

bool set_congestion(platform::NativeSocket, std::string_view, std::string& error) {
  error = "Windows has no per-socket congestion control";
  return false;
}

std::string congestion_of(platform::NativeSocket) {
  return "";
}

}  // namespace faultline::proxy
