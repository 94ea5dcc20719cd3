#include "source/pilot/ca/token_verifier.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/pilot/ca/base64url.h"
#include "source/pilot/ca/jws.h"
#include "source/pilot/ca/token_minter.h"
#include "test/pilot/ca/test_util.h"

namespace remora::pilot::ca {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;
using std::chrono::system_clock;

// A fixed clock: tokens are minted and checked against it, so time never flakes.
const system_clock::time_point kNow = system_clock::from_time_t(1'800'000'000);

crypto::KeyPair generate(crypto::KeyType type) {
  auto key = crypto::KeyPair::generate(type);
  EXPECT_TRUE(key.ok()) << key.error();
  return std::move(*key);
}

class TokenVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::makeTempDir();
    key_path_ = dir_ + "/keys.pem";
    // The file holds both keys, as an issuer's key set during its own rotation would.
    test::writeFile(key_path_, *rsa_.publicKeyPem() + *ec_.publicKeyPem());
    auto keys = TokenKeys::load(key_path_);
    ASSERT_TRUE(keys.ok()) << keys.error();
    keys_ = std::move(*keys);
  }

  // A verifier with the default options, changed by `edit`.
  TokenVerifier verifier(const std::function<void(TokenVerifier::Options&)>& edit = {}) {
    TokenVerifier::Options options;
    if (edit) edit(options);
    return {keys_, options};
  }

  // A token for shop/cart minted at kNow, its options changed by `edit`.
  static std::string mint(const crypto::KeyPair& key,
                          const std::function<void(MintOptions&)>& edit = {}) {
    MintOptions options;
    options.ns = "shop";
    options.service_account = "cart";
    if (edit) edit(options);
    auto token = mintServiceAccountToken(key, options, kNow);
    EXPECT_TRUE(token.ok()) << token.error();
    return *token;
  }

  // A token with exactly this header and payload JSON, signed by `key`.
  static std::string signedToken(const std::string& header_json, const std::string& payload_json,
                                 const crypto::KeyPair& key) {
    auto header = parseJsonObject(header_json);
    EXPECT_TRUE(header.ok()) << header.error();
    auto token = signCompactJws(*header, payload_json, key);
    EXPECT_TRUE(token.ok()) << token.error();
    return *token;
  }

  crypto::KeyPair rsa_ = generate(crypto::KeyType::kRsa);
  crypto::KeyPair ec_ = generate(crypto::KeyType::kEcdsaP256);
  std::string dir_;
  std::string key_path_;
  std::shared_ptr<const TokenKeys> keys_;
};

TEST_F(TokenVerifierTest, AcceptsRs256) {
  const std::string token = mint(rsa_);
  auto header = parseCompactJws(token);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->header.fields().at("alg").string_value(), "RS256");
  auto account = verifier().verify(token, kNow);
  ASSERT_TRUE(account.ok()) << account.error();
  EXPECT_EQ(*account, (ServiceAccount{"shop", "cart"}));
}

TEST_F(TokenVerifierTest, AcceptsEs256WithRawSignature) {
  const std::string token = mint(ec_);
  auto jws = parseCompactJws(token);
  ASSERT_TRUE(jws.ok());
  EXPECT_EQ(jws->header.fields().at("alg").string_value(), "ES256");
  EXPECT_EQ(jws->signature.size(), 64u);  // r||s, not DER
  auto account = verifier().verify(token, kNow + 30min);
  ASSERT_TRUE(account.ok()) << account.error();
  EXPECT_EQ(*account, (ServiceAccount{"shop", "cart"}));
}

TEST_F(TokenVerifierTest, RefusesExpiredTokenAfterLeeway) {
  const std::string token = mint(rsa_, [](MintOptions& o) { o.ttl = 1h; });
  EXPECT_TRUE(verifier().verify(token, kNow + 1h + 59s).ok());  // within the 60 s leeway
  auto expired = verifier().verify(token, kNow + 1h + 60s);
  ASSERT_FALSE(expired.ok());
  EXPECT_THAT(expired.error(), StartsWith("token expired at 2027-01-15T09:00:00Z (now "));
  EXPECT_THAT(expired.error(), HasSubstr("leeway 60s"));
}

TEST_F(TokenVerifierTest, RefusesTokenNotYetValid) {
  const std::string token = mint(rsa_);
  EXPECT_TRUE(verifier().verify(token, kNow - 60s).ok());  // clock skew is tolerated
  auto early = verifier().verify(token, kNow - 61s);
  ASSERT_FALSE(early.ok());
  EXPECT_THAT(early.error(), StartsWith("token is not valid before 2027-01-15T08:00:00Z"));
}

