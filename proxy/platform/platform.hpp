// What differs between Linux and Windows in the relay, behind one set of declarations. The
// definitions are in proxy/platform/linux/ or proxy/platform/windows/, one of which CMake
// builds; nothing else in the relay asks which system it runs on. Also implemented there:
// splice_once() and splice_available() (proxy/splice_relay.hpp), set_congestion() and
// congestion_of() (proxy/congestion.hpp), ClientAcceptor (proxy/platform/client_acceptor.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>

namespace faultline::proxy::platform {

using NativeSocket = asio::ip::tcp::socket::native_handle_type;

// Process start: a write to a peer that vanished must fail, never kill the process (Linux
// ignores SIGPIPE; Winsock raises no signal).
void ignore_broken_pipe();
// On each worker thread: Linux blocks SIGPIPE there, because splice(2) has no MSG_NOSIGNAL;
// blocked, the signal stays pending on the thread and the call fails with EPIPE whatever the
// embedding process does with it.
void block_broken_pipe_on_this_thread();

// Fault timers are asio's timerfd, an hrtimer that fires on time whatever the slack; the slack
// (50 us by default on Linux) applies to the thread's other timed sleeps (an epoll_wait with a
// timeout), which then must not be rounded up either (Linux: PR_SET_TIMERSLACK 1 ns; nothing
// to do on Windows). What remains of a timer's lateness is the wake-up itself.
void precise_timers_on_this_thread();

// On a listening socket before bind: a restarted proxy can bind its port again at once (Linux:
// SO_REUSEADDR, past connections in TIME_WAIT), and a second process can never bind it too
// (Windows: SO_EXCLUSIVEADDRUSE; its SO_REUSEADDR would let it).
void set_listen_options(NativeSocket socket);

// The signal that re-reads the config file (SIGHUP), or nullopt where there is none (Windows:
// POST /reload or `faultline ctl reload` do the same).
std::optional<int> reload_signal();

// Whether a socket's TCP congestion control can be chosen here (Linux: TCP_CONGESTION).
bool congestion_selectable();
// Empty when algorithm `name` can be set on this machine, else why not.
std::string check_congestion(std::string_view name);

// Inside a container on a bridge network: the bridge's gateway, which is the source address of
// every client that arrives through a published port (Docker's port forwarding). nullopt
// outside a container or where it cannot be read.
std::optional<asio::ip::address> container_gateway();

}  // namespace faultline::proxy::platform
