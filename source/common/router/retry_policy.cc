#include "source/common/router/retry_policy.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <charconv>
#include <string_view>

namespace remora::router {
namespace {

using google::protobuf::util::TimeUtil;

struct Condition {
  std::string_view name;
  uint32_t bit;
};
constexpr Condition kConditions[] = {
    {"5xx", RetryPolicy::k5xx},
    {"gateway-error", RetryPolicy::kGatewayError},
    {"connect-failure", RetryPolicy::kConnectFailure},
    {"reset", RetryPolicy::kReset},
    {"refused-stream", RetryPolicy::kRefusedStream},
    {"retriable-4xx", RetryPolicy::kRetriable4xx},
    {"retriable-status-codes", RetryPolicy::kRetriableStatusCodes},
    {"cancelled", RetryPolicy::kGrpcCancelled},
    {"deadline-exceeded", RetryPolicy::kGrpcDeadlineExceeded},
    {"internal", RetryPolicy::kGrpcInternal},
    {"resource-exhausted", RetryPolicy::kGrpcResourceExhausted},
    {"unavailable", RetryPolicy::kGrpcUnavailable},
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

std::optional<std::chrono::milliseconds> duration(const google::protobuf::Duration& d,
                                                  const std::string& path, config::Errors& errors) {
  if (d.seconds() < 0 || d.nanos() < 0) {
    errors.add(path, "must not be negative");
    return std::nullopt;
  }
  return std::chrono::milliseconds(TimeUtil::DurationToMilliseconds(d));
}

}  // namespace

std::optional<RetryPolicy> RetryPolicy::fromProto(const config::route::v1::RetryPolicy& proto,
                                                  const std::string& path, config::Errors& errors) {
  size_t errors_before = errors.lines().size();
  RetryPolicy policy;
  std::string_view list = proto.retry_on();
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view name = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? "" : list.substr(comma + 1);
    if (name.empty()) continue;
    auto it = std::find_if(std::begin(kConditions), std::end(kConditions),
                           [&](const Condition& c) { return c.name == name; });
    if (it == std::end(kConditions)) {
      errors.add(path + ".retry_on", "unknown condition \"" + std::string(name) + "\"");
      continue;
    }
    policy.retry_on |= it->bit;
  }
  if (proto.has_num_retries()) policy.num_retries = proto.num_retries().value();
  if (proto.has_per_try_timeout()) {
    if (auto d = duration(proto.per_try_timeout(), path + ".per_try_timeout", errors)) {
      policy.per_try_timeout = *d;
    }
  }
  for (int i = 0; i < proto.retriable_status_codes_size(); ++i) {
    uint32_t code = proto.retriable_status_codes(i);
    if (code < 100 || code > 599) {
      errors.add(path + ".retriable_status_codes[" + std::to_string(i) + "]",
                 "must be an HTTP status (100-599), got " + std::to_string(code));
    }
    policy.retriable_status_codes.push_back(code);
  }
  if ((policy.retry_on & kRetriableStatusCodes) && policy.retriable_status_codes.empty()) {
    errors.add(path + ".retriable_status_codes",
               "required when retry_on includes retriable-status-codes");
  }
  const auto& backoff = proto.retry_back_off();
  if (backoff.has_base_interval()) {
    auto d = duration(backoff.base_interval(), path + ".retry_back_off.base_interval", errors);
    if (d && d->count() == 0) {
      errors.add(path + ".retry_back_off.base_interval", "must be at least 1ms");
    } else if (d) {
      policy.base_interval = *d;
    }
  }
  policy.max_interval = policy.base_interval * 10;
  if (backoff.has_max_interval()) {
    auto d = duration(backoff.max_interval(), path + ".retry_back_off.max_interval", errors);
    if (d && *d < policy.base_interval) {
      errors.add(path + ".retry_back_off.max_interval", "must not be below base_interval");
    } else if (d) {
      policy.max_interval = *d;
    }
  }
  if (errors.lines().size() != errors_before) return std::nullopt;
  return policy;
}

bool RetryState::retriableResponse(const http::HeaderMap& response) const {
  uint32_t on = policy_.retry_on;
  uint32_t status = response.status();
  if ((on & RetryPolicy::k5xx) && status >= 500) return true;
  if ((on & RetryPolicy::kGatewayError) && (status == 502 || status == 503 || status == 504)) {
    return true;
  }
  if ((on & RetryPolicy::kRetriable4xx) && status == 409) return true;
  if ((on & RetryPolicy::kRetriableStatusCodes) &&
      std::find(policy_.retriable_status_codes.begin(), policy_.retriable_status_codes.end(),
                status) != policy_.retriable_status_codes.end()) {
    return true;
  }
  // gRPC failures arrive as HTTP 200 with grpc-status in a trailers-only response.
  if (auto grpc = response.get("grpc-status")) {
    int code = -1;
    std::from_chars(grpc->data(), grpc->data() + grpc->size(), code);
    if ((on & RetryPolicy::kGrpcCancelled) && code == 1) return true;
    if ((on & RetryPolicy::kGrpcDeadlineExceeded) && code == 4) return true;
    if ((on & RetryPolicy::kGrpcResourceExhausted) && code == 8) return true;
    if ((on & RetryPolicy::kGrpcInternal) && code == 13) return true;
    if ((on & RetryPolicy::kGrpcUnavailable) && code == 14) return true;
  }
  return false;
}

bool RetryState::retriableOutcome(TryOutcome outcome) const {
  uint32_t on = policy_.retry_on;
  switch (outcome) {
    case TryOutcome::kConnectFailure:
      return on & (RetryPolicy::kConnectFailure | RetryPolicy::kGatewayError | RetryPolicy::k5xx);
    case TryOutcome::kRefusedStream:
      return on & (RetryPolicy::kRefusedStream | RetryPolicy::kReset | RetryPolicy::k5xx);
    case TryOutcome::kReset:
      return on & (RetryPolicy::kReset | RetryPolicy::kGatewayError | RetryPolicy::k5xx);
    case TryOutcome::kPerTryTimeout:
      return on & (RetryPolicy::k5xx | RetryPolicy::kGatewayError);
  }
  return false;
}

bool RetryState::takeRetry() {
  if (taken_ >= policy_.num_retries) return false;
  ++taken_;
  return true;
}

std::chrono::milliseconds RetryState::backoff() {
  // Full jitter (AWS architecture blog): uniform between zero and the exponential ceiling.
  uint32_t shift = std::min<uint32_t>(taken_ > 0 ? taken_ - 1 : 0, 30);
  uint64_t ceiling = static_cast<uint64_t>(policy_.base_interval.count()) << shift;
  ceiling = std::min<uint64_t>(ceiling, static_cast<uint64_t>(policy_.max_interval.count()));
  if (ceiling == 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(random_.random() % (ceiling + 1));
}

}  // namespace remora::router
