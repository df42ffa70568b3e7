// Windows has no splice(2): every direction is relayed through user-space buffers.
#include "proxy/splice_relay.hpp"

namespace faultline::proxy {

bool splice_available() {
  return false;
}

asio::awaitable<SpliceResult> splice_once(asio::ip::tcp::socket&, asio::ip::tcp::socket&) {
  co_return SpliceResult{SpliceResult::Status::unavailable, 0,
                         asio::error::operation_not_supported};
}

}  // namespace faultline::proxy
