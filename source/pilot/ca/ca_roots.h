#pragma once

// The CA's roots over time.
//
// At start the signing root is the plug-in root in --ca-dir (ca-cert.pem + ca-key.pem, like
// Istio's cacerts), or a root generated into an empty --ca-dir (so a restart keeps the mesh's
// identity), or, without --ca-dir, an in-memory root (development only). poll(), called about
// once a second, makes a different root that appears in --ca-dir the signer; the replaced
// root stays in the trust bundle for the overlap, then is dropped. The bundle (all trusted
// roots, PEM) is written to --root-cert-out, atomically, at start and whenever it changes.
//
// A restart during an overlap would otherwise forget the replaced root, which still verifies
// live workload certificates: so at start the older roots in an existing --root-cert-out file
// (not expired) are trusted again for a full overlap.
//
// Threads: open() and poll() run on one thread (pilot's main loop). authority() is thread-safe
// and is used concurrently by the signing threads.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "source/common/crypto/certificate_authority.h"
#include "source/common/crypto/result.h"

namespace remora::pilot::ca {

inline constexpr char kCaCertFile[] = "ca-cert.pem";
inline constexpr char kCaKeyFile[] = "ca-key.pem";

// The trust bundle of `authority`, one PEM certificate per root, the signing root first.
std::vector<std::string> trustBundle(const crypto::CertificateAuthority& authority);

class CaRoots {
 public:
  struct Options {
    std::string ca_dir;         // empty: an in-memory root
    std::string root_cert_out;  // empty: the bundle is not written
    std::chrono::seconds overlap{std::chrono::hours(48)};
  };

  // Loads or creates the signing root and writes the bundle. Errors: --ca-dir holds only one
  // of the two files, or a root that cannot sign (expired, not a CA, key does not match); a
  // generated root or the bundle cannot be written.
  static crypto::Result<std::unique_ptr<CaRoots>> open(const Options& options,
                                                       std::chrono::system_clock::time_point now);

  const crypto::CertificateAuthority& authority() const { return *authority_; }

  // Looks for a new root in --ca-dir and drops replaced roots whose overlap ended at `now`.
  // A new pair of files is used once it reads the same on two polls in a row, so that the two
  // files being replaced one after the other is not mistaken for a broken root. A root that
  // cannot sign is reported on stderr and the current one kept. Returns whether the signing
  // root or the bundle changed.
  bool poll(std::chrono::system_clock::time_point now);

 private:
  using FilePair = std::pair<std::string, std::string>;  // ca-cert.pem, ca-key.pem contents

  CaRoots(Options options, std::unique_ptr<crypto::CertificateAuthority> authority)
      : options_(std::move(options)), authority_(std::move(authority)) {}
  // Both files of --ca-dir, or nullopt if either is missing.
  std::optional<FilePair> readCaDir() const;
  bool rotateTo(const FilePair& files, std::chrono::system_clock::time_point now);
  void writeBundle();

  const Options options_;
  std::unique_ptr<crypto::CertificateAuthority> authority_;
  // Replaced roots (PEM as the authority holds them) still trusted, and when each is dropped.
  std::map<std::string, std::chrono::system_clock::time_point> retiring_;
  FilePair applied_;                 // the --ca-dir contents last acted on
  std::optional<FilePair> pending_;  // new contents seen once, waiting to read the same again
  bool missing_reported_ = false;
  std::string written_bundle_;  // what --root-cert-out holds
};

}  // namespace remora::pilot::ca
