#include "source/common/config/ads_client.h"

#include <google/protobuf/arena.h>
#include <google/protobuf/util/time_util.h>
#include <malloc.h>

#include "source/common/common/logger.h"

namespace remora::config {
namespace {

using google::protobuf::util::TimeUtil;
using service::discovery::v1::DeltaDiscoveryRequest;
using service::discovery::v1::DeltaDiscoveryResponse;
using service::discovery::v1::DiscoveryRequest;
using service::discovery::v1::DiscoveryResponse;

constexpr const char* kSotwPath =
    "/remora.service.discovery.v1.AggregatedDiscoveryService/StreamAggregatedResources";
constexpr const char* kDeltaPath =
    "/remora.service.discovery.v1.AggregatedDiscoveryService/DeltaAggregatedResources";
constexpr int kInvalidArgument = 3;
// Responses at least this large are followed by malloc_trim (see onMessage).
constexpr size_t kTrimAfterBytes = 256 << 10;
// How often a TLS transport without its first certificate is looked at again. The identity
// agent usually has it within a round trip to the CA.
constexpr auto kTransportPoll = std::chrono::milliseconds(100);

std::chrono::milliseconds durationOr(bool has, const google::protobuf::Duration& d,
                                     std::chrono::milliseconds fallback) {
  return has ? std::chrono::milliseconds(TimeUtil::DurationToMilliseconds(d)) : fallback;
}

std::string shortType(const std::string& type_url) {
  return type_url.substr(type_url.rfind('.') + 1);
}

}  // namespace

AdsClient::AdsClient(event::Dispatcher& dispatcher, const core::v1::ApiConfigSource& source,
                     const core::v1::Node& node, SubscriptionCallbacks& callbacks,
                     stats::Store& store, RandomGenerator& random, GrpcStreamOptions stream_options)
    : dispatcher_(dispatcher),
      node_(node),
      callbacks_(callbacks),
      random_(random),
      delta_(source.api_type() == core::v1::ApiConfigSource::DELTA_GRPC),
      backoff_base_(durationOr(source.has_reconnect_base_interval(),
                               source.reconnect_base_interval(), std::chrono::milliseconds(500))),
      backoff_max_(durationOr(source.has_reconnect_max_interval(), source.reconnect_max_interval(),
                              std::chrono::milliseconds(10000))),
      stream_options_(std::move(stream_options)),
      store_(store) {
  const auto& sa = source.address().socket_address();
  address_ = network::Address::fromIpPort(sa.address(), static_cast<uint16_t>(sa.port_value()))
                 .value_or(network::Address());
  connected_ =
      &store.gauge("remora_xds_connected", "1 while the stream to the control plane is up.", {});
  reconnects_ = &store.counter("remora_xds_stream_closes_total",
                               "Streams to the control plane that ended (each is retried).", {});
}

AdsClient::~AdsClient() = default;

const std::vector<std::string>& AdsClient::typeOrder() {
  static const std::vector<std::string> order = {
      std::string(kClusterType), std::string(kEndpointType), std::string(kSecretType),
      std::string(kListenerType), std::string(kRouteType)};
  return order;
}

void AdsClient::start() {
  reconnect_timer_ = dispatcher_.createTimer([this] { connect(); });
  connect();
}

void AdsClient::connect() {
  if (stream_options_.transport && !stream_options_.transport->ready()) {
    if (!waiting_reported_) {
      REMORA_LOG(info, "xds: waiting for the workload certificate before connecting to %s",
                 address_.asString().c_str());
      waiting_reported_ = true;
    }
    reconnect_timer_->enable(kTransportPoll);
    return;
  }
  node_sent_ = false;
  for (auto& [type, state] : types_) state.asked = false;
  stream_ = std::make_unique<GrpcStream>(dispatcher_, address_, delta_ ? kDeltaPath : kSotwPath,
                                         *this, std::chrono::seconds(5), stream_options_);
  stream_->start();
}

void AdsClient::scheduleReconnect() {
  // Full jitter: uniform in [0, min(max, base * 2^attempt)).
  uint64_t ceiling = static_cast<uint64_t>(backoff_base_.count()) << std::min(attempt_, 16u);
  ceiling = std::min<uint64_t>(ceiling, static_cast<uint64_t>(backoff_max_.count()));
  ++attempt_;
  auto delay = std::chrono::milliseconds(ceiling == 0 ? 0 : random_.random() % ceiling);
  REMORA_LOG(info, "xds: reconnecting to %s in %lld ms", address_.asString().c_str(),
             static_cast<long long>(delay.count()));
  reconnect_timer_->enable(delay);
}

void AdsClient::onStreamReady() {
  connected_->set(1);
  REMORA_LOG(info, "xds: stream to %s up (%s, %s)", address_.asString().c_str(),
             delta_ ? "delta" : "state of the world",
             stream_options_.transport ? "TLS as the workload identity" : "plaintext");
  for (const auto& type : typeOrder()) {
    auto it = types_.find(type);
    if (it == types_.end() || (!it->second.wildcard && it->second.names.empty())) continue;
    sendRequest(type, it->second, "");
  }
}

void AdsClient::onStreamClosed(int status, const std::string& message) {
  connected_->set(0);
  reconnects_->inc();
  REMORA_LOG(warn, "xds: stream to %s closed (grpc-status %d: %s); serving the last config",
             address_.asString().c_str(), status, message.c_str());
  // Called from the stream's own posted report, whose last act this is.
  stream_.reset();
  scheduleReconnect();
}

void AdsClient::setInterest(std::string_view type_url, const std::set<std::string>& names,
                            bool wildcard) {
  TypeState& state = types_[std::string(type_url)];
  if (state.wildcard == wildcard && state.names == names && state.asked) return;
  state.wildcard = wildcard;
  state.names = names;
  state.interest_changed = true;
  if (!connected()) return;
  if (!state.asked && !wildcard && names.empty()) return;
  sendRequest(std::string(type_url), state, "");
}

void AdsClient::sendRequest(const std::string& type_url, TypeState& state,
                            const std::string& error) {
  if (!connected()) return;
  if (delta_) {
    DeltaDiscoveryRequest request;
    if (!node_sent_) *request.mutable_node() = node_;
    request.set_type_url(type_url);
    if (!state.asked) {
      // A new stream: everything wanted, and what is already held.
      if (!state.wildcard) {
        for (const auto& name : state.names) request.add_resource_names_subscribe(name);
      }
      for (const auto& [name, version] : state.delta_versions) {
        (*request.mutable_initial_resource_versions())[name] = version;
      }
      state.sent_names = state.names;
    } else {
      if (!state.nonce.empty()) {
        request.set_response_nonce(state.nonce);
        if (!error.empty()) {
          request.mutable_error_detail()->set_code(kInvalidArgument);
          request.mutable_error_detail()->set_message(error);
        }
        state.nonce.clear();
      }
      // Interest that changed since it was last sent goes along (only then: comparing the
      // sets costs as much as they are large).
      if (state.interest_changed) {
        for (const auto& name : state.names) {
          if (state.sent_names.count(name) == 0) request.add_resource_names_subscribe(name);
        }
        for (const auto& name : state.sent_names) {
          if (state.names.count(name) == 0) request.add_resource_names_unsubscribe(name);
        }
        state.sent_names = state.names;
      }
    }
    state.interest_changed = false;
    state.asked = true;
    node_sent_ = true;
    stream_->send(request);
    return;
  }
  DiscoveryRequest request;
  if (!node_sent_) *request.mutable_node() = node_;
  request.set_type_url(type_url);
  request.set_version_info(state.version);
  request.set_response_nonce(state.nonce);
  if (!state.wildcard) {
    for (const auto& name : state.names) request.add_resource_names(name);
  }
  if (!error.empty()) {
    request.mutable_error_detail()->set_code(kInvalidArgument);
    request.mutable_error_detail()->set_message(error);
  }
  state.asked = true;
  node_sent_ = true;
  stream_->send(request);
}

void AdsClient::onMessage(const std::string& bytes) {
  // Parsed on an arena: a push's thousands of transient messages then sit in a few large
  // blocks freed together, instead of in small chunks interleaved with the long-lived objects
  // the update creates (which would leave the heap fragmented and resident).
  google::protobuf::Arena arena;
  if (delta_) {
    auto* response = google::protobuf::Arena::CreateMessage<DeltaDiscoveryResponse>(&arena);
    if (!response->ParseFromString(bytes)) {
      REMORA_LOG(error, "xds: a DeltaDiscoveryResponse that does not decode; ignored");
      return;
    }
    onDeltaResponse(*response);
  } else {
    auto* response = google::protobuf::Arena::CreateMessage<DiscoveryResponse>(&arena);
    if (!response->ParseFromString(bytes)) {
      REMORA_LOG(error, "xds: a DiscoveryResponse that does not decode; ignored");
      return;
    }
    onSotwResponse(*response);
  }
  // A response made it through: the next break starts the backoff over.
  attempt_ = 0;
  // A large push leaves megabytes of parsed copies freed inside the heap, where glibc keeps
  // them; hand those pages back so resident memory reflects the config actually held.
  if (bytes.size() >= kTrimAfterBytes) malloc_trim(0);
}

void AdsClient::onSotwResponse(const DiscoveryResponse& response) {
  const std::string& type = response.type_url();
  auto it = types_.find(type);
  UpdateOutcome outcome;
  if (it == types_.end() || (!it->second.wildcard && it->second.names.empty())) {
    REMORA_LOG(warn, "xds: response for %s, which was not asked for; ignored", type.c_str());
    return;
  }
  TypeState& state = it->second;
  std::vector<const google::protobuf::Any*> resources;
  resources.reserve(response.resources_size());
  for (const auto& resource : response.resources()) resources.push_back(&resource);
  for (const auto& resource : response.resources()) {
    if (resource.type_url() != type) {
      outcome.errors.add("resource of type " + resource.type_url(),
                         "does not match the response's type_url " + type);
    }
  }
  std::vector<DecodedResource> upserts;
  std::vector<std::string> removed;
  if (outcome.errors.empty()) {
    state.tracker.diff(resources, shortType(type), upserts, removed, outcome);
    // Named types list only what was asked; what was not sent is not removed.
    if (!state.wildcard) removed.clear();
    if (!upserts.empty() || !removed.empty()) {
      callbacks_.onResourceUpdate(type, upserts, removed, outcome);
    }
    state.tracker.commit(upserts, removed, outcome);
  }
  auto& counter = store_.counter(
      "remora_xds_updates_total", "Responses from the control plane, ACKed or NACKed, by type.",
      {{"type", shortType(type)}, {"result", outcome.errors.empty() ? "ack" : "nack"}});
  counter.inc();
  state.nonce = response.nonce();
  if (outcome.errors.empty()) {
    state.version = response.version_info();
    state.last_error.clear();
    REMORA_LOG(info, "xds: %s version \"%s\" applied (%zu changed, %zu removed)",
               shortType(type).c_str(), state.version.c_str(), upserts.size(), removed.size());
    sendRequest(type, state, "");
  } else {
    state.last_error = outcome.errors.joined();
    REMORA_LOG(error, "xds: %s version \"%s\" rejected (keeping \"%s\" for what failed):\n%s",
               shortType(type).c_str(), response.version_info().c_str(), state.version.c_str(),
               state.last_error.c_str());
    sendRequest(type, state, state.last_error);
  }
}

void AdsClient::onDeltaResponse(const DeltaDiscoveryResponse& response) {
  const std::string& type = response.type_url();
  auto it = types_.find(type);
  if (it == types_.end()) {
    REMORA_LOG(warn, "xds: response for %s, which was not asked for; ignored", type.c_str());
    return;
  }
  TypeState& state = it->second;
  UpdateOutcome outcome;
  std::vector<DecodedResource> upserts;
  for (int i = 0; i < response.resources_size(); ++i) {
    const auto& resource = response.resources(i);
    std::string path = shortType(type) + "[" + std::to_string(i) + "]";
    auto name = resourceName(resource.resource());
    if (resource.resource().type_url() != type || !name) {
      outcome.errors.add(path, "not a decodable " + type);
      continue;
    }
    if (!resource.name().empty() && resource.name() != *name) {
      outcome.reject(*name, path, "named \"" + resource.name() + "\" but holds \"" + *name + "\"");
      continue;
    }
    std::string version =
        resource.version().empty() ? contentVersion(resource.resource()) : resource.version();
    upserts.push_back(DecodedResource{*name, version, &resource.resource()});
  }
  std::vector<std::string> removed(response.removed_resources().begin(),
                                   response.removed_resources().end());
  if (!upserts.empty() || !removed.empty()) {
    callbacks_.onResourceUpdate(type, upserts, removed, outcome);
  }
  for (const auto& name : removed) state.delta_versions.erase(name);
  for (const auto& resource : upserts) {
    if (outcome.rejected.count(resource.name) == 0) {
      state.delta_versions[resource.name] = resource.version;
    }
  }
  store_
      .counter("remora_xds_updates_total",
               "Responses from the control plane, ACKed or NACKed, by type.",
               {{"type", shortType(type)}, {"result", outcome.errors.empty() ? "ack" : "nack"}})
      .inc();
  state.nonce = response.nonce();
  if (outcome.errors.empty()) {
    state.version = response.system_version_info();
    state.last_error.clear();
    REMORA_LOG(info, "xds: %s delta applied (%zu changed, %zu removed)", shortType(type).c_str(),
               upserts.size(), removed.size());
    sendRequest(type, state, "");
  } else {
    state.last_error = outcome.errors.joined();
    REMORA_LOG(error, "xds: %s delta rejected in part:\n%s", shortType(type).c_str(),
               state.last_error.c_str());
    sendRequest(type, state, state.last_error);
  }
}

std::map<std::string, AdsClient::TypeStatus> AdsClient::status() const {
  std::map<std::string, TypeStatus> out;
  for (const auto& [type, state] : types_) {
    out[type] = TypeStatus{state.version, state.nonce, state.last_error};
  }
  return out;
}

}  // namespace remora::config
