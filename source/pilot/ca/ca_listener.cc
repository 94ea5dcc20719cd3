#include "source/pilot/ca/ca_listener.h"

#include <arpa/inet.h>

#include <openssl/crypto.h>

#include "source/common/crypto/key_pair.h"

namespace remora::pilot::ca {

using crypto::Error;

namespace {

// Splits "IP:PORT" or "[IPv6]:PORT". False if malformed.
bool splitListen(const std::string& listen, std::string& ip, uint16_t& port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  ip = listen.substr(0, colon);
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  const std::string digits = listen.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const int value = std::stoi(digits);
  if (value > 65535) return false;
  port = static_cast<uint16_t>(value);
  unsigned char address[16];
  return inet_pton(AF_INET, ip.c_str(), address) == 1 ||
         inet_pton(AF_INET6, ip.c_str(), address) == 1;
}

std::string hostPort(const std::string& ip, uint16_t port) {
  return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

}  // namespace

crypto::Status CaListener::start(std::chrono::system_clock::time_point now) {
  if (!splitListen(options_.listen, ip_, port_)) {
    return Error{"--ca-listen " + crypto::quoteForMessage(options_.listen) +
                 " is not IP:PORT (or off)"};
  }
  auto started = refresh(now, /*force=*/true);
  return started.ok() ? crypto::Status() : started.status();
}

crypto::Result<bool> CaListener::refresh(std::chrono::system_clock::time_point now, bool force) {
  const std::string roots = authority_.rootsPem();
  if (!force && server_ && roots == issued_by_ && now < renew_at_) {
    return false;
  }
  std::vector<crypto::SubjectAltName> names;
  for (const std::string& host : options_.hostnames) {
    names.push_back({crypto::SanType::kDns, host});
  }
  // A wildcard address names no host a client could dial, so it is no SAN.
  if (ip_ != "0.0.0.0" && ip_ != "::") {
    names.push_back({crypto::SanType::kIp, ip_});
  }
  // A fresh key each time: it never leaves this process, and costs well under a millisecond.
  auto key = crypto::KeyPair::generate();
  if (!key.ok()) return Error{"serving key: " + key.error()};
  auto cert = authority_.signServerCertificate(key->get(), names, options_.serving_cert_ttl, now);
  if (!cert.ok()) return Error{"serving certificate: " + cert.error()};
  auto key_pem = key->privateKeyPem();
  if (!key_pem.ok()) return Error{"serving key: " + key_pem.error()};

  int bound = 0;
  auto server = buildServer(*key_pem, *cert, roots, port_, bound);
  OPENSSL_cleanse(key_pem->data(), key_pem->size());
  if (!server.ok()) return Error{server.error()};
  // The new server already accepts on the port; the old one stops taking connections now and
  // lets its calls finish.
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  server_ = std::move(*server);
  port_ = static_cast<uint16_t>(bound);
  cert_pem_ = std::move(*cert);
  issued_by_ = roots;
  renew_at_ = now + options_.serving_cert_ttl / 2;
  return true;
}

crypto::Result<std::unique_ptr<grpc::Server>> CaListener::buildServer(
    const std::string& key_pem, const std::string& cert_pem, const std::string& client_roots_pem,
    uint16_t port, int& bound_port) {
  // Asked for, verified if sent, not required: the CSR call authenticates by token.
  grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  tls.pem_root_certs = client_roots_pem;
  tls.pem_key_cert_pairs.push_back({key_pem, cert_pem});
  grpc::ServerBuilder builder;
  // gRPC's default, stated because the hand-over between servers depends on it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 1);
  builder.AddListeningPort(hostPort(ip_, port), grpc::SslServerCredentials(tls), &bound_port);
  builder.RegisterService(&service_);
  for (grpc::Service* service : more_services_) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    return Error{"cannot serve TLS on " + hostPort(ip_, port)};
  }
  return server;
}

void CaListener::stop() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_.reset();
  }
}

}  // namespace remora::pilot::ca
