#include "source/common/tls/secret_manager.h"

#include <fstream>
#include <sstream>

#include "source/common/common/file_version.h"
#include "source/common/common/logger.h"
#include "source/common/tls/certificate_summary.h"

namespace remora::tls {
namespace tlsv1 = extensions::transport_sockets::tls::v1;

void SecretManager::start(event::Dispatcher& dispatcher) {
  dispatcher_ = &dispatcher;
  poll_timer_ = dispatcher.createTimer([this] { checkFiles(); });
  poll_timer_->enable(poll_interval_);
}

bool SecretManager::readFile(const std::string& path, std::string& error) {
  WatchedFile file;
  // stat first: a file replaced between stat and read is seen as changed on the next check.
  if (::stat(path.c_str(), &file.identity) != 0) {
    error = "cannot read \"" + path + "\": " + std::strerror(errno);
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read \"" + path + "\": " + std::strerror(errno);
    return false;
  }
  std::ostringstream content;
  content << in.rdbuf();
  file.content = content.str();
  files_[path] = std::move(file);
  return true;
}

SecretManager::Resolution SecretManager::resolvePem(const PemSource& source, bool key, bool trust,
                                                    std::string& out, std::string& error) {
  switch (source.kind) {
    case PemSource::Kind::kNone:
      return Resolution::kReady;
    case PemSource::Kind::kInline:
      out = source.value;
      return Resolution::kReady;
    case PemSource::Kind::kFile: {
      auto it = files_.find(source.value);
      if (it == files_.end()) {
        if (!readFile(source.value, error)) return Resolution::kError;
        it = files_.find(source.value);
      }
      out = it->second.content;
      return Resolution::kReady;
    }
    case PemSource::Kind::kSecret: {
      auto it = secrets_.find(source.value);
      if (it == secrets_.end()) return Resolution::kWaiting;
      const tlsv1::Secret& secret = it->second;
      config::Errors ignored;
      if (trust) {
        if (!secret.has_validation_context()) {
          error = "secret \"" + source.value + "\" holds no validation_context";
          return Resolution::kError;
        }
        PemSource inner = pemSourceFromProto(secret.validation_context().trusted_ca(), "", ignored);
        return resolvePem(inner, false, false, out, error);
      }
      if (!secret.has_tls_certificate()) {
        error = "secret \"" + source.value + "\" holds no tls_certificate";
        return Resolution::kError;
      }
      const auto& data = key ? secret.tls_certificate().private_key()
                             : secret.tls_certificate().certificate_chain();
      PemSource inner = pemSourceFromProto(data, "", ignored);
      return resolvePem(inner, false, false, out, error);
    }
  }
  return Resolution::kError;
}

SecretManager::Resolution SecretManager::resolve(const ContextSettings& settings,
                                                 ContextMaterial& material, std::string& error) {
  Resolution worst = Resolution::kReady;
  auto take = [&](Resolution r) {
    if (r == Resolution::kError || worst == Resolution::kError) {
      worst = Resolution::kError;
    } else if (r == Resolution::kWaiting) {
      worst = Resolution::kWaiting;
    }
  };
  if (settings.has_certificate) {
    take(resolvePem(settings.chain, false, false, material.chain_pem, error));
    // A secret carries its key beside the chain; otherwise the key has its own source.
    const PemSource& key_source =
        settings.chain.kind == PemSource::Kind::kSecret ? settings.chain : settings.key;
    if (worst != Resolution::kError) {
      take(resolvePem(key_source, true, false, material.key_pem, error));
    }
  }
  if (settings.verify_peer && worst != Resolution::kError) {
    take(resolvePem(settings.trusted_ca, false, true, material.trusted_ca_pem, error));
  }
  return worst;
}

bool SecretManager::bind(const std::shared_ptr<TlsSocketFactory>& factory, const std::string& name,
                         const std::string& path, config::Errors& errors, stats::Store* store) {
  const ContextSettings& settings = factory->settings();
  for (const PemSource* source : {&settings.chain, &settings.trusted_ca}) {
    if (source->kind == PemSource::Kind::kSecret && source->secret_local && !local_secrets_) {
      errors.add(path, "secret \"" + source->value +
                           "\" is the proxy's workload identity, but the bootstrap has no "
                           "workload_identity");
      return false;
    }
  }
  ContextMaterial material;
  std::string error;
  switch (resolve(factory->settings(), material, error)) {
    case Resolution::kError:
      errors.add(path, error);
      return false;
    case Resolution::kWaiting:
      break;
    case Resolution::kReady:
      if (!factory->install(material, error)) {
        errors.add(path, error);
        return false;
      }
      break;
  }
  bindings_.push_back(Binding{factory, name});
  bool server = factory->settings().server;
  if (store != nullptr && factory->settings().has_certificate &&
      expiry_exported_.insert({name, server}).second) {
    store->callbackGauge(
        "remora_tls_certificate_expiry_seconds",
        "Seconds until the certificate a TLS context presents expires (-1: none loaded)",
        {{"name", name}, {"side", server ? "downstream" : "upstream"}},
        [this, name, server] { return secondsUntilExpiry(name, server); });
  }
  return true;
}

double SecretManager::secondsUntilExpiry(const std::string& name, bool server) const {
  double soonest = -1;
  std::time_t now = std::time(nullptr);
  for (const auto& in_use : inUse()) {
    if (in_use.name != name || in_use.server != server || !in_use.context) continue;
    if (in_use.context->leafNotAfter() == 0) continue;
    double left = static_cast<double>(in_use.context->leafNotAfter() - now);
    if (soonest < 0 || left < soonest) soonest = left;
  }
  return soonest;
}

std::string SecretManager::certsJson() const {
  auto now = std::chrono::system_clock::now();
  std::string out = "{\"certificates\": [";
  bool first = true;
  for (const auto& in_use : inUse()) {
    out += first ? "\n" : ",\n";
    first = false;
    out += "  {\"name\": \"" + in_use.name + "\", \"side\": \"" +
           (in_use.server ? "downstream" : "upstream") + "\", \"state\": \"" +
           (in_use.context ? "active" : "waiting_for_secret") + "\"";
    if (in_use.context) {
      auto list = [&](const std::string& key, const std::string& pem) {
        out += ", \"" + key + "\": [";
        bool first_cert = true;
        // Unreadable or empty PEM (no trust bundle) lists nothing: the context was built from it,
        // so there is nothing an operator could act on here.
        if (auto chain = crypto::parseCertificateChain(pem); chain.ok()) {
          for (const auto& info : *chain) {
            out += (first_cert ? "" : ", ") + certificateJson(info, now);
            first_cert = false;
          }
        }
        out += "]";
      };
      list("cert_chain", in_use.context->material().chain_pem);
      list("ca_cert", in_use.context->material().trusted_ca_pem);
    }
    out += "}";
  }
  out += "\n]}\n";
  return out;
}

bool SecretManager::updateSecret(const tlsv1::Secret& secret, std::string& error, bool local) {
  if (secret.name().empty()) {
    error = "secret without a name";
    return false;
  }
  bool reserved = secret.name() == kWorkloadCertificate || secret.name() == kTrustBundle;
  if (local_secrets_ && reserved && !local) {
    error = "secret \"" + secret.name() +
            "\" is the proxy's own workload identity and is not taken from other sources";
    return false;
  }
  if (!secret.has_tls_certificate() && !secret.has_validation_context()) {
    error = "secret \"" + secret.name() + "\" holds neither tls_certificate nor validation_context";
    return false;
  }
  auto previous = secrets_.find(secret.name());
  std::optional<tlsv1::Secret> old;
  if (previous != secrets_.end()) old = previous->second;
  secrets_[secret.name()] = secret;
  // Every context using it must accept it, or none changes.
  std::vector<std::pair<std::shared_ptr<TlsSocketFactory>, std::shared_ptr<const TlsContext>>>
      ready;
  for (const auto& binding : bindings_) {
    auto factory = binding.factory.lock();
    if (!factory) continue;
    const ContextSettings& settings = factory->settings();
    bool uses = (settings.chain.kind == PemSource::Kind::kSecret &&
                 settings.chain.value == secret.name()) ||
                (settings.trusted_ca.kind == PemSource::Kind::kSecret &&
                 settings.trusted_ca.value == secret.name());
    if (!uses) continue;
    ContextMaterial material;
    std::string why;
    Resolution r = resolve(settings, material, why);
    if (r == Resolution::kError) {
      error = binding.name + ": " + why;
    } else if (r == Resolution::kReady) {
      std::string build_error;
      auto context = factory->build(material, build_error);
      if (context == nullptr) {
        error = "unusable for " + binding.name + ": " + build_error;
      } else {
        ready.emplace_back(factory, std::move(context));
      }
    }
    if (!error.empty()) {
      if (old) {
        secrets_[secret.name()] = *old;
      } else {
        secrets_.erase(secret.name());
      }
      return false;
    }
  }
  for (auto& [factory, context] : ready) factory->adopt(std::move(context));
  if (on_update_) on_update_();
  return true;
}

void SecretManager::removeSecret(const std::string& name) {
  // Contexts built from it keep serving: a removed secret only stops future updates.
  secrets_.erase(name);
}

std::set<std::string> SecretManager::wantedSecrets() const {
  std::set<std::string> names;
  for (const auto& binding : bindings_) {
    auto factory = binding.factory.lock();
    if (!factory) continue;
    const ContextSettings& settings = factory->settings();
    for (const PemSource* source : {&settings.chain, &settings.trusted_ca}) {
      if (source->kind == PemSource::Kind::kSecret && !source->secret_local &&
          source->secret_path.empty()) {
        names.insert(source->value);
      }
    }
  }
  return names;
}

std::set<std::string> SecretManager::secretFiles() const {
  std::set<std::string> paths;
  for (const auto& binding : bindings_) {
    auto factory = binding.factory.lock();
    if (!factory) continue;
    const ContextSettings& settings = factory->settings();
    for (const PemSource* source : {&settings.chain, &settings.trusted_ca}) {
      if (source->kind == PemSource::Kind::kSecret && !source->secret_path.empty()) {
        paths.insert(source->secret_path);
      }
    }
  }
  return paths;
}

std::vector<SecretManager::InUse> SecretManager::inUse() const {
  std::vector<InUse> out;
  for (const auto& binding : bindings_) {
    auto factory = binding.factory.lock();
    if (!factory) continue;
    out.push_back(InUse{binding.name, factory->settings().server, factory->current()});
  }
  return out;
}

void SecretManager::checkFiles() {
  std::vector<std::string> changed;
  for (auto& [path, file] : files_) {
    struct stat now {};
    if (::stat(path.c_str(), &now) != 0) continue;  // mid-replacement; next time
    if (common::sameFileVersion(now, file.identity)) continue;
    std::string error;
    std::string old = file.content;
    if (!readFile(path, error)) {
      REMORA_LOG(warn, "TLS file %s: %s; keeping the loaded version", path.c_str(), error.c_str());
      continue;
    }
    if (files_[path].content != old) changed.push_back(path);
  }
  // Factories gone with their listener or cluster are forgotten.
  std::erase_if(bindings_, [](const Binding& b) { return b.factory.expired(); });
  if (!changed.empty()) reinstallAll("file " + changed.front() + " changed");
  if (poll_timer_) poll_timer_->enable(poll_interval_);
}

void SecretManager::reinstallAll(const std::string& why) {
  for (const auto& binding : bindings_) {
    auto factory = binding.factory.lock();
    if (!factory) continue;
    ContextMaterial material;
    std::string error;
    if (resolve(factory->settings(), material, error) != Resolution::kReady) {
      if (!error.empty()) {
        REMORA_LOG(warn, "TLS %s: %s; keeping its current certificate", binding.name.c_str(),
                   error.c_str());
      }
      continue;
    }
    if (!factory->install(material, error)) {
      REMORA_LOG(warn, "TLS %s: %s after %s; keeping its current certificate", binding.name.c_str(),
                 error.c_str(), why.c_str());
    } else {
      REMORA_LOG(info, "TLS %s: reloaded (%s)", binding.name.c_str(), why.c_str());
    }
  }
}

}  // namespace remora::tls
