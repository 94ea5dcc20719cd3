#pragma once

// The proxy's own mesh identity (main thread). At start it makes a private key in memory,
// sends a CSR for it to the control plane's CA over TLS with the workload's token, and hands
// the certificate it gets to the SecretManager as the secret `default`; the mesh trust bundle
// (the mounted root file plus the roots the CA returns) becomes the secret `ROOTCA`. Once
// `renew_at` of the certificate's lifetime has passed it does it again with a new key; TLS
// contexts switch for new connections only, so renewals drop nothing. A failed request keeps
// the current certificate and is retried with backoff; the key never leaves the process.

#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "remora/config/bootstrap/v1/bootstrap.pb.h"
#include "source/common/config/grpc_stream.h"
#include "source/common/crypto/key_pair.h"
#include "source/common/tls/secret_manager.h"
#include "source/common/tls/tls_stats.h"
#include "source/interface/config/errors.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/stats/stats.h"

namespace remora::identity {

struct AgentSettings {
  network::Address ca_address;
  std::string ca_server_name;
  std::string root_cert_file;
  std::string token_file;
  std::string spiffe_id;        // asked for; the CA decides from the token
  std::chrono::seconds ttl{0};  // 0: the CA's default
  double renew_at = 0.5;        // fraction of the lifetime
  crypto::KeyType key_type = crypto::KeyType::kEcdsaP256;
  std::chrono::milliseconds root_poll{1000};

  // From the bootstrap (validated already by validateBootstrap).
  static AgentSettings fromBootstrap(const config::bootstrap::v1::Bootstrap& bootstrap);
};

class WorkloadIdentityAgent : public config::GrpcStreamCallbacks {
 public:
  WorkloadIdentityAgent(event::Dispatcher& dispatcher, tls::SecretManager& secrets,
                        stats::Store& store, AgentSettings settings);
  ~WorkloadIdentityAgent() override;

  // Reads the root file and asks for the first certificate.
  void start();
  // The certificate in use (PEM chain), empty before the first one arrived.
  const std::string& certificateChain() const { return chain_pem_; }
  // When the certificate in use expires, and when it will be renewed.
  std::chrono::system_clock::time_point notAfter() const { return not_after_; }
  std::chrono::system_clock::time_point renewAt() const { return renew_time_; }

  // config::GrpcStreamCallbacks
  void onStreamReady() override;
  void onMessage(const std::string& bytes) override;
  void onStreamClosed(int status, const std::string& message) override;

 private:
  void requestCertificate();
  // Handles one CA answer; false with `error` when it is not usable.
  bool acceptResponse(const std::string& bytes, std::string& error);
  void scheduleRetry(const std::string& why);
  void scheduleRenewal();
  // Re-reads the root file when it changed; true when the trust bundle changed.
  bool reloadRoots();
  // Publishes ROOTCA (file roots + CA roots) and rebuilds the TLS context towards the CA.
  bool publishTrustBundle(std::string& error);

  event::Dispatcher& dispatcher_;
  tls::SecretManager& secrets_;
  AgentSettings settings_;
  std::shared_ptr<tls::TlsStats> tls_stats_;
  std::shared_ptr<tls::TlsSocketFactory> ca_transport_;

  std::string file_roots_pem_;
  struct stat file_identity_ {};
  std::string ca_roots_pem_;  // the trust bundle the CA returned last
  std::string bundle_pem_;    // what ROOTCA holds now

  std::optional<crypto::KeyPair> pending_key_;  // the key of the request in flight
  std::unique_ptr<config::GrpcStream> stream_;
  std::unique_ptr<config::GrpcStream> finished_stream_;  // freed on the next request
  bool answered_ = false;  // the request in flight got its response message
  bool accepted_ = false;  // ... and it was installed

  std::string chain_pem_;
  std::chrono::system_clock::time_point not_after_{};
  std::chrono::system_clock::time_point renew_time_{};
  std::chrono::milliseconds backoff_{0};

  event::TimerPtr renew_timer_;
  event::TimerPtr root_timer_;
  stats::Counter* issued_;
  stats::Counter* failed_;
};

}  // namespace remora::identity
