#pragma once

// One proxy's discovery stream as pilot serves it, whatever carries the messages: what the
// proxy asked for, what it was sent, ACK and NACK bookkeeping (/debug/syncz, metrics), and the
// identity recheck before each push. DeltaSession and SotwSession add the two protocols'
// requests and responses.
//
// Not thread safe: one thread at a time (the push pool runs a stream on one worker at once).
// Registered in the cache's proxy registry for its whole life.

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>

#include "remora/config/core/v1/base.pb.h"
#include "source/pilot/name_set.h"
#include "source/pilot/snapshot_cache.h"
#include "source/pilot/xds_auth/stream_authenticator.h"

namespace remora::pilot {

// Type URLs, and what each protocol sends in which order.
extern const std::string kClusterType;
extern const std::string kEndpointType;
extern const std::string kListenerType;
extern const std::string kRouteType;
// Make before break: what a listener or route names is sent before it.
extern const std::vector<std::string> kPushOrder;
bool knownType(const std::string& type);
// Clusters and listeners are sent whole to every proxy; endpoints and routes by name.
bool wildcardType(const std::string& type);
// The layers of a known `type` in `resources`.
const std::vector<ResourceMapPtr>& layersOf(const ProxyResources& resources,
                                            const std::string& type);
std::string shortType(const std::string& type);

class DiscoverySession {
 public:
  struct Context {
    SnapshotCache& cache;
    NameSetTable& name_sets;
    // Null on the plaintext port; then `identity` is empty.
    const xds_auth::StreamAuthenticator* authenticator;
    std::optional<xds_auth::PeerIdentity> identity;
  };
  DiscoverySession(Context context, const char* mode);
  virtual ~DiscoverySession();
  DiscoverySession(const DiscoverySession&) = delete;
  DiscoverySession& operator=(const DiscoverySession&) = delete;

  // Whether the stream may go on being served (see StreamAuthenticator::recheck); checked
  // before each push. `server_context` is the stream's.
  grpc::Status recheck(const grpc::ServerContextBase& server_context) const;
  // Whether there is something to serve yet: the node is known and pilot has a configuration
  // (nothing is pushed before the first complete one: an empty mesh would cut the proxy off
  // from every service).
  bool servable() const { return have_node_ && context_.cache.generation() > 0; }

 protected:
  // The first node seen: registered for /debug/syncz and logged.
  void learnNode(const config::core::v1::Node& node, const char* protocol);
  // A request's response_nonce and error_detail: an ACK (`acked_version`, empty: the version
  // sent with that nonce) or a NACK.
  void recordReply(const std::string& type, const std::string& nonce, const std::string& error,
                   bool is_nack, const std::string& acked_version);
  void recordPush(const std::string& type, const std::string& version, const std::string& nonce);
  std::string nextNonce() { return std::to_string(++nonce_); }

  Context context_;
  uint64_t proxy_id_;
  config::core::v1::Node node_;
  std::string key_;  // "namespace/pod": which configuration this proxy gets

 private:
  bool have_node_ = false;
  uint64_t nonce_ = 0;
};

}  // namespace remora::pilot
