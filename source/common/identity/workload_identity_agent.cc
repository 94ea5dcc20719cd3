#include "source/common/identity/workload_identity_agent.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "remora/service/ca/v1/ca.pb.h"
#include "source/common/common/file_version.h"
#include "source/common/common/logger.h"
#include "source/common/crypto/certificate_info.h"
#include "source/common/crypto/csr.h"
#include "source/common/identity/control_plane_tls.h"

namespace remora::identity {
namespace {

constexpr const char* kCreateCertificate =
    "/remora.service.ca.v1.CertificateService/CreateCertificate";
constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr auto kFirstBackoff = std::chrono::milliseconds(500);
constexpr auto kMaxBackoff = std::chrono::seconds(30);
// Never renew more often than this, whatever the lifetime (a CA handing out nearly expired
// certificates must not turn the proxy into a request loop).
constexpr auto kMinRenewDelay = std::chrono::seconds(1);

bool readFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  size_t start = text.find_first_not_of(" \n\r\t");
  return start == std::string::npos ? "" : text.substr(start);
}

// Certificates of `a` then those of `b` not already in it (PEM blocks compared as text).
std::string unionOfPem(const std::string& a, const std::string& b) {
  std::string out = a;
  if (!out.empty() && out.back() != '\n') out += "\n";
  const std::string end = "-----END CERTIFICATE-----";
  size_t pos = 0;
  while (true) {
    size_t begin = b.find("-----BEGIN CERTIFICATE-----", pos);
    if (begin == std::string::npos) break;
    size_t stop = b.find(end, begin);
    if (stop == std::string::npos) break;
    std::string block = b.substr(begin, stop + end.size() - begin);
    if (out.find(block) == std::string::npos) out += block + "\n";
    pos = stop + end.size();
  }
  return out;
}

}  // namespace

AgentSettings AgentSettings::fromBootstrap(const config::bootstrap::v1::Bootstrap& bootstrap) {
  const auto& proto = bootstrap.workload_identity();
  AgentSettings out;
  const auto& sa = proto.ca_address().socket_address();
  out.ca_address =
      network::Address::fromIpPort(sa.address(), static_cast<uint16_t>(sa.port_value()))
          .value_or(network::Address());
  out.ca_server_name =
      proto.ca_server_name().empty() ? kDefaultControlPlaneName : proto.ca_server_name();
  out.root_cert_file = proto.root_cert_file();
  out.token_file = proto.token_file();
  std::string trust_domain = proto.trust_domain().empty() ? "cluster.local" : proto.trust_domain();
  std::string account =
      bootstrap.node().service_account().empty() ? "default" : bootstrap.node().service_account();
  out.spiffe_id =
      "spiffe://" + trust_domain + "/ns/" + bootstrap.node().namespace_() + "/sa/" + account;
  out.ttl = std::chrono::seconds(proto.certificate_ttl().seconds());
  if (proto.renew_at() > 0) out.renew_at = proto.renew_at();
  out.key_type = proto.key_type() == config::bootstrap::v1::WorkloadIdentity::RSA_2048
                     ? crypto::KeyType::kRsa
                     : crypto::KeyType::kEcdsaP256;
  return out;
}

WorkloadIdentityAgent::WorkloadIdentityAgent(event::Dispatcher& dispatcher,
                                             tls::SecretManager& secrets, stats::Store& store,
                                             AgentSettings settings)
    : dispatcher_(dispatcher),
      secrets_(secrets),
      settings_(std::move(settings)),
      tls_stats_(std::make_shared<tls::TlsStats>(store, "upstream", "workload_identity_ca")) {
  secrets_.enableLocalSecrets();
  issued_ =
      &store.counter("remora_workload_certificate_requests_total",
                     "Certificate requests to the mesh CA, by result.", {{"result", "issued"}});
  failed_ =
      &store.counter("remora_workload_certificate_requests_total",
                     "Certificate requests to the mesh CA, by result.", {{"result", "failed"}});
  store.callbackGauge(
      "remora_workload_certificate_expiry_seconds",
      "Seconds until the workload certificate in use expires (-1: none yet).", {}, [this] {
        if (chain_pem_.empty()) return -1.0;
        return static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                       not_after_ - std::chrono::system_clock::now())
                                       .count());
      });
}

WorkloadIdentityAgent::~WorkloadIdentityAgent() {
  if (stream_) stream_->close();
}

void WorkloadIdentityAgent::start() {
  renew_timer_ = dispatcher_.createTimer([this] { requestCertificate(); });
  root_timer_ = dispatcher_.createTimer([this] {
    if (reloadRoots()) {
      std::string error;
      if (!publishTrustBundle(error)) REMORA_LOG(error, "workload identity: %s", error.c_str());
    }
    root_timer_->enable(settings_.root_poll);
  });
  reloadRoots();
  std::string error;
  if (!publishTrustBundle(error)) REMORA_LOG(error, "workload identity: %s", error.c_str());
  root_timer_->enable(settings_.root_poll);
  requestCertificate();
}

