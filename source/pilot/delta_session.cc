#include "source/pilot/delta_session.h"

namespace remora::pilot {
namespace {

std::vector<std::string> toVector(const google::protobuf::RepeatedPtrField<std::string>& names) {
  return {names.begin(), names.end()};
}

}  // namespace

void DeltaSession::onRequest(const Request& request) {
  if (request.has_node()) learnNode(request.node(), "delta");
  const std::string& type = request.type_url();
  if (!knownType(type)) return;
  auto [it, first_of_type] = types_.try_emplace(
      type, context_.name_sets, wildcardType(type) && request.resource_names_subscribe_size() == 0);
  DeltaSubscription& subscription = it->second;
  if (first_of_type && request.initial_resource_versions_size() > 0) {
    subscription.setInitialVersions(
        {request.initial_resource_versions().begin(), request.initial_resource_versions().end()});
  }
  subscription.update(toVector(request.resource_names_subscribe()),
                      toVector(request.resource_names_unsubscribe()));
  recordReply(type, request.response_nonce(), request.error_detail().message(),
              request.has_error_detail(), "");
}

void DeltaSession::push(std::vector<Response>& out) {
  if (!servable()) return;
  uint64_t generation;
  auto resources = context_.cache.proxyResources(key_, generation);
  for (const auto& type : kPushOrder) {
    auto it = types_.find(type);
    if (it == types_.end()) continue;
    // Unchanged layers (the same objects) cost a pointer comparison each.
    DeltaSubscription::Push push = it->second.next(layersOf(*resources, type));
    if (push.empty()) continue;
    Response& response = out.emplace_back();
    for (const Resource* resource : push.resources) {
      auto* added = response.add_resources();
      added->set_name(resource->name);
      added->set_version(resource->version);
      *added->mutable_resource() = resource->any;
    }
    for (auto& name : push.removed) response.add_removed_resources(std::move(name));
    response.set_type_url(type);
    response.set_system_version_info(std::to_string(generation));
    response.set_nonce(nextNonce());
    recordPush(type, response.system_version_info(), response.nonce());
  }
}

}  // namespace remora::pilot
