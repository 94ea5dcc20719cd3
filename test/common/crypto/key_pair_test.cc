#include "source/common/crypto/key_pair.h"

#include <openssl/pem.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/common/crypto/test_util.h"

namespace remora::crypto {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(KeyPairTest, GeneratesEcdsaP256ByDefault) {
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok()) << key.error();
  EXPECT_EQ(key->type(), KeyType::kEcdsaP256);
  EXPECT_EQ(key->bits(), 256);
  EXPECT_EQ(EVP_PKEY_get_base_id(key->get()), EVP_PKEY_EC);
  char group[64] = {};
  size_t length = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key->get(), group, sizeof(group), &length), 1);
  EXPECT_STREQ(group, "prime256v1");
}

TEST(KeyPairTest, GeneratesRsa2048) {
  auto key = KeyPair::generate(KeyType::kRsa);
  ASSERT_TRUE(key.ok()) << key.error();
  EXPECT_EQ(key->type(), KeyType::kRsa);
  EXPECT_EQ(key->bits(), 2048);
  EXPECT_EQ(EVP_PKEY_get_base_id(key->get()), EVP_PKEY_RSA);
}

TEST(KeyPairTest, GeneratedKeysDiffer) {
  auto a = KeyPair::generate();
  auto b = KeyPair::generate();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(EVP_PKEY_eq(a->get(), b->get()), 1);
}

class KeyPairRoundTripTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(KeyPairRoundTripTest, ExportsPkcs8AndLoadsItBack) {
  auto key = KeyPair::generate(GetParam());
  ASSERT_TRUE(key.ok()) << key.error();
  auto pem = key->privateKeyPem();
  ASSERT_TRUE(pem.ok()) << pem.error();
  EXPECT_THAT(*pem, StartsWith("-----BEGIN PRIVATE KEY-----\n"));  // PKCS#8, unencrypted

  auto loaded = KeyPair::fromPem(*pem);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(loaded->type(), GetParam());
  EXPECT_EQ(EVP_PKEY_eq(loaded->get(), key->get()), 1);
  EXPECT_EQ(*loaded->privateKeyPem(), *pem);
}

TEST_P(KeyPairRoundTripTest, ExportsPublicKey) {
  auto key = KeyPair::generate(GetParam());
  ASSERT_TRUE(key.ok()) << key.error();
  auto pem = key->publicKeyPem();
  ASSERT_TRUE(pem.ok()) << pem.error();
  EXPECT_THAT(*pem, StartsWith("-----BEGIN PUBLIC KEY-----\n"));
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  EvpPkeyPtr public_key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(public_key);
  EXPECT_EQ(EVP_PKEY_eq(public_key.get(), key->get()), 1);
}

TEST_P(KeyPairRoundTripTest, OpenSslToolReadsExportedKey) {
  auto key = KeyPair::generate(GetParam());
  ASSERT_TRUE(key.ok()) << key.error();
  const std::string path = test::writeTempFile("key.pem", *key->privateKeyPem());
  const auto result = test::runCommand("/usr/bin/openssl pkey -check -noout -in " + path);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("Key is valid"));
}

INSTANTIATE_TEST_SUITE_P(Types, KeyPairRoundTripTest,
                         ::testing::Values(KeyType::kEcdsaP256, KeyType::kRsa));

TEST(KeyPairTest, LoadsTraditionalEcFormat) {
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PrivateKey_traditional(bio.get(), key->get(), nullptr, nullptr, 0,
                                                 nullptr, nullptr),
            1);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<size_t>(length));
  ASSERT_THAT(pem, StartsWith("-----BEGIN EC PRIVATE KEY-----"));
  auto loaded = KeyPair::fromPem(pem);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(EVP_PKEY_eq(loaded->get(), key->get()), 1);
}

