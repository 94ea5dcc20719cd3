#pragma once

// A delta (incremental) discovery stream: per type a DeltaSubscription (the names asked for,
// the layers last sent); each push sends, in make-before-break order, only the resources that
// changed and the names removed.

#include <map>
#include <vector>

#include "remora/service/discovery/v1/discovery.pb.h"
#include "source/pilot/delta_subscription.h"
#include "source/pilot/discovery_session.h"

namespace remora::pilot {

class DeltaSession : public DiscoverySession {
 public:
  using Request = service::discovery::v1::DeltaDiscoveryRequest;
  using Response = service::discovery::v1::DeltaDiscoveryResponse;

  explicit DeltaSession(Context context) : DiscoverySession(std::move(context), "delta") {}

  void onRequest(const Request& request);
  // What to send now (nothing when the proxy is up to date), appended to `out`.
  void push(std::vector<Response>& out);

 private:
  std::map<std::string, DeltaSubscription> types_;  // by type URL
};

}  // namespace remora::pilot