TEST_F(TokenVerifierTest, ChecksAudienceAsStringOrArray) {
  auto wrong = verifier().verify(mint(rsa_, [](MintOptions& o) { o.audience = "other"; }), kNow);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error(), "token audience [\"other\"] does not include \"istio-ca\"");
  EXPECT_TRUE(verifier([](TokenVerifier::Options& o) { o.audience = "other"; })
                  .verify(mint(rsa_, [](MintOptions& o) { o.audience = "other"; }), kNow)
                  .ok());

  const std::string payload =
      R"({"aud":"istio-ca","exp":1800003600,"sub":"system:serviceaccount:a:b"})";
  auto single = verifier().verify(signedToken(R"({"typ":"JWT"})", payload, ec_), kNow);
  ASSERT_TRUE(single.ok()) << single.error();
  const std::string many =
      R"({"aud":["x","istio-ca"],"exp":1800003600,"sub":"system:serviceaccount:a:b"})";
  EXPECT_TRUE(verifier().verify(signedToken("{}", many, ec_), kNow).ok());
  const std::string none = R"({"exp":1800003600,"sub":"system:serviceaccount:a:b"})";
  EXPECT_EQ(verifier().verify(signedToken("{}", none, ec_), kNow).error(),
            "token has no aud claim (expected \"istio-ca\")");
}

TEST_F(TokenVerifierTest, ChecksIssuerWhenConfigured) {
  const std::string token = mint(rsa_, [](MintOptions& o) { o.issuer = "https://issuer.example"; });
  EXPECT_TRUE(verifier().verify(token, kNow).ok());
  EXPECT_TRUE(verifier([](TokenVerifier::Options& o) { o.issuer = "https://issuer.example"; })
                  .verify(token, kNow)
                  .ok());
  auto wrong = verifier([](TokenVerifier::Options& o) {
                 o.issuer = "https://kubernetes.default.svc";
               }).verify(token, kNow);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error(),
            "token issuer \"https://issuer.example\" is not the expected "
            "\"https://kubernetes.default.svc\"");
}

TEST_F(TokenVerifierTest, RefusesUnknownKey) {
  const crypto::KeyPair stranger = generate(crypto::KeyType::kRsa);
  auto result = verifier().verify(mint(stranger), kNow);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(),
            "token signature does not verify with any of the 1 RSA keys in " + key_path_);

  test::writeFile(dir_ + "/ec_only.pem", *ec_.publicKeyPem());
  auto ec_only = TokenKeys::load(dir_ + "/ec_only.pem");
  ASSERT_TRUE(ec_only.ok());
  EXPECT_EQ(TokenVerifier(std::move(*ec_only), {}).verify(mint(rsa_), kNow).error(),
            "token is signed with RS256 but " + dir_ + "/ec_only.pem holds no RSA key");
}

TEST_F(TokenVerifierTest, RefusesAlgNoneAndHmac) {
  const std::string payload =
      base64UrlEncode(R"({"aud":"istio-ca","exp":1800003600,"sub":"system:serviceaccount:a:b"})");
  const std::string none = base64UrlEncode(R"({"alg":"none"})") + "." + payload + ".";
  EXPECT_EQ(verifier().verify(none, kNow).error(),
            "token algorithm \"none\" is not accepted (only RS256 and ES256)");
  // HS256 "signed" with the public key as the HMAC secret: the classic key-confusion attack.
  const std::string hs256 = base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." + payload +
                            "." + base64UrlEncode(std::string(32, 'x'));
  EXPECT_EQ(verifier().verify(hs256, kNow).error(),
            "token algorithm \"HS256\" is not accepted (only RS256 and ES256)");
  const std::string ps256 = base64UrlEncode(R"({"alg":"PS256"})") + "." + payload + ".AAAA";
  EXPECT_THAT(verifier().verify(ps256, kNow).error(), HasSubstr("\"PS256\" is not accepted"));
  const std::string no_alg = base64UrlEncode(R"({"typ":"JWT"})") + "." + payload + ".AAAA";
  EXPECT_EQ(verifier().verify(no_alg, kNow).error(), "token header has no alg");
}

