#pragma once

// The proxy's side of the aggregated discovery stream: one gRPC call to the control plane
// carrying every resource type, in state-of-the-world or delta (incremental) mode.
//
// - Asks for what the proxy's XdsManager wants (setInterest): listeners and clusters by
//   wildcard, endpoints and routes by name; interest changes are sent at once.
// - Every response is answered: an ACK echoes its version and nonce; a NACK echoes the nonce
//   with the last good version and error_detail naming every rejected resource and field.
//   Rejected resources keep their last good version (the XdsManager's rule); the others apply.
// - State of the world: a response carries all resources of its type; those missing are
//   removed (listeners and clusters) — the proxy's cost still follows what changed, since only
//   new or changed resources are applied.
// - When the stream breaks, the proxy keeps serving what it has and reconnects after a
//   full-jitter exponential backoff; on the new stream it asks again (delta mode: telling the
//   versions it has, so nothing is sent twice).
// - Over TLS (a transport in the stream options, e.g. the workload identity's): no connection
//   is tried before the transport is ready (its first certificate arrived); each connection
//   uses the transport's current certificate.

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "remora/config/core/v1/base.pb.h"
#include "remora/service/discovery/v1/discovery.pb.h"
#include "source/common/config/grpc_stream.h"
#include "source/common/config/xds_resource.h"
#include "source/interface/common/random.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/stats/stats.h"

namespace remora::config {

class AdsClient : public ResourceInterest, public GrpcStreamCallbacks {
 public:
  // `stream_options`: the transport (null: plaintext) and :authority of each connection.
  AdsClient(event::Dispatcher& dispatcher, const core::v1::ApiConfigSource& source,
            const core::v1::Node& node, SubscriptionCallbacks& callbacks, stats::Store& store,
            RandomGenerator& random, GrpcStreamOptions stream_options = {});
  ~AdsClient() override;

  void start();
  bool connected() const { return stream_ && stream_->ready(); }
  bool delta() const { return delta_; }

  // ResourceInterest
  void setInterest(std::string_view type_url, const std::set<std::string>& names,
                   bool wildcard) override;

  // GrpcStreamCallbacks
  void onStreamReady() override;
  void onMessage(const std::string& bytes) override;
  void onStreamClosed(int status, const std::string& message) override;

  // For the admin page: per type, the version applied last and the last NACK's error.
  struct TypeStatus {
    std::string version;
    std::string nonce;
    std::string last_error;
  };
  std::map<std::string, TypeStatus> status() const;

 private:
  struct TypeState {
    bool wildcard = false;
    std::set<std::string> names;
    // Names as the control plane last heard them (delta: subscribed; SotW: requested).
    std::set<std::string> sent_names;
    bool sent_wildcard = false;
    bool asked = false;             // a request for this type went out on the current stream
    bool interest_changed = false;  // names changed since last sent
    SotwTracker tracker;            // state of the world: versions accepted, to diff whole sets
    std::map<std::string, std::string> delta_versions;  // delta: resource versions held
    std::string version;
    std::string nonce;
    std::string last_error;
  };

  void connect();
  void scheduleReconnect();
  void sendRequest(const std::string& type_url, TypeState& state, const std::string& error);
  void onSotwResponse(const service::discovery::v1::DiscoveryResponse& response);
  void onDeltaResponse(const service::discovery::v1::DeltaDiscoveryResponse& response);
  // Order in which types are (re)requested on a new stream: make before break.
  static const std::vector<std::string>& typeOrder();

  event::Dispatcher& dispatcher_;
  network::Address address_;
  core::v1::Node node_;
  SubscriptionCallbacks& callbacks_;
  RandomGenerator& random_;
  bool delta_;
  std::chrono::milliseconds backoff_base_;
  std::chrono::milliseconds backoff_max_;
  GrpcStreamOptions stream_options_;
  bool waiting_reported_ = false;  // "waiting for the certificate" logged once
  uint32_t attempt_ = 0;
  bool node_sent_ = false;
  std::unique_ptr<GrpcStream> stream_;
  event::TimerPtr reconnect_timer_;
  std::map<std::string, TypeState> types_;
  stats::Gauge* connected_;
  stats::Counter* reconnects_;
  stats::Store& store_;
};

}  // namespace remora::config
