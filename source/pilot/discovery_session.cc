#include "source/pilot/discovery_session.h"

#include "source/common/common/logger.h"

namespace remora::pilot {
namespace {

void log(const std::string& line) { REMORA_LOG(info, "%s", line.c_str()); }

}  // namespace

const std::string kClusterType = "type.googleapis.com/remora.config.cluster.v1.Cluster";
const std::string kEndpointType =
    "type.googleapis.com/remora.config.endpoint.v1.ClusterLoadAssignment";
const std::string kListenerType = "type.googleapis.com/remora.config.listener.v1.Listener";
const std::string kRouteType = "type.googleapis.com/remora.config.route.v1.RouteConfiguration";
const std::vector<std::string> kPushOrder = {kClusterType, kEndpointType, kListenerType,
                                             kRouteType};

bool knownType(const std::string& type) {
  return type == kClusterType || type == kEndpointType || type == kListenerType ||
         type == kRouteType;
}

bool wildcardType(const std::string& type) { return type == kClusterType || type == kListenerType; }

const std::vector<ResourceMapPtr>& layersOf(const ProxyResources& resources,
                                            const std::string& type) {
  if (type == kClusterType) return resources.clusters;
  if (type == kEndpointType) return resources.endpoints;
  if (type == kListenerType) return resources.listeners;
  return resources.routes;
}

std::string shortType(const std::string& type) { return type.substr(type.rfind('.') + 1); }

DiscoverySession::DiscoverySession(Context context, const char* mode)
    : context_(std::move(context)), proxy_id_(context_.cache.addProxy(mode)) {}

DiscoverySession::~DiscoverySession() {
  context_.cache.removeProxy(proxy_id_);
  log("proxy stream (" + key_ + ") closed");
}

grpc::Status DiscoverySession::recheck(const grpc::ServerContextBase& server_context) const {
  if (context_.authenticator == nullptr || !context_.identity || !have_node_) {
    return grpc::Status::OK;
  }
  return context_.authenticator->recheck(server_context, *context_.identity, node_);
}

void DiscoverySession::learnNode(const config::core::v1::Node& node, const char* protocol) {
  if (have_node_) return;
  have_node_ = true;
  node_ = node;
  std::string ns = node.namespace_().empty() ? "default" : node.namespace_();
  context_.cache.withProxy(proxy_id_, [&](auto& p) {
    p.node_id = node.id();
    p.ns = ns;
  });
  log("proxy " + node.id() + " connected (namespace " + ns +
      (node.workload().empty() ? "" : ", pod " + node.workload()) + ", " + protocol +
      (context_.identity ? ", TLS as " + context_.identity->id.toString() : ", plaintext") + ")");
  // The cache key: resources depend on the namespace and, for the inbound side, the pod.
  key_ = ns + "/" + node.workload();
}

void DiscoverySession::recordReply(const std::string& type, const std::string& nonce,
                                   const std::string& error, bool is_nack,
                                   const std::string& acked_version) {
  if (nonce.empty()) return;
  std::string short_type = shortType(type);
  context_.cache.withProxy(proxy_id_, [&](auto& p) {
    auto& status = p.types[short_type];
    if (is_nack) {
      status.last_nack = error;
      ++status.nacks;
    } else if (nonce == status.sent_nonce) {
      status.acked_version = acked_version.empty() ? status.sent_version : acked_version;
    }
  });
  if (is_nack) {
    context_.cache.countNack(short_type);
    log("proxy " + key_ + " NACKed " + short_type + ": " + error);
  }
}

void DiscoverySession::recordPush(const std::string& type, const std::string& version,
                                  const std::string& nonce) {
  std::string short_type = shortType(type);
  context_.cache.countPush(short_type);
  context_.cache.withProxy(proxy_id_, [&](auto& p) {
    auto& status = p.types[short_type];
    status.sent_version = version;
    status.sent_nonce = nonce;
    ++status.pushes;
  });
}

}  // namespace remora::pilot
