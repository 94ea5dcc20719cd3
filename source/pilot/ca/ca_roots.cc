#include "source/pilot/ca/ca_roots.h"
#include "source/common/common/logger.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "source/common/crypto/certificate_info.h"
#include "source/common/crypto/openssl_util.h"
#include "source/common/crypto/root_certificate.h"

namespace remora::pilot::ca {

using crypto::Error;
using std::chrono::system_clock;

namespace {

std::optional<std::string> readFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string contents;
  char buffer[8192];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) {
    contents.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  if (n < 0) return std::nullopt;
  return contents;
}

// Writes a temporary file beside `path` and renames it over `path`, so a reader (a proxy
// mounting the bundle, pilot itself after a crash) sees the old file or the new one, never
// half of one.
crypto::Status writeFileAtomically(const std::string& path, const std::string& contents,
                                   mode_t mode) {
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return Error{"cannot write " + temp + ": " + std::strerror(errno)};
  }
  bool ok = ::fchmod(fd, mode) == 0;  // the umask must not widen or narrow it
  for (size_t written = 0; ok && written < contents.size();) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    ok = n > 0;
    written += ok ? static_cast<size_t>(n) : 0;
  }
  ok = ok && ::fsync(fd) == 0;
  const std::string reason = std::strerror(errno);
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return Error{"cannot write " + path + ": " + (ok ? std::strerror(errno) : reason)};
  }
  return {};
}

// The certificates of `pem`, each re-encoded as one clean PEM block; empty if unparsable.
std::vector<std::string> splitCertificates(std::string_view pem) {
  std::vector<std::string> out;
  auto certs = crypto::readCertificatesPem(pem, "trust bundle");
  if (!certs.ok()) return out;
  for (const crypto::X509Ptr& cert : *certs) {
    if (auto one = crypto::certificateToPem(cert.get()); one.ok()) out.push_back(std::move(*one));
  }
  return out;
}

// The roots of an earlier bundle file that are still valid at `now`, concatenated.
std::string unexpiredRoots(const std::string& bundle_path, system_clock::time_point now) {
  std::string kept;
  const std::optional<std::string> bundle = readFile(bundle_path);
  if (!bundle) return kept;
  for (const std::string& pem : splitCertificates(*bundle)) {
    auto info = crypto::parseCertificateChain(pem);
    if (info.ok() && info->front().is_ca && info->front().not_after > now) kept += pem;
  }
  return kept;
}

std::string describe(std::string_view root_pem) {
  auto info = crypto::parseCertificateChain(root_pem);
  if (!info.ok()) return "(unparsable root)";
  return "\"" + info->front().subject + "\" serial " + info->front().serial_hex;
}

}  // namespace

std::vector<std::string> trustBundle(const crypto::CertificateAuthority& authority) {
  return splitCertificates(authority.rootsPem());
}

crypto::Result<std::unique_ptr<CaRoots>> CaRoots::open(const Options& options,
                                                       system_clock::time_point now) {
  if (options.ca_dir.empty()) {
    auto authority = crypto::CertificateAuthority::create();
    if (!authority.ok()) return Error{authority.error()};
    REMORA_LOG(info,
               "ca: no --ca-dir: signing with an in-memory root %s (development only: "
               "a restart changes the mesh's root)",
               describe((*authority)->signingRootPem()).c_str());
    std::unique_ptr<CaRoots> roots(new CaRoots(options, std::move(*authority)));
    roots->writeBundle();
    if (!options.root_cert_out.empty() && roots->written_bundle_.empty()) {
      return Error{"cannot write --root-cert-out " + options.root_cert_out};
    }
    return roots;
  }

  const std::string cert_path = options.ca_dir + "/" + kCaCertFile;
  const std::string key_path = options.ca_dir + "/" + kCaKeyFile;
  std::optional<std::string> cert = readFile(cert_path);
  std::optional<std::string> key = readFile(key_path);
  if (cert.has_value() != key.has_value()) {
    return Error{options.ca_dir + " holds " + (cert ? kCaCertFile : kCaKeyFile) + " but not " +
                 (cert ? kCaKeyFile : kCaCertFile) + " (a plug-in root needs both)"};
  }
  if (!cert) {
    // First start: make the mesh's root and keep it, key first so that a crash in between
    // leaves a state the next start reports instead of silently replacing.
    // Created private: it is about to hold the mesh's root key. (An existing one is left as
    // the operator made it.)
    std::error_code error;
    if (std::filesystem::create_directories(options.ca_dir, error)) {
      std::filesystem::permissions(options.ca_dir, std::filesystem::perms::owner_all, error);
    }
    auto root = crypto::createRootCertificate({}, now);
    if (!root.ok()) return Error{root.error()};
    if (auto status = writeFileAtomically(key_path, root->key_pem, 0600); !status.ok()) {
      return Error{status.error()};
    }
    if (auto status = writeFileAtomically(cert_path, root->cert_pem, 0644); !status.ok()) {
      return Error{status.error()};
    }
    cert = root->cert_pem;
    key = root->key_pem;
    REMORA_LOG(info, "ca: generated a root %s into %s", describe(*cert).c_str(),
               options.ca_dir.c_str());
  }

  const std::string older =
      options.root_cert_out.empty() ? "" : unexpiredRoots(options.root_cert_out, now);
  auto authority = crypto::CertificateAuthority::fromPem(*cert, *key, older);
  if (!authority.ok()) {
    return Error{options.ca_dir + ": " + authority.error()};
  }
  std::unique_ptr<CaRoots> roots(new CaRoots(options, std::move(*authority)));
  roots->applied_ = {std::move(*cert), std::move(*key)};
  REMORA_LOG(info, "ca: signing with the root %s from %s",
             describe(roots->authority_->signingRootPem()).c_str(), options.ca_dir.c_str());
  const std::vector<std::string> bundle = trustBundle(*roots->authority_);
  for (size_t i = 1; i < bundle.size(); ++i) {
    roots->retiring_[bundle[i]] = now + options.overlap;
    REMORA_LOG(info, "ca: still trusting the replaced root %s from %s until %s",
               describe(bundle[i]).c_str(), options.root_cert_out.c_str(),
               crypto::formatTime(now + options.overlap).c_str());
  }
  roots->writeBundle();
  if (!options.root_cert_out.empty() && roots->written_bundle_.empty()) {
    return Error{"cannot write --root-cert-out " + options.root_cert_out};
  }
  return roots;
}