TEST_F(TokenVerifierTest, RefusesAlgorithmThatDoesNotFitTheKey) {
  // An ES256 header on an RSA signature: only EC keys are tried, and none verifies.
  const std::string token = mint(rsa_);
  auto jws = parseCompactJws(token);
  ASSERT_TRUE(jws.ok());
  const std::string relabeled =
      base64UrlEncode(R"({"alg":"ES256"})") + token.substr(token.find('.'));
  EXPECT_EQ(verifier().verify(relabeled, kNow).error(),
            "token signature does not verify with any of the 1 EC P-256 keys in " + key_path_);
}

TEST_F(TokenVerifierTest, RefusesTamperedPayloadAndSignature) {
  for (const crypto::KeyPair* key : {&rsa_, &ec_}) {
    const std::string token = mint(*key);
    const size_t first = token.find('.');
    const size_t second = token.find('.', first + 1);
    // Another service account in an otherwise identical payload.
    auto jws = parseCompactJws(token);
    ASSERT_TRUE(jws.ok());
    std::string payload = jws->payload;
    payload.replace(payload.find("\"cart\""), 6, "\"admin\"");
    const std::string forged =
        token.substr(0, first + 1) + base64UrlEncode(payload) + token.substr(second);
    EXPECT_THAT(verifier().verify(forged, kNow).error(),
                StartsWith("token signature does not verify"));

    std::string signature = *base64UrlDecode(token.substr(second + 1));
    signature[signature.size() / 2] ^= 0x01;
    const std::string bad_signature = token.substr(0, second + 1) + base64UrlEncode(signature);
    EXPECT_THAT(verifier().verify(bad_signature, kNow).error(),
                StartsWith("token signature does not verify"));
  }
}

TEST_F(TokenVerifierTest, RefusesMalformedTokens) {
  auto v = verifier();
  EXPECT_EQ(v.verify("", kNow).error(), "empty token");
  EXPECT_EQ(v.verify("abc", kNow).error(),
            "token is malformed: not a JWT: expected 3 dot-separated parts, found 1");
  EXPECT_EQ(v.verify("a.b.c.d", kNow).error(),
            "token is malformed: not a JWT: expected 3 dot-separated parts, found 4");
  EXPECT_EQ(v.verify("e30=.e30.AAAA", kNow).error(),
            "token is malformed: JWT header is not base64url");
  EXPECT_EQ(v.verify("e30.e3*.AAAA", kNow).error(),
            "token is malformed: JWT payload is not base64url");
  EXPECT_THAT(v.verify(base64UrlEncode("[1]") + ".e30.AAAA", kNow).error(),
              StartsWith("token is malformed: JWT header is not a JSON object: "));
  EXPECT_THAT(v.verify(std::string(20000, 'a'), kNow).error(), HasSubstr("longer than"));
  EXPECT_THAT(
      v.verify(base64UrlEncode(R"({"alg":"RS256","crit":["exp"]})") + ".e30.AAAA", kNow).error(),
      HasSubstr("critical extensions"));
  // A genuine signature over a payload that is not JSON.
  EXPECT_THAT(v.verify(signedToken("{}", "not json", ec_), kNow).error(),
              StartsWith("token payload is not a JSON object: "));
  EXPECT_EQ(v.verify(signedToken("{}", R"({"aud":"istio-ca","exp":"soon"})", ec_), kNow).error(),
            "token claim exp is not a NumericDate");
  EXPECT_EQ(v.verify(signedToken("{}", R"({"aud":"istio-ca"})", ec_), kNow).error(),
            "token has no exp claim (tokens that never expire are not accepted)");
}

TEST_F(TokenVerifierTest, IdentityFromSubAlone) {
  const std::string legacy =
      R"({"aud":["istio-ca"],"exp":1800003600,"sub":"system:serviceaccount:billing:invoicer"})";
  auto account = verifier().verify(signedToken("{}", legacy, rsa_), kNow);
  ASSERT_TRUE(account.ok()) << account.error();
  EXPECT_EQ(*account, (ServiceAccount{"billing", "invoicer"}));

  for (const char* sub : {"system:serviceaccount:billing", "system:serviceaccount::x",
                          "system:serviceaccount:a:b:c", "user:alice"}) {
    const std::string payload =
        std::string(R"({"aud":"istio-ca","exp":1800003600,"sub":")") + sub + "\"}";
    EXPECT_THAT(verifier().verify(signedToken("{}", payload, rsa_), kNow).error(),
                StartsWith("token names no service account"))
        << sub;
  }
  const std::string broken =
      R"({"aud":"istio-ca","exp":1800003600,"kubernetes.io":{"namespace":"a"}})";
  EXPECT_EQ(verifier().verify(signedToken("{}", broken, rsa_), kNow).error(),
            "token claim kubernetes.io lacks namespace or serviceaccount.name (strings)");
}

