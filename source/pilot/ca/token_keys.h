#pragma once

// The public keys that verify callers' tokens, read from one PEM file (--token-public-key) and
// read again whenever the file changes, so the token issuer's keys can be added or rotated
// without restarting pilot. Like the Kubernetes API server's --service-account-key-file, the
// file may hold several PUBLIC KEY, RSA PUBLIC KEY, CERTIFICATE or (unencrypted) private key
// blocks; only their public halves are kept. Other blocks (EC PARAMETERS, ...) are skipped.

#include <sys/stat.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "source/common/crypto/key_pair.h"
#include "source/common/crypto/openssl_ptr.h"
#include "source/common/crypto/result.h"

namespace remora::pilot::ca {

struct TokenKey {
  crypto::EvpPkeyPtr public_key;  // never null
  crypto::KeyType type;           // RSA (>= 2048 bits) or EC P-256
};
using TokenKeySet = std::vector<TokenKey>;

// The public keys in `pem`, in order. Errors: no key at all, a malformed block, an encrypted
// private key, a key of an unsupported type or size (naming the block's position).
crypto::Result<TokenKeySet> parseTokenKeys(std::string_view pem);

// Thread-safe: current() may be called from any number of threads.
class TokenKeys {
 public:
  // Reads `path`. Errors: the file cannot be read, or as parseTokenKeys (prefixed with the path).
  static crypto::Result<std::unique_ptr<TokenKeys>> load(const std::string& path);

  // The keys now in force. The file is checked first (one stat) and read again if it changed
  // since the last read; a changed file that does not load keeps the previous keys in force
  // and is reported on stderr once per change. The returned set stays valid while held.
  std::shared_ptr<const TokenKeySet> current() const;

  const std::string& path() const { return path_; }

 private:
  // What identifies one version of the file. A replaced file (a Kubernetes ConfigMap or
  // Secret mount swaps a symlink) has another inode; an edited one another mtime or size.
  struct Version {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Version&) const = default;
  };
  static Version versionOf(const struct stat& info);
  static crypto::Result<std::shared_ptr<const TokenKeySet>> read(const std::string& path,
                                                                 Version& version);

  explicit TokenKeys(std::string path) : path_(std::move(path)) {}

  const std::string path_;
  mutable std::mutex mutex_;
  mutable Version version_;                          // guarded by mutex_
  mutable std::shared_ptr<const TokenKeySet> keys_;  // guarded by mutex_
};

}  // namespace remora::pilot::ca
