#pragma once

// A private key (with its public half) held in memory: generated for a workload's certificate
// or a CA root, or loaded from PEM. The private key PEM is only ever handed to an in-memory
// SSL_CTX or the CA; nothing here writes to disk.

#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "source/common/crypto/openssl_ptr.h"
#include "source/common/crypto/result.h"

namespace remora::crypto {

// The key algorithms this library generates and accepts.
enum class KeyType {
  kEcdsaP256,  // ECDSA on NIST P-256 (prime256v1): the default, small and fast
  kRsa,        // RSA; generated keys are kRsaGenerateBits long, loaded ones 2048..16384 bits
};

inline constexpr int kRsaGenerateBits = 2048;
inline constexpr int kRsaMinBits = 2048;
inline constexpr int kRsaMaxBits = 16384;

// The type of `key` (public or private). Errors name the unsupported algorithm, curve or
// size, e.g. "unsupported key: RSA with 1024 bits (minimum 2048)". Used to vet keys loaded
// from PEM and the public keys of CSRs before the CA certifies them.
Result<KeyType> keyTypeOf(const EVP_PKEY* key);

// Reads an unencrypted private key of any algorithm from the first "... PRIVATE KEY" PEM block
// in `pem` (other blocks, e.g. certificates, are skipped), without the type checks of
// KeyPair::fromPem. Never prompts for a passphrase. Errors: "private key PEM: no private key
// found", an encrypted key, or a malformed one.
Result<EvpPkeyPtr> readAnyPrivateKeyPem(std::string_view pem);

class KeyPair {
 public:
  // A new random key of `type`. Errors: OpenSSL key generation failure.
  static Result<KeyPair> generate(KeyType type = KeyType::kEcdsaP256);

  // Loads an unencrypted private key from PEM (PKCS#8 "PRIVATE KEY", or the traditional
  // "EC PRIVATE KEY" / "RSA PRIVATE KEY"). Errors: as readAnyPrivateKeyPem (never prompts
  // for a passphrase), or an unsupported key type (see keyTypeOf).
  static Result<KeyPair> fromPem(std::string_view private_key_pem);

  // Copies share the underlying (reference-counted, immutable) EVP_PKEY.
  KeyPair(const KeyPair& other);
  KeyPair& operator=(const KeyPair& other);
  KeyPair(KeyPair&&) noexcept = default;
  KeyPair& operator=(KeyPair&&) noexcept = default;
  ~KeyPair() = default;

  KeyType type() const { return type_; }
  // Key size in bits (256 for P-256).
  int bits() const;

  // The private key as unencrypted PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"). Secret: hand
  // it to an in-memory consumer and clear the string when done. Errors: encoding failure.
  Result<std::string> privateKeyPem() const;

  // The public key as SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----").
  // Errors: encoding failure.
  Result<std::string> publicKeyPem() const;

  // The OpenSSL key, borrowed: valid while this KeyPair (or a copy) lives. Never null.
  EVP_PKEY* get() const { return key_.get(); }

 private:
  KeyPair(EvpPkeyPtr key, KeyType type) : key_(std::move(key)), type_(type) {}

  EvpPkeyPtr key_;
  KeyType type_;
};

}  // namespace remora::crypto