bool WorkloadIdentityAgent::reloadRoots() {
  struct stat now {};
  if (::stat(settings_.root_cert_file.c_str(), &now) != 0) {
    if (file_roots_pem_.empty()) {
      REMORA_LOG(warn, "workload identity: root file %s: %s", settings_.root_cert_file.c_str(),
                 std::strerror(errno));
    }
    return false;
  }
  if (common::sameFileVersion(now, file_identity_)) return false;
  std::string content;
  if (!readFile(settings_.root_cert_file, content)) return false;
  file_identity_ = now;
  auto parsed = crypto::parseCertificateChain(content);
  if (!parsed.ok() || parsed->empty()) {
    REMORA_LOG(error, "workload identity: root file %s: %s (keeping the roots in use)",
               settings_.root_cert_file.c_str(),
               parsed.ok() ? "no certificate" : parsed.error().c_str());
    return false;
  }
  if (content == file_roots_pem_) return false;
  file_roots_pem_ = content;
  REMORA_LOG(info, "workload identity: %zu root certificate(s) from %s", parsed->size(),
             settings_.root_cert_file.c_str());
  return true;
}

bool WorkloadIdentityAgent::publishTrustBundle(std::string& error) {
  std::string bundle = unionOfPem(file_roots_pem_, ca_roots_pem_);
  if (trimmed(bundle).empty()) {
    error = "no root certificate yet (" + settings_.root_cert_file + ")";
    return false;
  }
  // The CA is verified with the same roots peers are: a root rotation covers both.
  auto proto = controlPlaneTlsContext(settings_.ca_server_name);
  auto* validation = proto.mutable_common_tls_context()->mutable_validation_context();
  validation->mutable_trusted_ca()->set_inline_string(bundle);
  expectControlPlaneName(settings_.ca_server_name, *validation);
  config::Errors errors;
  auto ca = tls::ContextSettings::fromUpstream(proto, "workload_identity", errors);
  if (!ca) {
    error = errors.joined();
    return false;
  }
  auto factory = std::make_shared<tls::TlsSocketFactory>(*ca, tls_stats_);
  tls::ContextMaterial material;
  material.trusted_ca_pem = bundle;
  if (!factory->install(material, error)) {
    error = "trust bundle unusable: " + error;
    return false;
  }
  if (bundle == bundle_pem_) return true;
  extensions::transport_sockets::tls::v1::Secret secret;
  secret.set_name(tls::kTrustBundle);
  secret.mutable_validation_context()->mutable_trusted_ca()->set_inline_string(bundle);
  if (!secrets_.updateSecret(secret, error, true)) {
    error = "trust bundle not taken: " + error;
    return false;
  }
  ca_transport_ = std::move(factory);
  bundle_pem_ = bundle;
  return true;
}

void WorkloadIdentityAgent::requestCertificate() {
  finished_stream_.reset();
  if (stream_) return;  // one request at a time
  if (ca_transport_ == nullptr) {
    std::string error;
    reloadRoots();
    if (!publishTrustBundle(error)) {
      scheduleRetry(error);
      return;
    }
  }
  auto key = crypto::KeyPair::generate(settings_.key_type);
  if (!key.ok()) {
    scheduleRetry("key generation: " + key.error());
    return;
  }
  std::string token;
  if (!readFile(settings_.token_file, token) || trimmed(token).empty()) {
    scheduleRetry("token file " + settings_.token_file + " is missing or empty");
    return;
  }
  pending_key_ = std::move(key.value());
  answered_ = false;
  accepted_ = false;
  config::GrpcStreamOptions options;
  options.transport = ca_transport_;
  options.authority = settings_.ca_server_name;
  options.metadata.emplace_back("authorization", "Bearer " + trimmed(token));
  stream_ =
      std::make_unique<config::GrpcStream>(dispatcher_, settings_.ca_address, kCreateCertificate,
                                           *this, kConnectTimeout, std::move(options));
  REMORA_LOG(debug, "workload identity: asking %s for %s", settings_.ca_address.asString().c_str(),
             settings_.spiffe_id.c_str());
  stream_->start();
}

void WorkloadIdentityAgent::onStreamReady() {
  auto csr = crypto::createCsr(*pending_key_, settings_.spiffe_id);
  if (!csr.ok()) {
    stream_->close();
    finished_stream_ = std::move(stream_);
    scheduleRetry("CSR: " + csr.error());
    return;
  }
  service::ca::v1::CertificateRequest request;
  request.set_csr(*csr);
  request.set_validity_duration(settings_.ttl.count());
  stream_->send(request, true);
}

void WorkloadIdentityAgent::onMessage(const std::string& bytes) {
  if (answered_) return;
  answered_ = true;
  std::string error;
  accepted_ = acceptResponse(bytes, error);
  if (!accepted_) {
    failed_->inc();
    REMORA_LOG(error, "workload identity: the CA's answer is unusable: %s", error.c_str());
  }
}

