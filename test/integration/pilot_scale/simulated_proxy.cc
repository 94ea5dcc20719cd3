#include "test/integration/pilot_scale/simulated_proxy.h"

#include "remora/config/cluster/v1/cluster.pb.h"
#include "remora/config/listener/v1/listener.pb.h"
#include "remora/extensions/filters/network/http_connection_manager/v1/http_connection_manager.pb.h"

namespace remora::test {
namespace {

using service::discovery::v1::DeltaDiscoveryRequest;
using service::discovery::v1::DeltaDiscoveryResponse;

constexpr const char* kClusterType = "type.googleapis.com/remora.config.cluster.v1.Cluster";
constexpr const char* kEndpointType =
    "type.googleapis.com/remora.config.endpoint.v1.ClusterLoadAssignment";
constexpr const char* kListenerType = "type.googleapis.com/remora.config.listener.v1.Listener";
constexpr const char* kRouteType = "type.googleapis.com/remora.config.route.v1.RouteConfiguration";

// The ClusterLoadAssignment an EDS cluster reads ("" for other clusters).
std::string edsName(const google::protobuf::Any& any) {
  config::cluster::v1::Cluster cluster;
  if (!any.UnpackTo(&cluster) || cluster.type() != config::cluster::v1::Cluster::EDS) return "";
  const std::string& service = cluster.eds_cluster_config().service_name();
  return service.empty() ? cluster.name() : service;
}

// The route configurations a listener's HTTP connection managers name.
void rdsNames(const google::protobuf::Any& any, std::set<std::string>& out) {
  config::listener::v1::Listener listener;
  if (!any.UnpackTo(&listener)) return;
  for (const auto& chain : listener.filter_chains()) {
    for (const auto& filter : chain.filters()) {
      extensions::filters::network::http_connection_manager::v1::HttpConnectionManager hcm;
      if (filter.typed_config().UnpackTo(&hcm) && hcm.has_rds()) {
        out.insert(hcm.rds().route_config_name());
      }
    }
  }
}

}  // namespace

SimulatedProxy::SimulatedProxy(std::shared_ptr<grpc::Channel> channel, config::core::v1::Node node,
                               ChangeProbe& probe)
    : stub_(service::discovery::v1::AggregatedDiscoveryService::NewStub(channel)),
      node_(std::move(node)),
      probe_(probe) {}

void SimulatedProxy::start() {
  stub_->async()->DeltaAggregatedResources(&context_, this);
  for (const char* type : {kClusterType, kListenerType}) {
    DeltaDiscoveryRequest request;
    request.set_type_url(type);
    send(std::move(request));
  }
  StartRead(&incoming_);
  StartCall();
}

Clock::time_point SimulatedProxy::fullConfigAt() const {
  std::lock_guard<std::mutex> guard(lock_);
  return full_config_at_;
}

bool SimulatedProxy::subscribes(const std::string& type_url, const std::string& name) const {
  std::lock_guard<std::mutex> guard(lock_);
  if (type_url == kEndpointType) return eds_names_.count(name) > 0;
  if (type_url == kRouteType) return rds_names_.count(name) > 0;
  return true;  // wildcard types
}

ProbeResult SimulatedProxy::probeResult() const {
  std::lock_guard<std::mutex> guard(lock_);
  return probe_result_;
}

void SimulatedProxy::OnReadDone(bool ok) {
  if (!ok) return;  // the stream ended; OnDone follows
  handle(incoming_);
  incoming_.Clear();
  StartRead(&incoming_);
}

void SimulatedProxy::handle(const DeltaDiscoveryResponse& response) {
  ++responses_;
  const std::string& type = response.type_url();
  std::set<std::string> eds_before, eds_after, rds_before, rds_after;
  // Clusters and listeners are wildcard: a delta names only what changed, so the EDS and RDS
  // interest is kept per resource. Only their responses change it: copying the names for
  // every response (20,000 at 10,000 services) made the load generator, not pilot, the slow
  // part of an EndpointSlice change to 1,000 proxies.
  if (type == kClusterType || type == kListenerType) {
    std::lock_guard<std::mutex> guard(lock_);
    eds_before = eds_names_;
    rds_before = rds_names_;
    std::set<std::string>& names = type == kClusterType ? eds_names_ : rds_names_;
    for (const auto& resource : response.resources()) {
      if (type == kClusterType) {
        std::string eds = edsName(resource.resource());
        if (!eds.empty()) names.insert(eds);
      } else {
        rdsNames(resource.resource(), names);
      }
    }
    // A removed cluster is named like its assignment; route names of removed listeners stay
    // subscribed (harmless for a benchmark: pilot sends nothing for them).
    if (type == kClusterType) {
      for (const auto& removed : response.removed_resources()) names.erase(removed);
    }
    eds_after = eds_names_;
    rds_after = rds_names_;
  }
  DeltaDiscoveryRequest ack;
  ack.set_type_url(type);
  ack.set_response_nonce(response.nonce());
  Clock::time_point now = Clock::now();
  {
    std::lock_guard<std::mutex> guard(lock_);
    acked_types_.insert(type);
    bool full = acked_types_.count(kClusterType) && acked_types_.count(kListenerType) &&
                (eds_names_.empty() || acked_types_.count(kEndpointType)) &&
                (rds_names_.empty() || acked_types_.count(kRouteType));
    if (full && !full_config_) {
      full_config_at_ = now;
      full_config_ = true;
    }
    std::lock_guard<std::mutex> probe_guard(probe_.lock);
    if (probe_.type_url == type && probe_result_.generation != probe_.generation &&
        now >= probe_.since) {
      bool carries = false;
      for (const auto& resource : response.resources()) carries |= resource.name() == probe_.name;
      for (const auto& removed : response.removed_resources()) carries |= removed == probe_.name;
      if (carries) {
        probe_result_ = ProbeResult{
            probe_.generation, now, response.ByteSizeLong(),
            static_cast<size_t>(response.resources_size() + response.removed_resources_size())};
      }
    }
  }
  send(std::move(ack));
  if (type == kClusterType) resubscribe(kEndpointType, eds_before, eds_after);
  if (type == kListenerType) resubscribe(kRouteType, rds_before, rds_after);
}

void SimulatedProxy::resubscribe(const std::string& type_url, const std::set<std::string>& before,
                                 const std::set<std::string>& after) {
  DeltaDiscoveryRequest request;
  request.set_type_url(type_url);
  for (const auto& name : after) {
    if (!before.count(name)) request.add_resource_names_subscribe(name);
  }
  for (const auto& name : before) {
    if (!after.count(name)) request.add_resource_names_unsubscribe(name);
  }
  if (request.resource_names_subscribe_size() + request.resource_names_unsubscribe_size() > 0) {
    send(std::move(request));
  }
}

void SimulatedProxy::send(DeltaDiscoveryRequest request) {
  std::lock_guard<std::mutex> guard(lock_);
  if (!node_sent_) {
    *request.mutable_node() = node_;
    node_sent_ = true;
  }
  outgoing_.push_back(std::move(request));
  if (writing_) return;
  writing_ = true;
  StartWrite(&outgoing_.front());
}

void SimulatedProxy::OnWriteDone(bool ok) {
  std::lock_guard<std::mutex> guard(lock_);
  outgoing_.pop_front();
  if (!ok || outgoing_.empty()) {
    writing_ = false;
    return;
  }
  StartWrite(&outgoing_.front());
}

void SimulatedProxy::OnDone(const grpc::Status&) { finished_ = true; }

}  // namespace remora::test
