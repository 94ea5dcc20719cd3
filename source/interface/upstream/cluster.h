#pragma once

// Upstream clusters as a worker sees them. Cluster config (hosts, timeouts, stats handles) is
// immutable and shared; load-balancer state is per worker, so picking a host takes no lock.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "source/interface/network/address.h"
#include "source/interface/network/connection.h"

namespace remora::http {
class ConnectionPool;
enum class Protocol;
}  // namespace remora::http

namespace remora::upstream {

class LoadBalancerContext;

// One upstream host. Address and weight are fixed when the host set is built; the health
// and load fields are shared by every worker (atomics: written by health checking, outlier
// detection and request accounting, read by load balancers on any thread).
struct Host {
  network::Address address;
  uint32_t weight = 1;

  // Why a host is unhealthy; zero means healthy.
  enum HealthFlag : uint32_t {
    kFailedActiveHealthCheck = 1 << 0,
    kOutlierEjected = 1 << 1,
    // Endpoint discovery says so (a pod that is not ready, or terminating).
    kEdsUnhealthy = 1 << 2,
  };
  mutable std::atomic<uint32_t> health_flags{0};
  // Requests in flight to this host from all workers (least request).
  mutable std::atomic<uint64_t> active_requests{0};
  // Requests that ended with a response or a local-origin failure, and those that failed
  // (5xx or local origin), for the admin page.
  mutable std::atomic<uint64_t> requests_total{0};
  mutable std::atomic<uint64_t> errors_total{0};

  bool healthy() const { return health_flags.load(std::memory_order_relaxed) == 0; }
};
using HostConstSharedPtr = std::shared_ptr<const Host>;

// Immutable once built on the main thread.
class ClusterInfo {
 public:
  virtual ~ClusterInfo() = default;
  virtual const std::string& name() const = 0;
  virtual std::chrono::milliseconds connectTimeout() const = 0;
  virtual uint32_t perConnectionBufferLimit() const = 0;
  virtual const std::vector<HostConstSharedPtr>& hosts() const = 0;

  // Metrics of HTTP requests sent to the cluster; callable from any worker, lock-free.
  virtual void onUpstreamRequestStart() const = 0;
  // `status` is the upstream response's status, or 0 when the request ended without one.
  virtual void onUpstreamRequestEnd(uint32_t status, std::chrono::nanoseconds duration) const = 0;

  // Resilience events, counted per cluster.
  enum class Event {
    kRetry,          // a request was sent again
    kRetryOverflow,  // a retry was wanted but the retry budget or breaker refused it
    kPerTryTimeout,  // one try ran out of its per-try timeout
    kTimeout,        // a request ran out of its route timeout
    kMirrorRequest,  // a mirrored copy of a request was sent to this (shadow) cluster
  };
  virtual void onEvent(Event event) const = 0;

  // Circuit breakers shared by every worker: false (counted as an overflow) when the
  // cluster's limit is reached; every successful acquire is paired with a release.
  virtual bool tryAcquireRequest() const = 0;
  virtual void releaseRequest() const = 0;
  virtual bool tryAcquireRetry() const = 0;
  virtual void releaseRetry() const = 0;
};

// One cluster on one worker. Used only on that worker's thread.
class ThreadLocalCluster {
 public:
  virtual ~ThreadLocalCluster() = default;
  virtual const ClusterInfo& info() const = 0;
  // The same, shared: a request holds it so a cluster removed by a config update stays valid
  // until the request is done with it.
  virtual std::shared_ptr<const ClusterInfo> sharedInfo() const = 0;
  // Picks a host with the cluster's load balancer; null when the cluster has no hosts.
  // `context` (optional) carries the request's hash key and the hosts to avoid.
  virtual HostConstSharedPtr chooseHost(const LoadBalancerContext* context = nullptr) = 0;
  // A client connection to `host`, not yet connected, with the cluster's buffer limit, connect
  // timeout and statistics (connections, connect failures and timeouts, bytes) attached.
  virtual network::ClientConnectionPtr createConnection(const HostConstSharedPtr& host) = 0;
  // The worker's HTTP connection pool to `host` for the cluster's upstream protocol (given the
  // downstream protocol, for clusters that follow it). Owned by this cluster object.
  virtual http::ConnectionPool& httpConnPool(const HostConstSharedPtr& host,
                                             http::Protocol downstream_protocol) = 0;
  // A request to `host` finished after `latency` (latency-aware balancing learns from it).
  virtual void onRequestComplete(const Host& host, std::chrono::nanoseconds latency) = 0;
  // How a request to `host` ended, for outlier detection: the response status, or 0 for a
  // local-origin failure (connect failure, reset, timeout).
  virtual void onHostResult(const Host& host, uint32_t status) = 0;
};

// A worker's view of all clusters.
class ClusterManager {
 public:
  virtual ~ClusterManager() = default;
  // Null when no cluster has this name. The pointer is valid until the worker's next config
  // swap; per-connection code must not hold it across events.
  virtual ThreadLocalCluster* getCluster(std::string_view name) = 0;
};

}  // namespace remora::upstream
