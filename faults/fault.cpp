#include "faults/fault.hpp"

namespace faultline::faults {

asio::awaitable<void> Fault::on_data(Chunk chunk, Sink& next, FaultContext&) {
  co_await next.write(std::move(chunk));
}

asio::awaitable<void> Fault::on_eof(Sink& next, FaultContext&) {
  co_await next.finish();
}

asio::awaitable<void> FaultContext::hold(std::size_t) {
  co_return;
}

void FaultContext::release(std::size_t) {}

asio::awaitable<void> Fault::watch(Sink&, FaultContext&) {
  co_return;
}

asio::awaitable<void> Fault::before_dial(FaultContext&) {
  co_return;
}

asio::awaitable<void> Fault::on_handover(Sink&, FaultContext&) {
  co_return;
}

}  // namespace faultline::faults