void WorkloadIdentityAgent::onStreamClosed(int status, const std::string& message) {
  finished_stream_ = std::move(stream_);
  pending_key_.reset();
  if (accepted_) return;
  if (answered_) {
    scheduleRetry("the CA's answer was unusable");
  } else if (status != 0) {
    failed_->inc();
    scheduleRetry("CA " + settings_.ca_address.asString() + " answered grpc-status " +
                  std::to_string(status) + ": " + message);
  } else {
    failed_->inc();
    scheduleRetry("the CA sent no certificate");
  }
}

bool WorkloadIdentityAgent::acceptResponse(const std::string& bytes, std::string& error) {
  service::ca::v1::CertificateResponse response;
  if (!response.ParseFromString(bytes) || response.cert_chain_size() == 0) {
    error = "no certificate chain";
    backoff_ = std::max(backoff_, std::chrono::milliseconds(kFirstBackoff));
    return false;
  }
  std::string chain;
  for (const auto& pem : response.cert_chain()) {
    chain += pem;
    if (!chain.empty() && chain.back() != '\n') chain += "\n";
  }
  std::string roots;
  for (const auto& pem : response.trust_bundle()) roots = unionOfPem(roots, pem);
  auto key_pem = pending_key_->privateKeyPem();
  auto parsed = crypto::parseCertificateChain(chain);
  auto fail = [&](std::string why) {
    error = std::move(why);
    backoff_ = std::max(backoff_, std::chrono::milliseconds(kFirstBackoff));
    return false;
  };
  if (!key_pem.ok()) return fail(key_pem.error());
  if (!parsed.ok() || parsed->empty()) return fail("certificate chain: " + parsed.error());
  if (auto match = crypto::privateKeyMatches(chain, *key_pem); !match.ok()) {
    return fail("the certificate is not for the key sent: " + match.error());
  }
  std::string trusted = unionOfPem(file_roots_pem_, roots);
  if (auto verified = crypto::verifyChain(chain, trusted); !verified.ok()) {
    return fail("the certificate does not chain to a trusted root: " + verified.error());
  }
  const crypto::CertificateInfo& leaf = parsed->front();
  auto uris = leaf.uriSans();
  if (std::find(uris.begin(), uris.end(), settings_.spiffe_id) == uris.end()) {
    // The token decides the identity; a different one is worth saying, not refusing.
    REMORA_LOG(warn, "workload identity: asked for %s, the CA certified %s",
               settings_.spiffe_id.c_str(), uris.empty() ? "no URI" : uris.front().c_str());
  }
  // Roots first: a certificate from a new root is presented only once peers' roots (ours
  // included) can verify it.
  ca_roots_pem_ = roots;
  std::string bundle_error;
  if (!publishTrustBundle(bundle_error)) return fail(bundle_error);
  extensions::transport_sockets::tls::v1::Secret secret;
  secret.set_name(tls::kWorkloadCertificate);
  secret.mutable_tls_certificate()->mutable_certificate_chain()->set_inline_string(chain);
  secret.mutable_tls_certificate()->mutable_private_key()->set_inline_string(*key_pem);
  std::string update_error;
  if (!secrets_.updateSecret(secret, update_error, true)) {
    return fail("certificate not taken: " + update_error);
  }
  chain_pem_ = chain;
  not_after_ = leaf.not_after;
  auto lifetime = leaf.not_after - leaf.not_before;
  renew_time_ = leaf.not_before + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                      lifetime * settings_.renew_at);
  backoff_ = std::chrono::milliseconds(0);
  issued_->inc();
  REMORA_LOG(info, "workload identity: certificate for %s valid until %lld, renewal in %lld s",
             uris.empty() ? "?" : uris.front().c_str(),
             static_cast<long long>(std::chrono::system_clock::to_time_t(not_after_)),
             static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(
                                        renew_time_ - std::chrono::system_clock::now())
                                        .count()));
  scheduleRenewal();
  return true;
}

void WorkloadIdentityAgent::scheduleRenewal() {
  auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(
      renew_time_ - std::chrono::system_clock::now());
  renew_timer_->enable(std::max<std::chrono::milliseconds>(delay, kMinRenewDelay));
}

void WorkloadIdentityAgent::scheduleRetry(const std::string& why) {
  backoff_ = backoff_.count() == 0 ? std::chrono::milliseconds(kFirstBackoff)
                                   : std::min<std::chrono::milliseconds>(backoff_ * 2, kMaxBackoff);
  REMORA_LOG(warn, "workload identity: %s; retrying in %lld ms%s", why.c_str(),
             static_cast<long long>(backoff_.count()),
             chain_pem_.empty() ? "" : " (the current certificate stays in use)");
  renew_timer_->enable(backoff_);
}

}  // namespace remora::identity
