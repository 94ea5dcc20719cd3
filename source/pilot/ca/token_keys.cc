#include "source/pilot/ca/token_keys.h"
#include "source/common/common/logger.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <openssl/pem.h>

#include "source/common/crypto/openssl_util.h"

namespace remora::pilot::ca {

using crypto::Error;
using crypto::EvpPkeyPtr;

namespace {

// The public key of one PEM block, null for a block kind that holds no key. Private keys are
// reduced to their public half so that no secret stays in the verifier's memory.
crypto::Result<EvpPkeyPtr> publicKeyOf(const std::string& name, const unsigned char* der,
                                       long length) {
  EvpPkeyPtr key;
  if (name == "PUBLIC KEY") {
    key.reset(d2i_PUBKEY(nullptr, &der, length));
  } else if (name == "RSA PUBLIC KEY") {
    key.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &der, length));
  } else if (name == "CERTIFICATE") {
    crypto::X509Ptr cert(d2i_X509(nullptr, &der, length));
    if (cert) key.reset(X509_get_pubkey(cert.get()));
  } else if (name == "PRIVATE KEY" || name == "RSA PRIVATE KEY" || name == "EC PRIVATE KEY") {
    EvpPkeyPtr private_key(d2i_AutoPrivateKey(nullptr, &der, length));
    unsigned char* spki = nullptr;
    const int spki_length = private_key ? i2d_PUBKEY(private_key.get(), &spki) : 0;
    if (spki_length > 0) {
      const unsigned char* cursor = spki;
      key.reset(d2i_PUBKEY(nullptr, &cursor, spki_length));
    }
    OPENSSL_free(spki);
  } else if (name == "ENCRYPTED PRIVATE KEY") {
    return Error{"an encrypted private key (give the public key instead)"};
  } else {
    return EvpPkeyPtr();
  }
  if (!key) {
    return Error{crypto::withOpenSslReason("a malformed " + name)};
  }
  return key;
}

}  // namespace

crypto::Result<TokenKeySet> parseTokenKeys(std::string_view pem) {
  crypto::OpenSslErrorScope errors;
  auto bio = crypto::readOnlyBio(pem);
  if (!bio.ok()) {
    return Error{bio.error()};
  }
  TokenKeySet keys;
  for (int block = 1;; ++block) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long length = 0;
    if (PEM_read_bio(bio->get(), &name, &header, &data, &length) != 1) {
      if (!crypto::lastErrorIsPemNoStartLine()) {
        return Error{
            crypto::withOpenSslReason("PEM block " + std::to_string(block) + " is malformed")};
      }
      break;
    }
    auto key = publicKeyOf(name, data, length);
    const std::string kind = name;
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    if (!key.ok()) {
      return Error{"PEM block " + std::to_string(block) + " (" + kind + "): " + key.error()};
    }
    if (!*key) {
      continue;
    }
    auto type = crypto::keyTypeOf(key->get());
    if (!type.ok()) {
      return Error{"PEM block " + std::to_string(block) + " (" + kind + "): " + type.error()};
    }
    keys.push_back({std::move(*key), *type});
  }
  if (keys.empty()) {
    return Error{"no public key found (expected PEM PUBLIC KEY, CERTIFICATE or key blocks)"};
  }
  return keys;
}

TokenKeys::Version TokenKeys::versionOf(const struct stat& info) {
  return {info.st_dev, info.st_ino, info.st_size,
          int64_t{info.st_mtim.tv_sec} * 1'000'000'000 + info.st_mtim.tv_nsec};
}

crypto::Result<std::shared_ptr<const TokenKeySet>> TokenKeys::read(const std::string& path,
                                                                   Version& version) {
  // Stat the open file, not the path, so the version always describes the bytes read even
  // when the file is replaced meanwhile.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat info {};
  if (fd < 0 || ::fstat(fd, &info) != 0) {
    const std::string reason = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return Error{path + ": cannot read: " + reason};
  }
  version = versionOf(info);
  std::string pem;
  char buffer[8192];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) {
    pem.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  auto keys = parseTokenKeys(pem);
  if (!keys.ok()) {
    return Error{path + ": " + keys.error()};
  }
  return std::make_shared<const TokenKeySet>(std::move(*keys));
}

crypto::Result<std::unique_ptr<TokenKeys>> TokenKeys::load(const std::string& path) {
  std::unique_ptr<TokenKeys> keys(new TokenKeys(path));
  auto read_keys = read(path, keys->version_);
  if (!read_keys.ok()) {
    return Error{read_keys.error()};
  }
  keys->keys_ = std::move(*read_keys);
  return keys;
}

std::shared_ptr<const TokenKeySet> TokenKeys::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  struct stat info {};
  if (::stat(path_.c_str(), &info) == 0) {
    const Version now = versionOf(info);
    if (now != version_) {
      Version read_version;
      auto fresh = read(path_, read_version);
      // Remember the version even when it failed, so a bad file is reported once, not on
      // every request; the next change is tried again.
      version_ = read_version == Version{} ? now : read_version;
      if (fresh.ok()) {
        keys_ = std::move(*fresh);
        REMORA_LOG(info, "ca: token keys reloaded from %s (%zu keys)", path_.c_str(),
                   keys_->size());
      } else {
        REMORA_LOG(warn, "ca: token keys not reloaded, keeping the last %zu: %s", keys_->size(),
                   fresh.error().c_str());
      }
    }
  }
  return keys_;
}

}  // namespace remora::pilot::ca
