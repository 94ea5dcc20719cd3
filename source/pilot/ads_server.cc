#include "source/pilot/ads_server.h"

#include <cstdio>
#include <deque>
#include <thread>

#include "source/pilot/delta_subscription.h"
#include "source/pilot/sotw_subscription.h"

namespace remora::pilot {
namespace {

using service::discovery::v1::DeltaDiscoveryRequest;
using service::discovery::v1::DeltaDiscoveryResponse;
using service::discovery::v1::DiscoveryRequest;
using service::discovery::v1::DiscoveryResponse;

const std::string kClusterType = "type.googleapis.com/remora.config.cluster.v1.Cluster";
const std::string kEndpointType =
    "type.googleapis.com/remora.config.endpoint.v1.ClusterLoadAssignment";
const std::string kListenerType = "type.googleapis.com/remora.config.listener.v1.Listener";
const std::string kRouteType = "type.googleapis.com/remora.config.route.v1.RouteConfiguration";
// Make before break: what a listener or route names is sent before it.
const std::vector<std::string> kOrder = {kClusterType, kEndpointType, kListenerType, kRouteType};

std::string shortType(const std::string& type) { return type.substr(type.rfind('.') + 1); }

// Clusters and listeners are sent whole to every proxy; endpoints and routes by name.
bool wildcardType(const std::string& type) { return type == kClusterType || type == kListenerType; }

// The layers of `type` in `r`; null for a type pilot does not serve.
const std::vector<ResourceMapPtr>* layersOf(const ProxyResources& r, const std::string& type) {
  if (type == kClusterType) return &r.clusters;
  if (type == kEndpointType) return &r.endpoints;
  if (type == kListenerType) return &r.listeners;
  if (type == kRouteType) return &r.routes;
  return nullptr;
}

bool knownType(const std::string& type) {
  return type == kClusterType || type == kEndpointType || type == kListenerType ||
         type == kRouteType;
}

std::vector<std::string> toVector(const google::protobuf::RepeatedPtrField<std::string>& names) {
  return {names.begin(), names.end()};
}

void log(const std::string& line) { std::fprintf(stderr, "[pilot] %s\n", line.c_str()); }

// Requests read on their own thread, handed to the stream's handler.
template <class Request>
class RequestQueue {
 public:
  explicit RequestQueue(SnapshotCache& cache) : cache_(cache) {}
  void push(Request request) {
    {
      std::lock_guard<std::mutex> guard(lock_);
      queue_.push_back(std::move(request));
    }
    cache_.wake();
  }
  void close() {
    {
      std::lock_guard<std::mutex> guard(lock_);
      closed_ = true;
    }
    cache_.wake();
  }
  bool take(std::deque<Request>& out) {
    std::lock_guard<std::mutex> guard(lock_);
    out.swap(queue_);
    return !closed_;
  }

