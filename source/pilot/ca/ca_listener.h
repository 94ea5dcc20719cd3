#pragma once

// The CA's TLS port: a gRPC server whose serving certificate the CA itself issues, for the
// DNS names of --ca-hostnames and the listen IP. Clients verify it with the trust bundle
// (--root-cert-out). It also serves the aggregated discovery service (pilot passes it as a
// further service), so it asks every client for a certificate and verifies one that is sent
// against the trust bundle, every root of it (a rotation's old and new root): a certificate
// from elsewhere fails the handshake. Sending none is allowed: certificate requests
// authenticate by token; discovery refuses a stream without one itself.
//
// The serving certificate must follow the signing root, and the roots that verify clients the
// trust bundle: after a rotation, when a replaced root is dropped, and at half the serving
// certificate's lifetime, it is re-issued. gRPC C++ 1.51 (Debian's) fixes a server's certificate
// when the server is built; its only reloading provider watches files, which would put the serving
// key on disk and lag by its polling interval. So a new certificate is put in force by building a
// second server on the same port (gRPC sets SO_REUSEPORT on its listeners, so both can bind)
// and then shutting the first down: calls in flight finish, connected clients get GOAWAY and
// reconnect to the new server, new connections only reach the new one.
//
// Threads: start(), refresh() and stop() on one thread (pilot's main loop); the service runs
// on gRPC's threads.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "source/common/crypto/certificate_authority.h"
#include "source/common/crypto/result.h"

namespace remora::pilot::ca {

class CaListener {
 public:
  struct Options {
    std::string listen = "127.0.0.1:15012";  // IP:PORT; [IPv6]:PORT; port 0: the OS picks
    std::vector<std::string> hostnames;      // DNS SANs of the serving certificate
    std::chrono::seconds serving_cert_ttl{std::chrono::hours(24)};
  };

  // `authority`, `service` and `more_services` (e.g. discovery) must outlive the listener.
  CaListener(const crypto::CertificateAuthority& authority, grpc::Service& service, Options options,
             std::vector<grpc::Service*> more_services = {})
      : authority_(authority),
        service_(service),
        more_services_(std::move(more_services)),
        options_(std::move(options)) {}
  ~CaListener() { stop(); }

  // Issues the serving certificate and starts serving. Errors: a malformed listen address,
  // no name for the certificate, a certificate the CA refuses, a port that cannot be bound.
  crypto::Status start(std::chrono::system_clock::time_point now);

  // Re-issues the serving certificate and hands the port to a server using it, if the
  // trust bundle (signing root included) changed since the last issue or half of the
  // certificate's life has passed (or `force`). Streams on the old server are cancelled
  // after a second: clients reconnect, and their certificates are verified again. Returns whether
  // it did. Errors: the certificate or the new server could not be made; the current server keeps
  // serving and the next call tries again.
  crypto::Result<bool> refresh(std::chrono::system_clock::time_point now, bool force = false);

  // Stops serving, letting calls in flight finish for up to a second. Idempotent.
  void stop();

  // The bound port (the OS's choice for port 0); 0 before start().
  uint16_t port() const { return port_; }
  // The listen IP as given, without brackets.
  const std::string& ip() const { return ip_; }
  // The serving certificate now in force, PEM.
  const std::string& servingCertificatePem() const { return cert_pem_; }

 private:
  // A server for the current certificate on `port` (0 at the first start), or an error.
  crypto::Result<std::unique_ptr<grpc::Server>> buildServer(const std::string& key_pem,
                                                            const std::string& cert_pem,
                                                            const std::string& client_roots_pem,
                                                            uint16_t port, int& bound_port);

  const crypto::CertificateAuthority& authority_;
  grpc::Service& service_;
  const std::vector<grpc::Service*> more_services_;
  const Options options_;
  std::string ip_;
  uint16_t port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::string cert_pem_;
  std::string issued_by_;  // the trust bundle (signing root first) when cert_pem_ was issued
  std::chrono::system_clock::time_point renew_at_;
};

}  // namespace remora::pilot::ca