TEST(KeyPairTest, RejectsTraditionalEncryptedKey) {
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  BioPtr bio(BIO_new(BIO_s_mem()));
  unsigned char passphrase[] = "secret";
  ASSERT_EQ(
      PEM_write_bio_PrivateKey_traditional(bio.get(), key->get(), EVP_aes_128_cbc(), passphrase,
                                           sizeof(passphrase) - 1, nullptr, nullptr),
      1);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<size_t>(length));
  ASSERT_THAT(pem, HasSubstr("Proc-Type: 4,ENCRYPTED"));
  EXPECT_EQ(KeyPair::fromPem(pem).error(),
            "private key PEM: the key is encrypted (only unencrypted keys are supported)");
}

TEST(KeyPairTest, FindsKeyAfterOtherBlocks) {
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  // A combined file: public key (any non-private block) first, then the private key.
  auto loaded = KeyPair::fromPem(*key->publicKeyPem() + *key->privateKeyPem());
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(EVP_PKEY_eq(loaded->get(), key->get()), 1);
}

TEST(KeyPairTest, CopiesShareTheKey) {
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  KeyPair copy = *key;
  EXPECT_EQ(copy.get(), key->get());
  KeyPair assigned = *KeyPair::generate();
  assigned = copy;
  EXPECT_EQ(assigned.get(), key->get());
  const KeyPair& alias = assigned;
  assigned = alias;  // self-assignment keeps the key alive
  EXPECT_EQ(assigned.type(), KeyType::kEcdsaP256);
  EXPECT_EQ(EVP_PKEY_eq(assigned.get(), key->get()), 1);
}

TEST(KeyPairTest, RejectsGarbageAndPublicKeys) {
  EXPECT_EQ(KeyPair::fromPem("").error(), "private key PEM: no private key found");
  EXPECT_EQ(KeyPair::fromPem("not a key").error(), "private key PEM: no private key found");
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(KeyPair::fromPem(*key->publicKeyPem()).error(),
            "private key PEM: no private key found");
  const std::string pem = *key->privateKeyPem();
  EXPECT_THAT(KeyPair::fromPem(pem.substr(0, pem.size() - 40)).error(),
              StartsWith("private key PEM: malformed private key"));
  auto certificate_like = KeyPair::fromPem("-----BEGIN CERTIFICATE-----\nAAAA\n");
  EXPECT_EQ(certificate_like.error(), "private key PEM: no private key found");
}

TEST(KeyPairTest, RejectsEncryptedKeyWithoutPrompting) {
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  BioPtr bio(BIO_new(BIO_s_mem()));
  char passphrase[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), key->get(), EVP_aes_256_cbc(), passphrase,
                                          sizeof(passphrase) - 1, nullptr, nullptr),
            1);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<size_t>(length));
  ASSERT_THAT(pem, StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  EXPECT_EQ(KeyPair::fromPem(pem).error(),
            "private key PEM: the key is encrypted (only unencrypted keys are supported)");
}

TEST(KeyTypeOfTest, RejectsWeakOrUnsupportedKeys) {
  EvpPkeyPtr rsa1024(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024)));
  ASSERT_TRUE(rsa1024);
  EXPECT_EQ(keyTypeOf(rsa1024.get()).error(), "unsupported key: RSA with 1024 bits (minimum 2048)");

  EvpPkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  ASSERT_TRUE(p384);
  EXPECT_EQ(keyTypeOf(p384.get()).error(), "unsupported key: EC curve secp384r1 (only P-256)");

  EvpPkeyPtr ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_TRUE(ed25519);
  EXPECT_EQ(keyTypeOf(ed25519.get()).error(),
            "unsupported key: algorithm ED25519 (only EC P-256 and RSA)");
  EXPECT_FALSE(keyTypeOf(nullptr).ok());

  // fromPem applies the same rules; readAnyPrivateKeyPem does not.
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), p384.get(), nullptr, nullptr, 0, nullptr, nullptr),
            1);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<size_t>(length));
  EXPECT_EQ(KeyPair::fromPem(pem).error(),
            "private key PEM: unsupported key: EC curve secp384r1 (only P-256)");
  EXPECT_TRUE(readAnyPrivateKeyPem(pem).ok());
}

}  // namespace
}  // namespace remora::crypto