 private:
  SnapshotCache& cache_;
  std::mutex lock_;
  std::deque<Request> queue_;
  bool closed_ = false;
};

}  // namespace

template <class Request, class Stream>
grpc::Status AdsService::openStream(grpc::ServerContext* context, Stream* stream, Request& first,
                                    bool& have_first,
                                    std::optional<xds_auth::PeerIdentity>& identity) {
  if (authenticator_ != nullptr) {
    identity.emplace();
    if (auto status = authenticator_->authenticate(*context, *identity); !status.ok()) {
      return status;
    }
  }
  // Read here, before the reader thread exists: a refused stream must end with its status,
  // which a handler can return only while no other thread is blocked reading the stream.
  have_first = stream->Read(&first);
  if (!have_first || authenticator_ == nullptr) return grpc::Status::OK;
  return authenticator_->admit(*context, *identity, first.has_node() ? &first.node() : nullptr);
}

grpc::Status AdsService::recheck(grpc::ServerContext* context,
                                 const std::optional<xds_auth::PeerIdentity>& identity,
                                 const config::core::v1::Node& node) const {
  if (authenticator_ == nullptr || !identity) return grpc::Status::OK;
  return authenticator_->recheck(*context, *identity, node);
}

std::string AdsService::registerNode(uint64_t proxy, const config::core::v1::Node& node,
                                     const char* protocol,
                                     const std::optional<xds_auth::PeerIdentity>& identity) {
  std::string ns = node.namespace_().empty() ? "default" : node.namespace_();
  cache_.withProxy(proxy, [&](auto& p) {
    p.node_id = node.id();
    p.ns = ns;
  });
  log("proxy " + node.id() + " connected (namespace " + ns +
      (node.workload().empty() ? "" : ", pod " + node.workload()) + ", " + protocol +
      (identity ? ", TLS as " + identity->id.toString() : ", plaintext") + ")");
  // The cache key: resources depend on the namespace and, for the inbound side, the pod.
  return ns + "/" + node.workload();
}

grpc::Status AdsService::StreamAggregatedResources(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<DiscoveryResponse, DiscoveryRequest>* stream) {
  DiscoveryRequest first;
  bool have_first = false;
  std::optional<xds_auth::PeerIdentity> identity;
  if (auto status = openStream(context, stream, first, have_first, identity); !status.ok()) {
    return status;
  }
  if (!have_first) return grpc::Status::OK;
  uint64_t id = cache_.addProxy("sotw");
  RequestQueue<DiscoveryRequest> queue(cache_);
  queue.push(first);
  std::thread reader([&] {
    DiscoveryRequest request;
    while (stream->Read(&request)) queue.push(request);
    queue.close();
  });
  // By type URL: what the proxy asked for and was last sent.
  std::map<std::string, SotwSubscription> types;
  std::string key;  // "namespace/pod"
  config::core::v1::Node node;
  grpc::Status ending = grpc::Status::OK;
  bool have_node = false;
  uint64_t nonce = 0;
  uint64_t seen_generation = 0;
  bool open = true;
  while (open && !context->IsCancelled()) {
    std::deque<DiscoveryRequest> requests;
    open = queue.take(requests);
    for (const auto& request : requests) {
      if (!have_node && request.has_node()) {
        have_node = true;
        node = request.node();
        key = registerNode(id, node, "state of the world", identity);
      }
      const std::string& type = request.type_url();
      if (!knownType(type)) continue;
      SotwSubscription& subscription =
          types.try_emplace(type, name_sets_, wildcardType(type)).first->second;
      std::string short_type = shortType(type);
      if (!request.response_nonce().empty()) {
        cache_.withProxy(id, [&](auto& p) {
          auto& status = p.types[short_type];
          if (request.has_error_detail()) {
            status.last_nack = request.error_detail().message();
            ++status.nacks;
          } else if (request.response_nonce() == status.sent_nonce) {
            status.acked_version = request.version_info();
          }
        });
        if (request.has_error_detail()) {
          cache_.countNack(short_type);
          log("proxy " + key + " NACKed " + short_type + ": " + request.error_detail().message());
        }
      }
      subscription.setNames(toVector(request.resource_names()));
    }
    if (!open) break;
    // Nothing before the first complete configuration: an empty mesh pushed before the
    // Kubernetes source has synced would cut the proxy off from every service.
    if (have_node && cache_.generation() > 0) {
      // The pod may be gone or changed since the last push, the certificate expired: then
      // serve nothing more. The client sees the stream cancelled; its reconnect is refused.
      ending = recheck(context, identity, node);
      if (!ending.ok()) break;
      uint64_t generation;
      auto resources = cache_.proxyResources(key, generation);
      seen_generation = generation;
      for (const auto& type : kOrder) {
        auto it = types.find(type);
        if (it == types.end()) continue;
        auto next = it->second.next(*layersOf(*resources, type));
        if (!next) continue;
        DiscoveryResponse response;
        for (const Resource* resource : next->resources) *response.add_resources() = resource->any;
        response.set_version_info(next->version);
        response.set_type_url(type);
        response.set_nonce(std::to_string(++nonce));
        if (!stream->Write(response)) {
          open = false;
          break;
        }
        cache_.countPush(shortType(type));
        cache_.withProxy(id, [&](auto& p) {
          auto& status = p.types[shortType(type)];
          status.sent_version = next->version;
          status.sent_nonce = response.nonce();
          ++status.pushes;
        });
      }
    }
    if (open) cache_.wait(seen_generation, std::chrono::milliseconds(500));
  }
  context->TryCancel();
  reader.join();
  cache_.removeProxy(id);
  log("proxy stream (" + key + ") closed");
  return ending;
}

grpc::Status AdsService::DeltaAggregatedResources(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<DeltaDiscoveryResponse, DeltaDiscoveryRequest>* stream) {
  DeltaDiscoveryRequest first;
  bool have_first = false;
  std::optional<xds_auth::PeerIdentity> identity;
  if (auto status = openStream(context, stream, first, have_first, identity); !status.ok()) {
    return status;
  }
  if (!have_first) return grpc::Status::OK;
  uint64_t id = cache_.addProxy("delta");
  RequestQueue<DeltaDiscoveryRequest> queue(cache_);
  queue.push(first);
  std::thread reader([&] {
    DeltaDiscoveryRequest request;
    while (stream->Read(&request)) queue.push(request);
    queue.close();
  });
  // By type URL: the subscription and the layers last sent.
  std::map<std::string, DeltaSubscription> types;
  std::string key;  // "namespace/pod"
  config::core::v1::Node node;
  grpc::Status ending = grpc::Status::OK;
  bool have_node = false;
  uint64_t nonce = 0;
  uint64_t seen_generation = 0;
  bool open = true;
  while (open && !context->IsCancelled()) {
    std::deque<DeltaDiscoveryRequest> requests;
    open = queue.take(requests);
    for (const auto& request : requests) {
      if (!have_node && request.has_node()) {
        have_node = true;
        node = request.node();
        key = registerNode(id, node, "delta", identity);
      }
      const std::string& type = request.type_url();
      if (!knownType(type)) continue;
      std::string short_type = shortType(type);
      auto [it, first_of_type] = types.try_emplace(
          type, name_sets_, wildcardType(type) && request.resource_names_subscribe_size() == 0);
      DeltaSubscription& subscription = it->second;
      if (first_of_type && request.initial_resource_versions_size() > 0) {
        subscription.setInitialVersions({request.initial_resource_versions().begin(),
                                         request.initial_resource_versions().end()});
      }
      subscription.update(toVector(request.resource_names_subscribe()),
                          toVector(request.resource_names_unsubscribe()));
      if (!request.response_nonce().empty()) {
        cache_.withProxy(id, [&](auto& p) {
          auto& status = p.types[short_type];
          if (request.has_error_detail()) {
            status.last_nack = request.error_detail().message();
            ++status.nacks;
          } else if (request.response_nonce() == status.sent_nonce) {
            status.acked_version = status.sent_version;
          }
        });
        if (request.has_error_detail()) {
          cache_.countNack(short_type);
          log("proxy " + key + " NACKed " + short_type + ": " + request.error_detail().message());
        }
      }
    }
    if (!open) break;
    // Nothing before the first complete configuration: an empty mesh pushed before the
    // Kubernetes source has synced would cut the proxy off from every service.
    if (have_node && cache_.generation() > 0) {
      // The pod may be gone or changed since the last push, the certificate expired: then
      // serve nothing more. The client sees the stream cancelled; its reconnect is refused.
      ending = recheck(context, identity, node);
      if (!ending.ok()) break;
      uint64_t generation;
      auto resources = cache_.proxyResources(key, generation);
      seen_generation = generation;
      for (const auto& type : kOrder) {
        auto it = types.find(type);
        if (it == types.end()) continue;
        // Unchanged layers (the same objects) cost a pointer comparison each.
        DeltaSubscription::Push push = it->second.next(*layersOf(*resources, type));
        if (push.empty()) continue;
        DeltaDiscoveryResponse response;
        for (const Resource* resource : push.resources) {
          auto* out = response.add_resources();
          out->set_name(resource->name);
          out->set_version(resource->version);
          *out->mutable_resource() = resource->any;
        }
        for (auto& name : push.removed) response.add_removed_resources(std::move(name));
        response.set_type_url(type);
        response.set_system_version_info(std::to_string(generation));
        response.set_nonce(std::to_string(++nonce));
        if (!stream->Write(response)) {
          open = false;
          break;
        }
        cache_.countPush(shortType(type));
        cache_.withProxy(id, [&](auto& p) {
          auto& status = p.types[shortType(type)];
          status.sent_version = std::to_string(generation);
          status.sent_nonce = response.nonce();
          ++status.pushes;
        });
      }
    }
    if (open) cache_.wait(seen_generation, std::chrono::milliseconds(500));
  }
  context->TryCancel();
  reader.join();
  cache_.removeProxy(id);
  log("proxy stream (" + key + ") closed");
  return ending;
}

}  // namespace remora::pilot
