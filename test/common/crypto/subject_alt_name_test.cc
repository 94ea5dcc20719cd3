#include "source/common/crypto/subject_alt_name.h"

#include <openssl/x509v3.h>

#include "gtest/gtest.h"

namespace remora::crypto {
namespace {

// Decodes `extension` back into names.
GeneralNamesPtr decode(X509_EXTENSION* extension) {
  return GeneralNamesPtr(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(extension)));
}

TEST(UriSanExtensionTest, HoldsExactlyTheUri) {
  const std::string uri = "spiffe://cluster.local/ns/default/sa/productpage";
  auto extension = uriSanExtension(uri, /*critical=*/true);
  ASSERT_TRUE(extension.ok()) << extension.error();
  EXPECT_EQ(OBJ_obj2nid(X509_EXTENSION_get_object(extension->get())), NID_subject_alt_name);
  EXPECT_EQ(X509_EXTENSION_get_critical(extension->get()), 1);
  GeneralNamesPtr names = decode(extension->get());
  ASSERT_TRUE(names);
  EXPECT_EQ(sansFromGeneralNames(names.get()), (std::vector<SubjectAltName>{{SanType::kUri, uri}}));
}

TEST(UriSanExtensionTest, NonCriticalAndConfigSyntaxIsNotInterpreted) {
  // A comma would start a second name in OpenSSL's config syntax; here it stays data.
  const std::string uri = "spiffe://td/a,DNS:evil.example";
  auto extension = uriSanExtension(uri, /*critical=*/false);
  ASSERT_TRUE(extension.ok()) << extension.error();
  EXPECT_EQ(X509_EXTENSION_get_critical(extension->get()), 0);
  GeneralNamesPtr names = decode(extension->get());
  EXPECT_EQ(sansFromGeneralNames(names.get()), (std::vector<SubjectAltName>{{SanType::kUri, uri}}));
}

TEST(SanExtensionTest, HoldsDnsIpUriAndEmailInOrder) {
  const std::vector<SubjectAltName> sans = {
      {SanType::kDns, "remora-pilot.istio-system.svc"},
      {SanType::kIp, "127.0.0.1"},
      {SanType::kIp, "2001:db8::1"},
      {SanType::kUri, "spiffe://td/ns/a/sa/b"},
      {SanType::kEmail, "ops@example.com"},
  };
  auto extension = sanExtension(sans, /*critical=*/true);
  ASSERT_TRUE(extension.ok()) << extension.error();
  EXPECT_EQ(X509_EXTENSION_get_critical(extension->get()), 1);
  GeneralNamesPtr names = decode(extension->get());
  ASSERT_TRUE(names);
  EXPECT_EQ(sansFromGeneralNames(names.get()), sans);
}

TEST(SanExtensionTest, RejectsWhatItCannotEncode) {
  EXPECT_EQ(sanExtension({}, true).error(), "subjectAltName needs at least one name");
  EXPECT_EQ(sanExtension({{SanType::kIp, "10.0.0"}}, true).error(),
            "subjectAltName IP \"10.0.0\" is not an IP address");
  EXPECT_EQ(
      sanExtension({{SanType::kDns, "a.example"}, {SanType::kOther, "dirName"}}, true).error(),
      "subjectAltName: cannot encode a name of type other");
}

TEST(SansFromGeneralNamesTest, ReadsEveryType) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, nullptr, nullptr, nullptr, nullptr, 0);
  X509ExtensionPtr extension(
      X509V3_EXT_nconf_nid(nullptr, &context, NID_subject_alt_name,
                           "URI:spiffe://td/ns/a/sa/b,DNS:a.example.com,IP:10.1.2.3,IP:2001:db8::1,"
                           "email:ops@example.com,RID:1.2.3.4"));
  ASSERT_TRUE(extension);
  GeneralNamesPtr names = decode(extension.get());
  ASSERT_TRUE(names);
  const std::vector<SubjectAltName> sans = sansFromGeneralNames(names.get());
  EXPECT_EQ(sans, (std::vector<SubjectAltName>{
                      {SanType::kUri, "spiffe://td/ns/a/sa/b"},
                      {SanType::kDns, "a.example.com"},
                      {SanType::kIp, "10.1.2.3"},
                      {SanType::kIp, "2001:db8::1"},
                      {SanType::kEmail, "ops@example.com"},
                      {SanType::kOther, "registeredID"},
                  }));
  EXPECT_EQ(sanValuesOfType(sans, SanType::kIp),
            (std::vector<std::string>{"10.1.2.3", "2001:db8::1"}));
  EXPECT_TRUE(sanValuesOfType(sans, SanType::kUri).size() == 1);
}

TEST(SansFromGeneralNamesTest, NullMeansNone) {
  EXPECT_TRUE(sansFromGeneralNames(nullptr).empty());
}

TEST(SansFromGeneralNamesTest, MalformedIpLengthIsShownAsHex) {
  GeneralNamesPtr names(GENERAL_NAMES_new());
  GENERAL_NAME* name = GENERAL_NAME_new();
  ASN1_OCTET_STRING* address = ASN1_OCTET_STRING_new();
  ASSERT_EQ(
      ASN1_OCTET_STRING_set(address, reinterpret_cast<const unsigned char*>("\x0a\x00\x01"), 3), 1);
  GENERAL_NAME_set0_value(name, GEN_IPADD, address);
  ASSERT_GT(sk_GENERAL_NAME_push(names.get(), name), 0);
  EXPECT_EQ(sansFromGeneralNames(names.get()),
            (std::vector<SubjectAltName>{{SanType::kIp, "invalid IP address 0x0a0001"}}));
}

TEST(SanTypeNameTest, Names) {
  EXPECT_EQ(sanTypeName(SanType::kUri), "URI");
  EXPECT_EQ(sanTypeName(SanType::kDns), "DNS");
  EXPECT_EQ(sanTypeName(SanType::kIp), "IP");
  EXPECT_EQ(sanTypeName(SanType::kEmail), "email");
  EXPECT_EQ(sanTypeName(SanType::kOther), "other");
}

}  // namespace
}  // namespace remora::crypto
