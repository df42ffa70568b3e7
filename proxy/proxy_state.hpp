// What a listener and its sessions share across threads: the proxy's settings, its current
// fault set (swapped whole, read per connection), the seed, and live counters.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "faults/registry.hpp"

namespace faultline::proxy {

// Index 0: upstream (client -> server), 1: downstream (server -> client).
enum class Direction { upstream = 0, downstream = 1 };
inline const char* to_string(Direction d) {
  return d == Direction::upstream ? "upstream" : "downstream";
}

struct FaultSet {
  std::vector<faults::CompiledFault> faults;  // in pipeline order
};

// Compiles a proxy's fault specs through the registry; throws config::ConfigError.
std::shared_ptr<const FaultSet> compile_faults(const std::vector<config::FaultSpec>& specs,
                                               const faults::FaultRegistry& registry);

// How a connection ended, as counted in the metrics.
enum class CloseCause { fin, rst, error, fault, shutdown };
inline constexpr std::size_t kCloseCauses = 5;
const char* to_string(CloseCause c);

struct ProxyStats {
  std::array<std::atomic<std::uint64_t>, 2> bytes{};   // by Direction
  std::array<std::atomic<std::uint64_t>, 2> chunks{};  // reads relayed, by Direction
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> active{0};
  std::atomic<std::uint64_t> upstream_failures{0};
  std::array<std::atomic<std::uint64_t>, kCloseCauses> closed{};

  void count_fired(const std::string& fault_type);
  std::map<std::string, std::uint64_t> fired() const;

 private:
  mutable std::mutex fired_mutex_;
  std::map<std::string, std::uint64_t> fired_;
};

class ProxyState {
 public:
  ProxyState(config::ProxyConfig config, std::uint64_t seed,
             std::shared_ptr<const FaultSet> faults);

  const config::ProxyConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  std::uint64_t seed() const { return seed_; }

  std::shared_ptr<const FaultSet> faults() const;
  void set_faults(std::shared_ptr<const FaultSet> faults);
  std::uint64_t faults_version() const { return faults_version_.load(std::memory_order_acquire); }

  std::uint64_t next_connection_index() { return ++connections_; }  // 1-based accept order

  ProxyStats stats;

 private:
  const config::ProxyConfig config_;
  const std::uint64_t seed_;
  mutable std::mutex faults_mutex_;
  std::shared_ptr<const FaultSet> faults_;
  std::atomic<std::uint64_t> faults_version_{0};
  std::atomic<std::uint64_t> connections_{0};
};

}  // namespace faultline::proxy
