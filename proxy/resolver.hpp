// Name resolution off the workers. getaddrinfo blocks, and a resolver that never answers makes
// it block for the resolv.conf timeout times its attempts (10 s by default): it must never run
// on a worker (other connections would wait) nor on a thread the process joins at exit
// (SIGTERM would wait). Asio's own resolver does both: one background thread per io_context,
// lookups one after another, joined when the context is destroyed.
//
// Here each distinct HOST:PORT being looked up gets one detached thread (at most
// kMaxLookupThreads at once; more wait their turn), concurrent lookups of the same name share
// it, and answers are kept kCacheFor. The caller's deadline is its own: cancelling the wait
// (the connect_timeout timer) completes it at once with operation_aborted, and the thread's
// late answer is dropped. After shutdown() no answer is delivered, so the io_contexts can go.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/error_code.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>

namespace faultline::proxy {

struct ResolveResult {
  asio::error_code error;
  std::vector<asio::ip::tcp::endpoint> endpoints;
};

class Resolver {
 public:
  static constexpr std::size_t kMaxLookupThreads = 8;
  static constexpr std::chrono::seconds kCacheFor{5};

  // How one name is looked up, on a resolver thread: getaddrinfo unless a test says otherwise.
  using LookupFunction = std::function<ResolveResult(const std::string& host, std::uint16_t port)>;
  static ResolveResult system_lookup(const std::string& host, std::uint16_t port);

  explicit Resolver(LookupFunction lookup = system_lookup);
  ~Resolver();  // shutdown()
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Completes with (error_code, endpoints) on the handler's executor; a cancellation through the
  // handler's slot (any type) completes it at once with operation_aborted.
  template <typename Token>
  auto async_resolve(std::string host, std::uint16_t port, Token&& token) {
    return asio::async_initiate<Token,
                                void(asio::error_code, std::vector<asio::ip::tcp::endpoint>)>(
        [this](auto handler, std::string h, std::uint16_t p) {
          auto slot = asio::get_associated_cancellation_slot(handler);
          auto executor = asio::get_associated_executor(handler);
          auto waiter = std::make_shared<Waiter>(
              std::make_unique<Delivery<decltype(handler), decltype(executor)>>(std::move(handler),
                                                                                executor));
          if (slot.is_connected()) {
            slot.assign([waiter](asio::cancellation_type) {
              waiter->complete(ResolveResult{asio::error::operation_aborted, {}});
            });
          }
          lookup(std::move(h), p, waiter);
        },
        token, std::move(host), port);
  }

  // No answer is delivered after this returns; lookups still running are abandoned (their
  // threads end on their own and touch nothing but the shared state). Pending waits are
  // dropped without being called.
  void shutdown();

  // Lookups currently running on threads (for tests).
  std::size_t running() const;

  // How an answer reaches one caller: posted to its executor. Type-erased, move-only (an
  // awaitable's handler cannot be copied).
  struct Deliverer {
    virtual ~Deliverer() = default;
    virtual void deliver(ResolveResult result) = 0;
  };
  template <typename Handler, typename Executor>
  struct Delivery final : Deliverer {
    Delivery(Handler h, Executor e) : handler(std::move(h)), executor(std::move(e)) {}
    void deliver(ResolveResult r) override {
      asio::post(executor, [handler = std::move(handler), r = std::move(r)]() mutable {
        std::move(handler)(r.error, std::move(r.endpoints));
      });
    }
    Handler handler;
    Executor executor;
  };

  // One pending wait: completed once, by the answer or a cancellation, or dropped unanswered
  // (shutdown), whichever comes first; from any thread.
  class Waiter {
   public:
    explicit Waiter(std::unique_ptr<Deliverer> d) : deliverer_(std::move(d)) {}
    void complete(ResolveResult result);
    void drop();

   private:
    std::mutex mutex_;
    std::unique_ptr<Deliverer> deliverer_;  // null once completed or dropped
  };

  struct State;

 private:
  void lookup(std::string host, std::uint16_t port, std::shared_ptr<Waiter> waiter);

  std::shared_ptr<State> state_;
};

}  // namespace faultline::proxy
