#pragma once

// A route's retry policy, parsed once with the route, and the per-request retry state machine
// that applies it: which outcomes are retried, how many times, and how long to back off
// before each retry (exponential, full jitter). Pure logic: time and randomness come from the
// caller, so every decision is tested deterministically.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "remora/config/route/v1/route.pb.h"
#include "source/interface/common/random.h"
#include "source/interface/config/errors.h"
#include "source/interface/http/header_map.h"

namespace remora::router {

struct RetryPolicy {
  // Conditions, one bit each.
  enum On : uint32_t {
    k5xx = 1 << 0,
    kGatewayError = 1 << 1,
    kConnectFailure = 1 << 2,
    kReset = 1 << 3,
    kRefusedStream = 1 << 4,
    kRetriable4xx = 1 << 5,
    kRetriableStatusCodes = 1 << 6,
    kGrpcCancelled = 1 << 7,
    kGrpcDeadlineExceeded = 1 << 8,
    kGrpcInternal = 1 << 9,
    kGrpcResourceExhausted = 1 << 10,
    kGrpcUnavailable = 1 << 11,
  };
  uint32_t retry_on = 0;
  uint32_t num_retries = 1;
  std::chrono::milliseconds per_try_timeout{0};
  std::vector<uint32_t> retriable_status_codes;
  std::chrono::milliseconds base_interval{25};
  std::chrono::milliseconds max_interval{250};

  // Errors are reported under `path` (e.g. "...routes[2].route.retry_policy").
  static std::optional<RetryPolicy> fromProto(const config::route::v1::RetryPolicy& proto,
                                              const std::string& path, config::Errors& errors);
};

// How one try ended, as far as retrying is concerned.
enum class TryOutcome {
  kConnectFailure,  // no connection to the host
  kRefusedStream,   // HTTP/2 REFUSED_STREAM: the host did not process it
  kReset,           // the stream or connection broke before a response
  kPerTryTimeout,   // the try ran out of time (treated as a 504)
};

class RetryState {
 public:
  RetryState(const RetryPolicy& policy, RandomGenerator& random)
      : policy_(policy), random_(random) {}

  // Whether the policy wants a retry for this response (status and, for gRPC, grpc-status
  // in the headers or trailers-only response). Does not consume a retry.
  bool retriableResponse(const http::HeaderMap& response) const;
  // The same for a try that ended without a response.
  bool retriableOutcome(TryOutcome outcome) const;
  // Takes one retry if any is left.
  bool takeRetry();
  uint32_t retriesTaken() const { return taken_; }
  const RetryPolicy& policy() const { return policy_; }
  // The wait before the retry just taken: uniform in [0, min(max, base * 2^(n-1))].
  std::chrono::milliseconds backoff();

 private:
  const RetryPolicy& policy_;
  RandomGenerator& random_;
  uint32_t taken_ = 0;
};

}  // namespace remora::router
