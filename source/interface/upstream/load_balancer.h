#pragma once

// Choosing a host of a cluster for one request (or one retry of it). One balancer object per
// cluster per worker, used only on that worker's thread; host health and load are read from
// the shared Host atomics.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "source/interface/upstream/cluster.h"

namespace remora::upstream {

// What the request tells the balancer.
class LoadBalancerContext {
 public:
  virtual ~LoadBalancerContext() = default;
  // The request's hash for consistent hashing (ring hash, maglev): from a header, a cookie,
  // the source IP or a query parameter, per the route's hash policy. Absent: pick at random.
  virtual std::optional<uint64_t> hashKey() const { return std::nullopt; }
  // Hosts this request already tried (retries avoid them when others are available).
  virtual bool shouldSkipHost(const Host& host) const {
    (void)host;
    return false;
  }
  // How many times a balancer may re-pick to avoid a skipped host before taking what it has.
  virtual uint32_t hostSelectionRetryCount() const { return 0; }
  // Where the downstream connection was going before it was captured (its local address
  // after original_dst): the host of ORIGINAL_DST clusters. Null when unknown.
  virtual const network::Address* originalDestination() const { return nullptr; }
};

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  // Null only when the cluster has no hosts. Unhealthy hosts are avoided unless the share of
  // healthy ones is below the panic threshold, when all hosts are used alike.
  virtual HostConstSharedPtr chooseHost(const LoadBalancerContext* context) = 0;
  // Peak-EWMA and similar learn from outcomes: called when a request to `host` finished,
  // with its latency. Others ignore it.
  virtual void onRequestComplete(const Host& host, std::chrono::nanoseconds latency) {
    (void)host;
    (void)latency;
  }
};
using LoadBalancerPtr = std::unique_ptr<LoadBalancer>;

}  // namespace remora::upstream
