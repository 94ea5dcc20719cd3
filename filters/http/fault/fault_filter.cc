#include "filters/http/fault/fault_filter.h"

#include "source/common/router/route_entry.h"

namespace remora::filters::fault {

bool FaultFilter::chosen(uint32_t per_million) {
  return per_million > 0 && callbacks_->random() % 1000000 < per_million;
}

http::FilterStatus FaultFilter::decodeHeaders(http::HeaderMap&, bool) {
  const auto* route = callbacks_->route();
  const auto* fault = route ? route->fault() : nullptr;
  if (fault == nullptr) return http::FilterStatus::kContinue;
  if (fault->delay.count() > 0 && chosen(fault->delay_per_million)) {
    stats_.delays->inc();
    callbacks_->streamInfo().setFlag(http::ResponseFlag::kDelayInjected);
    delaying_ = true;
    timer_ = callbacks_->dispatcher().createTimer([this] {
      delaying_ = false;
      if (!maybeAbort()) callbacks_->continueDecoding();
    });
    timer_->enable(fault->delay);
    return http::FilterStatus::kStop;
  }
  return maybeAbort() ? http::FilterStatus::kStop : http::FilterStatus::kContinue;
}

bool FaultFilter::maybeAbort() {
  const auto* route = callbacks_->route();
  const auto* fault = route ? route->fault() : nullptr;
  if (fault == nullptr || !chosen(fault->abort_per_million)) return false;
  stats_.aborts->inc();
  if (fault->abort_grpc_status != 0) {
    // A trailers-only gRPC response: the status travels in the headers.
    auto headers = std::make_unique<http::HeaderMap>();
    headers->add(":status", "200");
    headers->add("content-type", "application/grpc");
    headers->add("grpc-status", std::to_string(fault->abort_grpc_status));
    headers->add("grpc-message", "fault filter abort");
    callbacks_->streamInfo().setFlag(http::ResponseFlag::kFaultInjected);
    callbacks_->encodeHeaders(std::move(headers), true);
    return true;
  }
  callbacks_->sendLocalReply(fault->abort_http_status, "fault filter abort", "fault_filter_abort",
                             http::ResponseFlag::kFaultInjected);
  return true;
}

}  // namespace remora::filters::fault
