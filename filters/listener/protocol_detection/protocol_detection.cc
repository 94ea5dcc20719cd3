#include "filters/listener/protocol_detection/protocol_detection.h"

#include <google/protobuf/util/time_util.h>
#include <sys/socket.h>

#include <cerrno>

#include "filters/listener/protocol_detection/protocol_sniffer.h"
#include "remora/extensions/filters/listener/protocol_detection/v1/protocol_detection.pb.h"
#include "source/common/config/registry.h"
#include "source/interface/config/filter_factory.h"

namespace remora::filters::protocol_detection {

network::ListenerFilterStatus ProtocolDetectionFilter::onAccept(
    network::ListenerFilterCallbacks& callbacks) {
  callbacks_ = &callbacks;
  auto& socket = callbacks.socket();
  if (config_->opaque_ports.count(socket.localAddress().port()) != 0 ||
      !callbacks.filterChainDependsOnProtocol()) {
    config_->skipped->inc();
    socket.setDetectedTransportProtocol("raw_buffer");
    return network::ListenerFilterStatus::kContinue;
  }
  if (tryDecide(false)) return network::ListenerFilterStatus::kContinue;
  // Edge-triggered: woken when more bytes arrive, not while the peeked ones sit there.
  file_event_ = callbacks.dispatcher().createFileEvent(
      socket.fd(),
      [this](uint32_t) {
        if (tryDecide(false)) done();
      },
      event::kRead | event::kEdge);
  timer_ = callbacks.dispatcher().createTimer([this] {
    tryDecide(true);
    done();
  });
  timer_->enable(config_->timeout);
  return network::ListenerFilterStatus::kStop;
}

bool ProtocolDetectionFilter::tryDecide(bool final) {
  auto& socket = callbacks_->socket();
  char buffer[kMaxSniffBytes];
  ssize_t n;
  do {
    n = ::recv(socket.fd(), buffer, sizeof(buffer), MSG_PEEK);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN && !final) return false;
  // Peer closed or failed, buffer full, or time is up: decide on what there is.
  bool last = final || n <= 0 || static_cast<size_t>(n) == sizeof(buffer);
  SniffResult result = sniff(std::string_view(buffer, n > 0 ? static_cast<size_t>(n) : 0), last);
  switch (result.verdict) {
    case Verdict::kNeedMoreData:
      return false;
    case Verdict::kTls:
      config_->tls->inc();
      socket.setDetectedTransportProtocol("tls");
      socket.setRequestedServerName(std::move(result.server_name));
      socket.setDetectedApplicationProtocols(std::move(result.alpn));
      return true;
    case Verdict::kHttp1:
      config_->http1->inc();
      socket.setDetectedTransportProtocol("raw_buffer");
      socket.setDetectedApplicationProtocols({result.http_version});
      return true;
    case Verdict::kHttp2:
      config_->h2c->inc();
      socket.setDetectedTransportProtocol("raw_buffer");
      socket.setDetectedApplicationProtocols({"h2c"});
      return true;
    case Verdict::kOpaque:
      (final ? config_->timeout_opaque : config_->opaque)->inc();
      socket.setDetectedTransportProtocol("raw_buffer");
      return true;
  }
  return true;
}

void ProtocolDetectionFilter::done() {
  // We may be inside either callback: stop both rather than destroy them here (they go with
  // the filter). The connection then makes its own event on this fd.
  if (file_event_) file_event_->setEnabled(0);
  if (timer_) timer_->disable();
  callbacks_->continueFilterChain(true);
}

namespace {

using ProtoConfig = extensions::filters::listener::protocol_detection::v1::ProtocolDetection;

class ProtocolDetectionConfigFactory : public config::ListenerFilterConfigFactory {
 public:
  std::string name() const override { return "remora.filters.listener.protocol_detection"; }
  std::unique_ptr<google::protobuf::Message> createEmptyConfig() const override {
    return std::make_unique<ProtoConfig>();
  }
  network::ListenerFilterFactoryCb createFilterFactory(const google::protobuf::Message& message,
                                                       const std::string& path,
                                                       config::FactoryContext& context,
                                                       config::Errors& errors) const override {
    const auto& proto = static_cast<const ProtoConfig&>(message);
    auto config = std::make_shared<DetectionConfig>();
    if (proto.has_timeout()) {
      int64_t ms = google::protobuf::util::TimeUtil::DurationToMilliseconds(proto.timeout());
      if (ms <= 0 || ms > 60000) {
        errors.add(path + ".timeout", "must be between 1ms and 60s");
        return nullptr;
      }
      config->timeout = std::chrono::milliseconds(ms);
    }
    for (int i = 0; i < proto.opaque_ports_size(); ++i) {
      if (proto.opaque_ports(i) == 0 || proto.opaque_ports(i) > 65535) {
        errors.add(path + ".opaque_ports[" + std::to_string(i) + "]", "must be 1..65535");
        return nullptr;
      }
      config->opaque_ports.insert(proto.opaque_ports(i));
    }
    if (proto.inspect_all_ports()) {
      config->opaque_ports.clear();
    } else if (proto.opaque_ports_size() == 0) {
      config->opaque_ports = {25, 587, 3306, 5432, 6379, 9300, 11211};
    }
    auto& store = context.stats();
    auto counter = [&](const char* result) {
      return &store.counter("remora_protocol_detection_total",
                            "Connections by what protocol detection found (timeout: nothing "
                            "decisive in time, handled as opaque; skipped: not inspected).",
                            {{"listener", context.listenerName()}, {"result", result}});
    };
    config->tls = counter("tls");
    config->http1 = counter("http1");
    config->h2c = counter("h2c");
    config->opaque = counter("opaque");
    config->timeout_opaque = counter("timeout");
    config->skipped = counter("skipped");
    return [config] { return std::make_unique<ProtocolDetectionFilter>(config); };
  }
};

const config::RegisterFactory<ProtocolDetectionConfigFactory, config::ListenerFilterConfigFactory>
    registered;

}  // namespace
}  // namespace remora::filters::protocol_detection
