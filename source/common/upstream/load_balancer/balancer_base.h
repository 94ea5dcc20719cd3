#pragma once

// What every policy shares: the candidate set (health and panic), skipped-host re-picks, and
// small helpers for random draws and weights.

#include <cstdint>
#include <optional>
#include <vector>

#include "source/common/upstream/load_balancer/load_balancer.h"

namespace remora::upstream::lb {

// Contract: chooseHost() returns null only when there are no hosts. Otherwise it returns a
// candidate: a healthy host, or any host while in panic (healthy hosts fewer than the panic
// threshold's share, or none). If the context asks to skip the pick, the policy picks again (with
// `attempt` counting up) at most hostSelectionRetryCount() times and then the last pick stands.
//
// Health is read from the hosts' atomics without notification, so the candidate set is a
// snapshot that is checked cheaply on every pick: the picked host (a candidate gone unhealthy is
// never returned outside panic), and one more host in rotation, so any other change (a host
// recovering, a panic ending) is noticed within hosts().size() picks. Any difference rebuilds the
// snapshot; policies rebuild their structures only when the candidate set itself changed.
class BalancerBase : public LoadBalancer {
 public:
  BalancerBase(const LbConfig& config, std::vector<HostConstSharedPtr> hosts,
               RandomGenerator& random);

  HostConstSharedPtr chooseHost(const LoadBalancerContext* context) final;

 protected:
  // One pick: an index into hosts() of a candidate. `attempt` is 0 for the first pick of a
  // request and counts re-picks; hash policies use it to look elsewhere for the same key.
  virtual uint32_t pick(const LoadBalancerContext* context, uint32_t attempt) = 0;
  // candidates() changed (also called before the first pick).
  virtual void onCandidatesChanged() {}

  const std::vector<HostConstSharedPtr>& hosts() const { return hosts_; }
  // Indexes into hosts(), in hosts() order; never empty when pick() runs.
  const std::vector<uint32_t>& candidates() const { return candidates_; }
  bool isCandidate(uint32_t index) const { return is_candidate_[index] != 0; }
  bool inPanic() const { return panic_; }

  // A uniform index below `n` (n > 0). Lemire's multiply-shift: no division, bias < n / 2^64.
  uint32_t randomIndex(size_t n) {
    return static_cast<uint32_t>((static_cast<unsigned __int128>(random_.random()) * n) >> 64);
  }
  // The key a hash policy looks up: the context's hash key, or a random one when it has none;
  // re-picks rehash it so they land elsewhere deterministically.
  uint64_t lookupKey(const LoadBalancerContext* context, uint32_t attempt);
  // Weight 0 counts as 1: a zero can neither divide by zero nor leave a cluster with nothing to
  // pick. (Draining a host is done by health, not weight.)
  static uint64_t weightOf(const Host& host) { return host.weight == 0 ? 1 : host.weight; }

  const LbConfig config_;
  RandomGenerator& random_;

 private:
  void refreshCandidates();
  uint32_t pickHealthy(const LoadBalancerContext* context, uint32_t attempt);

  std::vector<HostConstSharedPtr> hosts_;
  std::vector<uint8_t> healthy_;  // health per host when candidates_ was built
  std::vector<uint32_t> candidates_;
  std::vector<uint8_t> is_candidate_;
  uint32_t probe_ = 0;  // the host whose health the next pick re-reads
  bool built_ = false;
  bool panic_ = false;
};

}  // namespace remora::upstream::lb