std::optional<CaRoots::FilePair> CaRoots::readCaDir() const {
  std::optional<std::string> cert = readFile(options_.ca_dir + "/" + kCaCertFile);
  std::optional<std::string> key = readFile(options_.ca_dir + "/" + kCaKeyFile);
  if (!cert || !key) return std::nullopt;
  return FilePair{std::move(*cert), std::move(*key)};
}

bool CaRoots::poll(system_clock::time_point now) {
  bool changed = false;
  if (!options_.ca_dir.empty()) {
    std::optional<FilePair> files = readCaDir();
    if (!files) {
      if (!missing_reported_) {
        REMORA_LOG(warn, "ca: %s lacks %s or %s; still signing with the last root",
                   options_.ca_dir.c_str(), kCaCertFile, kCaKeyFile);
      }
      missing_reported_ = true;
      pending_.reset();
    } else if (*files == applied_) {
      missing_reported_ = false;
      pending_.reset();
    } else if (pending_ && *pending_ == *files) {
      missing_reported_ = false;
      pending_.reset();
      applied_ = std::move(*files);
      changed = rotateTo(applied_, now);
    } else {
      pending_ = std::move(files);
    }
  }
  for (auto it = retiring_.begin(); it != retiring_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    if (auto status = authority_->dropRoot(it->first); status.ok()) {
      REMORA_LOG(info, "ca: the overlap of the replaced root %s ended; dropped it",
                 describe(it->first).c_str());
      changed = true;
    }
    it = retiring_.erase(it);
  }
  // Also retried here when an earlier write failed.
  if (changed || authority_->rootsPem() != written_bundle_) {
    writeBundle();
  }
  return changed;
}

bool CaRoots::rotateTo(const FilePair& files, system_clock::time_point now) {
  // The same certificate rewritten (or re-encoded) is no rotation.
  auto cert = crypto::readOneCertificatePem(files.first, "ca-cert.pem");
  auto cert_pem = cert.ok() ? crypto::certificateToPem(cert->get())
                            : crypto::Result<std::string>(Error{cert.error()});
  if (cert_pem.ok() && *cert_pem == authority_->signingRootPem()) {
    return false;
  }
  const std::string previous = authority_->signingRootPem();
  if (auto status = authority_->rotate(files.first, files.second); !status.ok()) {
    REMORA_LOG(warn, "ca: not using the new root in %s (still signing with %s): %s",
               options_.ca_dir.c_str(), describe(previous).c_str(), status.error().c_str());
    return false;
  }
  const std::string current = authority_->signingRootPem();
  retiring_.erase(current);  // a rollback to a root still in its overlap
  retiring_[previous] = now + options_.overlap;
  REMORA_LOG(info,
             "ca: rotated to the root %s from %s; the replaced root %s stays trusted "
             "until %s",
             describe(current).c_str(), options_.ca_dir.c_str(), describe(previous).c_str(),
             crypto::formatTime(now + options_.overlap).c_str());
  return true;
}

void CaRoots::writeBundle() {
  const std::string bundle = authority_->rootsPem();
  if (options_.root_cert_out.empty() || bundle == written_bundle_) {
    return;
  }
  if (auto status = writeFileAtomically(options_.root_cert_out, bundle, 0644); !status.ok()) {
    REMORA_LOG(info, "ca: %s", status.error().c_str());
    return;
  }
  written_bundle_ = bundle;
}

}  // namespace remora::pilot::ca
