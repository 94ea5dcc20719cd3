#include "source/common/crypto/key_pair.h"

#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "source/common/crypto/openssl_util.h"

namespace remora::crypto {
namespace {

// PEM passphrase callback that refuses: without it OpenSSL would prompt on the terminal for an
// encrypted key, blocking a server process.
int noPassphrase(char*, int, int, void*) { return -1; }

struct PemBlock {
  std::string_view label;  // "PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", ...
  std::string_view text;   // from the BEGIN line to the END line (or the end of input)
};

// The first PEM block whose label ends in "PRIVATE KEY"; an empty label if there is none.
PemBlock firstPrivateKeyBlock(std::string_view pem) {
  constexpr std::string_view kBegin = "-----BEGIN ";
  constexpr std::string_view kDashes = "-----";
  for (size_t begin = pem.find(kBegin); begin != std::string_view::npos;
       begin = pem.find(kBegin, begin + 1)) {
    const size_t label_start = begin + kBegin.size();
    const size_t label_end = pem.find(kDashes, label_start);
    if (label_end == std::string_view::npos) {
      break;
    }
    const std::string_view label = pem.substr(label_start, label_end - label_start);
    if (label.ends_with("PRIVATE KEY")) {
      const size_t end = pem.find("-----END ", label_end);
      return {label, pem.substr(begin, end == std::string_view::npos ? end : end - begin)};
    }
  }
  return {};
}

// Takes a new reference on `key` for a copy.
EvpPkeyPtr share(EVP_PKEY* key) {
  EVP_PKEY_up_ref(key);
  return EvpPkeyPtr(key);
}

}  // namespace

Result<KeyType> keyTypeOf(const EVP_PKEY* key) {
  OpenSslErrorScope errors;
  if (key == nullptr) {
    return Error{"unsupported key: no key"};
  }
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      char group[80] = {};
      size_t length = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof(group), &length) != 1) {
        return Error{"unsupported key: EC key without a named curve"};
      }
      if (OBJ_sn2nid(group) != NID_X9_62_prime256v1) {
        return Error{"unsupported key: EC curve " + std::string(group) + " (only P-256)"};
      }
      return KeyType::kEcdsaP256;
    }
    case EVP_PKEY_RSA: {
      const int bits = EVP_PKEY_get_bits(key);
      if (bits < kRsaMinBits) {
        return Error{"unsupported key: RSA with " + std::to_string(bits) + " bits (minimum " +
                     std::to_string(kRsaMinBits) + ")"};
      }
      if (bits > kRsaMaxBits) {
        return Error{"unsupported key: RSA with " + std::to_string(bits) + " bits (maximum " +
                     std::to_string(kRsaMaxBits) + ")"};
      }
      return KeyType::kRsa;
    }
    default: {
      const char* name = OBJ_nid2sn(EVP_PKEY_get_base_id(key));
      return Error{"unsupported key: algorithm " + std::string(name != nullptr ? name : "unknown") +
                   " (only EC P-256 and RSA)"};
    }
  }
}

Result<KeyPair> KeyPair::generate(KeyType type) {
  OpenSslErrorScope errors;
  EvpPkeyPtr key;
  switch (type) {
    case KeyType::kEcdsaP256:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
      break;
    case KeyType::kRsa:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(kRsaGenerateBits)));
      break;
  }
  if (!key) {
    return Error{withOpenSslReason("key generation failed")};
  }
  return KeyPair(std::move(key), type);
}

Result<EvpPkeyPtr> readAnyPrivateKeyPem(std::string_view pem) {
  OpenSslErrorScope errors;
  auto bio = readOnlyBio(pem);
  if (!bio.ok()) {
    return Error{"private key PEM: " + bio.error()};
  }
  // OpenSSL 3's decoders report every failure as "unsupported", so classify the input
  // ourselves first to give a useful message.
  const PemBlock block = firstPrivateKeyBlock(pem);
  if (block.label.empty()) {
    return Error{"private key PEM: no private key found"};
  }
  // PKCS#8 "ENCRYPTED PRIVATE KEY", or a traditional key with a "Proc-Type: 4,ENCRYPTED"
  // header (which base64 bodies cannot contain: no ':' or ',').
  if (block.label.starts_with("ENCRYPTED") ||
      block.text.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos) {
    return Error{"private key PEM: the key is encrypted (only unencrypted keys are supported)"};
  }
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio->get(), nullptr, noPassphrase, nullptr));
  if (!key) {
    return Error{withOpenSslReason("private key PEM: malformed private key")};
  }
  return key;
}

Result<KeyPair> KeyPair::fromPem(std::string_view private_key_pem) {
  auto key = readAnyPrivateKeyPem(private_key_pem);
  if (!key.ok()) {
    return Error{key.error()};
  }
  auto type = keyTypeOf(key->get());
  if (!type.ok()) {
    return Error{"private key PEM: " + type.error()};
  }
  return KeyPair(std::move(*key), *type);
}

KeyPair::KeyPair(const KeyPair& other) : key_(share(other.key_.get())), type_(other.type_) {}

KeyPair& KeyPair::operator=(const KeyPair& other) {
  if (this != &other) {
    key_ = share(other.key_.get());
    type_ = other.type_;
  }
  return *this;
}

int KeyPair::bits() const { return EVP_PKEY_get_bits(key_.get()); }

Result<std::string> KeyPair::privateKeyPem() const {
  OpenSslErrorScope errors;
  auto bio = writableBio();
  if (!bio.ok()) {
    return Error{bio.error()};
  }
  // Explicitly PKCS#8 (not the per-algorithm "EC PRIVATE KEY" form) so every consumer sees
  // one format whatever the key type.
  if (PEM_write_bio_PKCS8PrivateKey(bio->get(), key_.get(), nullptr, nullptr, 0, nullptr,
                                    nullptr) != 1) {
    return Error{withOpenSslReason("cannot encode private key as PEM")};
  }
  return bioContents(bio->get());
}

Result<std::string> KeyPair::publicKeyPem() const {
  OpenSslErrorScope errors;
  auto bio = writableBio();
  if (!bio.ok()) {
    return Error{bio.error()};
  }
  if (PEM_write_bio_PUBKEY(bio->get(), key_.get()) != 1) {
    return Error{withOpenSslReason("cannot encode public key as PEM")};
  }
  return bioContents(bio->get());
}

}  // namespace remora::crypto
