#pragma once

// A state-of-the-world discovery stream: per type a SotwSubscription; each push sends, in
// make-before-break order, every type whose version (over the served names and versions) or
// requested names changed, whole.

#include <map>
#include <vector>

#include "remora/service/discovery/v1/discovery.pb.h"
#include "source/pilot/discovery_session.h"
#include "source/pilot/sotw_subscription.h"

namespace remora::pilot {

class SotwSession : public DiscoverySession {
 public:
  using Request = service::discovery::v1::DiscoveryRequest;
  using Response = service::discovery::v1::DiscoveryResponse;

  explicit SotwSession(Context context) : DiscoverySession(std::move(context), "sotw") {}

  void onRequest(const Request& request);
  // What to send now (nothing when the proxy is up to date), appended to `out`.
  void push(std::vector<Response>& out);

 private:
  std::map<std::string, SotwSubscription> types_;  // by type URL
};

}  // namespace remora::pilot