TEST_F(TokenVerifierTest, ProjectedClaimsWinOverSub) {
  const std::string payload =
      R"({"aud":"istio-ca","exp":1800003600,"sub":"system:serviceaccount:x:y",)"
      R"("kubernetes.io":{"namespace":"shop","serviceaccount":{"name":"cart","uid":"1"}}})";
  auto account = verifier().verify(signedToken("{}", payload, ec_), kNow);
  ASSERT_TRUE(account.ok()) << account.error();
  EXPECT_EQ(*account, (ServiceAccount{"shop", "cart"}));
}

TEST_F(TokenVerifierTest, NoKeysRefusesEverything) {
  EXPECT_THAT(TokenVerifier(nullptr, {}).verify(mint(rsa_), kNow).error(),
              HasSubstr("no token keys are configured"));
}

TEST_F(TokenVerifierTest, ChangedKeyFileIsReadAgain) {
  const crypto::KeyPair next = generate(crypto::KeyType::kEcdsaP256);
  auto v = verifier();
  EXPECT_FALSE(v.verify(mint(next), kNow).ok());
  // Replaced the way a Kubernetes mount does: a new file renamed over the old one.
  test::writeFile(key_path_ + ".new", *next.publicKeyPem());
  ASSERT_EQ(std::rename((key_path_ + ".new").c_str(), key_path_.c_str()), 0);
  EXPECT_TRUE(v.verify(mint(next), kNow).ok());
  EXPECT_FALSE(v.verify(mint(rsa_), kNow).ok());

  // A broken file keeps the last good keys.
  test::writeFile(key_path_ + ".new", "garbage");
  ASSERT_EQ(std::rename((key_path_ + ".new").c_str(), key_path_.c_str()), 0);
  EXPECT_TRUE(v.verify(mint(next), kNow).ok());
}

TEST(TokenKeysTest, ReadsEveryKindOfBlock) {
  const crypto::KeyPair rsa = generate(crypto::KeyType::kRsa);
  const crypto::KeyPair ec = generate(crypto::KeyType::kEcdsaP256);
  // A private key (like the Kubernetes API server's key file) contributes its public half.
  auto keys = parseTokenKeys("comment\n" + *rsa.publicKeyPem() + *ec.privateKeyPem());
  ASSERT_TRUE(keys.ok()) << keys.error();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].type, crypto::KeyType::kRsa);
  EXPECT_EQ((*keys)[1].type, crypto::KeyType::kEcdsaP256);

  EXPECT_THAT(parseTokenKeys("nothing here").error(), StartsWith("no public key found"));
  EXPECT_THAT(
      parseTokenKeys("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").error(),
      StartsWith("PEM block 1 (PUBLIC KEY): a malformed PUBLIC KEY"));
}

TEST(TokenKeysTest, RefusesWeakAndUnsupportedKeys) {
  const std::string dir = test::makeTempDir();
  auto made = test::runCommand(
      "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 "
      "2>/dev/null | openssl pkey -pubout -out " +
      dir + "/weak.pem");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  EXPECT_EQ(parseTokenKeys(test::readFile(dir + "/weak.pem")).error(),
            "PEM block 1 (PUBLIC KEY): unsupported key: RSA with 1024 bits (minimum 2048)");
  made = test::runCommand(
      "openssl genpkey -algorithm ED25519 2>/dev/null | openssl pkey -pubout "
      "-out " +
      dir + "/ed.pem");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  EXPECT_THAT(parseTokenKeys(test::readFile(dir + "/ed.pem")).error(),
              StartsWith("PEM block 1 (PUBLIC KEY): unsupported key"));
}

TEST(Base64UrlTest, RoundTripsAndIsStrict) {
  for (const std::string bytes : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe"}) {
    EXPECT_EQ(base64UrlDecode(base64UrlEncode(bytes)), bytes);
  }
  EXPECT_EQ(base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(base64UrlDecode("Zg=="));   // padding
  EXPECT_FALSE(base64UrlDecode("Z+8"));    // the standard alphabet
  EXPECT_FALSE(base64UrlDecode("Zm9vY"));  // 4n+1 characters
}

}  // namespace
}  // namespace remora::pilot::ca
