#include "proxy/proxy_state.hpp"

namespace faultline::proxy {

std::shared_ptr<const FaultSet> compile_faults(const std::vector<config::FaultSpec>& specs,
                                               const faults::FaultRegistry& registry) {
  auto set = std::make_shared<FaultSet>();
  for (const auto& spec : specs)
    set->faults.push_back(registry.compile(spec));
  return set;
}

const char* to_string(CloseCause c) {
  switch (c) {
    case CloseCause::fin:
      return "fin";
    case CloseCause::rst:
      return "rst";
    case CloseCause::error:
      return "error";
    case CloseCause::fault:
      return "fault";
    case CloseCause::shutdown:
      return "shutdown";
  }
  return "unknown";
}

void ProxyStats::count_fired(const std::string& fault_type) {
  std::lock_guard lock(fired_mutex_);
  ++fired_[fault_type];
}

std::map<std::string, std::uint64_t> ProxyStats::fired() const {
  std::lock_guard lock(fired_mutex_);
  return fired_;
}

ProxyState::ProxyState(config::ProxyConfig config, std::uint64_t seed,
                       std::shared_ptr<const FaultSet> faults)
    : config_(std::move(config)), seed_(seed), faults_(std::move(faults)) {
  if (!faults_) faults_ = std::make_shared<const FaultSet>();
}

std::shared_ptr<const FaultSet> ProxyState::faults() const {
  std::lock_guard lock(faults_mutex_);
  return faults_;
}

void ProxyState::set_faults(std::shared_ptr<const FaultSet> faults) {
  {
    std::lock_guard lock(faults_mutex_);
    faults_ = faults ? std::move(faults) : std::make_shared<const FaultSet>();
  }
  faults_version_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace faultline::proxy
