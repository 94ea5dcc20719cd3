#include "source/pilot/sotw_session.h"

namespace remora::pilot {

void SotwSession::onRequest(const Request& request) {
  if (request.has_node()) learnNode(request.node(), "state of the world");
  const std::string& type = request.type_url();
  if (!knownType(type)) return;
  SotwSubscription& subscription =
      types_.try_emplace(type, context_.name_sets, wildcardType(type)).first->second;
  recordReply(type, request.response_nonce(), request.error_detail().message(),
              request.has_error_detail(), request.version_info());
  // Every request repeats its names (20,000 endpoint names at 10,000 services): copied and
  // sorted only when they are not the current ones as they stand.
  const auto& names = request.resource_names();
  if (!subscription.hasNames(names.begin(), names.end())) {
    subscription.setNames({names.begin(), names.end()});
  }
}

void SotwSession::push(std::vector<Response>& out) {
  if (!servable()) return;
  uint64_t generation;
  auto resources = context_.cache.proxyResources(key_, generation);
  for (const auto& type : kPushOrder) {
    auto it = types_.find(type);
    if (it == types_.end()) continue;
    auto next = it->second.next(layersOf(*resources, type));
    if (!next) continue;
    Response& response = out.emplace_back();
    for (const Resource* resource : next->resources) *response.add_resources() = resource->any;
    response.set_version_info(next->version);
    response.set_type_url(type);
    response.set_nonce(nextNonce());
    recordPush(type, next->version, response.nonce());
  }
}

}  // namespace remora::pilot
