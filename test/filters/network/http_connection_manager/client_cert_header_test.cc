// x-forwarded-client-cert: the element the proxy builds from a verified peer certificate, and
// what each forward_client_cert_details mode does with what the client sent.

#include "filters/network/http_connection_manager/client_cert_header.h"

#include "gtest/gtest.h"

namespace remora::filters::hcm {
namespace {

constexpr const char* kHash = "3f1a0c2e9b7d4f5a6b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c";

network::SslConnectionInfo verifiedPeer() {
  network::SslConnectionInfo ssl;
  ssl.peer_certificate_presented = true;
  ssl.peer_certificate_validated = true;
  ssl.local_uri_san = "spiffe://cluster.local/ns/default/sa/reviews";
  ssl.peer_certificate_sha256 = kHash;
  ssl.peer_subject = "CN=productpage,O=remora \"test\"";
  ssl.peer_uri_sans = {"spiffe://cluster.local/ns/default/sa/productpage"};
  ssl.peer_dns_sans = {"productpage.default.svc", "pp.local"};
  ssl.peer_principal = ssl.peer_uri_sans[0];
  ssl.peer_certificates_pem = [](bool chain) {
    return std::string(chain ? "-----LEAF+/=\n-----ROOT\n" : "-----LEAF+/=\n");
  };
  return ssl;
}

TEST(ClientCertHeaderTest, ElementInEnvoysFormat) {
  auto ssl = verifiedPeer();
  EXPECT_EQ(clientCertElement(ssl, {}),
            std::string("By=spiffe://cluster.local/ns/default/sa/reviews;Hash=") + kHash);
  ClientCertDetails uri;
  uri.uri = true;
  EXPECT_EQ(clientCertElement(ssl, uri),
            std::string("By=spiffe://cluster.local/ns/default/sa/reviews;Hash=") + kHash +
                ";URI=spiffe://cluster.local/ns/default/sa/productpage");
  ClientCertDetails all{true, true, true, true, true};
  EXPECT_EQ(clientCertElement(ssl, all),
            std::string("By=spiffe://cluster.local/ns/default/sa/reviews;Hash=") + kHash +
                ";Cert=\"-----LEAF%2B%2F%3D%0A\""
                ";Chain=\"-----LEAF%2B%2F%3D%0A-----ROOT%0A\""
                ";Subject=\"CN=productpage,O=remora \\\"test\\\"\""
                ";URI=spiffe://cluster.local/ns/default/sa/productpage"
                ";DNS=productpage.default.svc;DNS=pp.local");
}

TEST(ClientCertHeaderTest, SeparatorsInASanCannotAddFields) {
  auto ssl = verifiedPeer();
  ssl.peer_uri_sans = {"spiffe://x/y;By=spiffe://admin"};
  ClientCertDetails uri;
  uri.uri = true;
  std::string element = clientCertElement(ssl, uri);
  EXPECT_NE(element.find(";URI=\"spiffe://x/y;By=spiffe://admin\""), std::string::npos) << element;
}

struct Case {
  ForwardClientCert mode;
  bool mtls;
  const char* expected;  // nullptr: no header
};

TEST(ClientCertHeaderTest, ModesWithAForgedHeader) {
  const std::string ours = std::string("By=spiffe://cluster.local/ns/default/sa/reviews;Hash=") +
                           kHash + ";URI=spiffe://cluster.local/ns/default/sa/productpage";
  const std::string forged = "By=spiffe://evil;Hash=00;URI=spiffe://cluster.local/ns/x/sa/admin";
  const std::string appended = forged + "," + ours;
  const Case cases[] = {
      {ForwardClientCert::kSanitize, true, nullptr},
      {ForwardClientCert::kSanitize, false, nullptr},
      {ForwardClientCert::kForwardOnly, true, forged.c_str()},
      {ForwardClientCert::kForwardOnly, false, nullptr},
      {ForwardClientCert::kAppendForward, true, appended.c_str()},
      {ForwardClientCert::kAppendForward, false, nullptr},
      {ForwardClientCert::kSanitizeSet, true, ours.c_str()},
      {ForwardClientCert::kSanitizeSet, false, nullptr},
      {ForwardClientCert::kAlwaysForwardOnly, true, forged.c_str()},
      {ForwardClientCert::kAlwaysForwardOnly, false, forged.c_str()},
  };
  auto verified = verifiedPeer();
  for (const auto& c : cases) {
    http::HeaderMap request;
    request.add(":path", "/");
    request.add("x-forwarded-client-cert", forged);
    ClientCertConfig config;
    config.mode = c.mode;
    config.details.uri = true;
    applyClientCertHeader(request, c.mtls ? &verified : nullptr, config);
    auto value = request.get("x-forwarded-client-cert");
    int index = static_cast<int>(&c - cases);
    if (c.expected == nullptr) {
      EXPECT_FALSE(value.has_value()) << "case " << index << ": " << *value;
    } else {
      ASSERT_TRUE(value.has_value()) << "case " << index;
      EXPECT_EQ(*value, c.expected) << "case " << index;
    }
  }
}

TEST(ClientCertHeaderTest, NothingIsSetWithoutAVerifiedCertificate) {
  auto unverified = verifiedPeer();
  unverified.peer_certificate_validated = false;
  network::SslConnectionInfo no_certificate;  // TLS without a client certificate
  for (const auto* ssl : {&unverified, &no_certificate}) {
    http::HeaderMap request;
    request.add("x-forwarded-client-cert", "Hash=forged");
    request.add("x-forwarded-client-cert", "Hash=forged2");
    applyClientCertHeader(request, ssl, {ForwardClientCert::kSanitizeSet, {}});
    EXPECT_FALSE(request.has("x-forwarded-client-cert"));
  }
}

}  // namespace
}  // namespace remora::filters::hcm
