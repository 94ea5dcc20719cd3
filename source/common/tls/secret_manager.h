#pragma once

// Where TLS contexts get their certificates and trust bundles: inline PEM, files (watched:
// a changed file is loaded within a second and every context using it is rebuilt), and named
// secrets pushed by the control plane (SDS). Main thread only. Factories are held weakly: a
// removed listener or cluster simply drops out.

#include <sys/stat.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "remora/extensions/transport_sockets/tls/v1/tls.pb.h"
#include "source/common/tls/tls_socket_factory.h"
#include "source/interface/config/errors.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/stats/stats.h"

namespace remora::tls {

class SecretManager {
 public:
  // Files are checked every `poll_interval` once start() gave a dispatcher (the config is
  // built, and bound, before the main loop exists).
  explicit SecretManager(std::chrono::milliseconds poll_interval = std::chrono::seconds(1))
      : poll_interval_(poll_interval) {}
  void start(event::Dispatcher& dispatcher);

  // Loads `factory`'s sources and installs its first context; from then on the factory follows
  // its files and secrets. A secret not received yet leaves the factory without a context (its
  // handshakes fail with no_certificate_yet) until it arrives. Bad files or PEM are errors
  // under `path`, and nothing is bound. `name` labels it in /certs.
  // With `store`, the seconds until its certificate expires are exported as
  // remora_tls_certificate_expiry_seconds{name,side}.
  bool bind(const std::shared_ptr<TlsSocketFactory>& factory, const std::string& name,
            const std::string& path, config::Errors& errors, stats::Store* store = nullptr);

  // A secret from the control plane or a file (or, `local`, from the proxy's workload
  // identity), new or changed. Contexts using it are rebuilt; false with `error` (the secret is
  // not taken) when it is malformed or a context cannot use it, or when it would replace the
  // workload identity's own secrets from elsewhere.
  bool updateSecret(const extensions::transport_sockets::tls::v1::Secret& secret,
                    std::string& error, bool local = false);
  void removeSecret(const std::string& name);
  // The secret names bound factories take from the aggregated stream (what to ask the control
  // plane for).
  std::set<std::string> wantedSecrets() const;
  // The files (sds_config.path) holding secrets bound factories use; the owner of the file
  // sources watches them and hands their Secret resources to updateSecret().
  std::set<std::string> secretFiles() const;
  // Called after any secret was taken (e.g. listeners and clusters waiting for it may warm).
  void setOnSecretUpdate(std::function<void()> callback) { on_update_ = std::move(callback); }
  // The proxy has a workload identity that supplies kWorkloadCertificate and kTrustBundle;
  // without it, binding a context that names them (no sds_config) is an error.
  void enableLocalSecrets() { local_secrets_ = true; }
  bool localSecretsEnabled() const { return local_secrets_; }

  struct InUse {
    std::string name;
    bool server = false;
    std::shared_ptr<const TlsContext> context;  // null: waiting for a secret
  };
  // The live contexts, for the admin page and expiry metrics.
  std::vector<InUse> inUse() const;
  // Admin /certs: every context's certificate chain and trust bundle with SANs and expiry.
  std::string certsJson() const;
  // Seconds until the leaf certificate of the live contexts named `name` expires (the
  // soonest); -1 when none is loaded.
  double secondsUntilExpiry(const std::string& name, bool server) const;

  // Checks the watched files now (the timer does this every poll interval).
  void checkFiles();

 private:
  struct Binding {
    std::weak_ptr<TlsSocketFactory> factory;
    std::string name;
  };
  struct WatchedFile {
    std::string content;
    struct stat identity {};
  };
  enum class Resolution { kReady, kWaiting, kError };
  Resolution resolve(const ContextSettings& settings, ContextMaterial& material,
                     std::string& error);
  Resolution resolvePem(const PemSource& source, bool key, bool trust, std::string& out,
                        std::string& error);
  bool readFile(const std::string& path, std::string& error);
  // Rebuilds every bound context (after a file or secret changed); logs what fails.
  void reinstallAll(const std::string& why);

  event::Dispatcher* dispatcher_ = nullptr;
  std::chrono::milliseconds poll_interval_;
  event::TimerPtr poll_timer_;
  std::vector<Binding> bindings_;
  std::map<std::string, WatchedFile> files_;
  std::map<std::string, extensions::transport_sockets::tls::v1::Secret> secrets_;
  // (name, side) pairs whose expiry gauge exists (a gauge cannot be registered twice).
  std::set<std::pair<std::string, bool>> expiry_exported_;
  std::function<void()> on_update_;
  bool local_secrets_ = false;
};

}  // namespace remora::tls
