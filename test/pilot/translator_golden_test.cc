// Golden tests of pilot's translation: each case folder holds manifests; the expected output
// (the errors, then every resource as JSON, by type and name) sits next to them in
// expected_<namespace>.txt. To regenerate after an intended change:
//   UPDATE_GOLDEN=$PWD bazel run //test/pilot:translator_golden_test

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"
#include "source/pilot/document/document_from_yaml.h"
#include "source/pilot/translator.h"
#include "test/pilot/translator_golden_render.h"

namespace remora::pilot {
namespace {

using testing::readGoldenFile;
using testing::renderGolden;

void checkGolden(const std::string& manifests, const std::string& expected_path,
                 const std::string& ns, const std::string& pod = "") {
  std::vector<ManifestError> errors;
  auto objects = loadManifests(manifests, errors);
  Translator translator(std::move(objects), TranslateOptions{});
  std::string actual = renderGolden(errors, translator, ns, pod);
  if (const char* update = std::getenv("UPDATE_GOLDEN")) {
    std::ofstream(std::string(update) + "/" + expected_path) << actual;
    return;
  }
  std::string expected = readGoldenFile(expected_path);
  EXPECT_EQ(actual, expected) << "if intended, regenerate: UPDATE_GOLDEN=$PWD bazel run "
                                 "//test/pilot:translator_golden_test";
}

TEST(TranslatorGoldenTest, MeshExample) {
  checkGolden("docs/examples/mesh", "test/pilot/testdata/mesh_example_default.txt", "default");
}

TEST(TranslatorGoldenTest, KitchenSinkFromDefault) {
  checkGolden("test/pilot/testdata/kitchen_sink",
              "test/pilot/testdata/kitchen_sink/expected_default.txt", "default");
}

// A proxy in another namespace gets the same route configurations (shared by the whole
// mesh): its short names are its own to expand with the search suffixes, its namespace first
// (host_search_suffixes_test and host_search_integration_test show the expansion).
TEST(TranslatorGoldenTest, ShortNamesFollowTheProxyNamespace) {
  checkGolden("test/pilot/testdata/kitchen_sink",
              "test/pilot/testdata/kitchen_sink/expected_data.txt", "data");
}

TEST(TranslatorGoldenTest, SidecarOfAPodGetsItsInboundPortsAndPolicy) {
  checkGolden("test/pilot/testdata/sidecar", "test/pilot/testdata/sidecar/expected_reviews.txt",
              "default", "reviews-1");
}

// Mutual TLS (testdata/mtls): payments-1 in shop, where the mesh is STRICT and its own policy
// makes exceptions per port (DISABLE, PERMISSIVE, an undeclared PERMISSIVE port); its clusters
// show automatic mTLS on and off and every DestinationRule tls mode.
TEST(TranslatorGoldenTest, MutualTlsOfAPodWithPortLevelExceptions) {
  checkGolden("test/pilot/testdata/mtls", "test/pilot/testdata/mtls/expected_payments-1.txt",
              "shop", "payments-1");
}

// The same manifests from a pod of a PERMISSIVE namespace.
TEST(TranslatorGoldenTest, MutualTlsOfAPodInAPermissiveNamespace) {
  checkGolden("test/pilot/testdata/mtls", "test/pilot/testdata/mtls/expected_web-1.txt", "legacy",
              "web-1");
}

// Authorization (testdata/authz): reviews-1 is selected by the shipped example policy and the
// mesh-wide DENY, so its inbound HTTP chains run the HTTP RBAC filter and its TCP chains the
// network one; ratings-1 gets only the mesh-wide policy.
TEST(TranslatorGoldenTest, AuthorizationPoliciesGuardTheSelectedWorkloadsInboundChains) {
  checkGolden("test/pilot/testdata/authz", "test/pilot/testdata/authz/expected_reviews-1.txt",
              "default", "reviews-1");
  checkGolden("test/pilot/testdata/authz", "test/pilot/testdata/authz/expected_ratings-1.txt",
              "default", "ratings-1");
}

// A policy broken by an edit keeps its last good version (never widening access); one that
// was never valid is left out.
TEST(TranslatorGoldenTest, BrokenAuthorizationPolicyKeepsItsLastGoodVersion) {
  auto policy = [](const std::string& action) {
    Object o;
    o.file = "authz.yaml";
    o.kind = "AuthorizationPolicy";
    o.ns = "default";
    o.name = "only-get";
    o.document = documentFromYaml(
        YAML::Load("apiVersion: security.istio.io/v1beta1\nkind: AuthorizationPolicy\n"
                   "metadata: {name: only-get, namespace: default}\nspec:\n  action: " +
                   action + "\n  rules: [{to: [{operation: {methods: [GET]}}]}]\n"));
    return o;
  };
  Translator good({policy("ALLOW")}, TranslateOptions{});
  Translator broken({policy("ALOW")}, TranslateOptions{}, &good);
  auto listener = broken.translate("default", "any").listeners.at("inbound");
  EXPECT_NE(listener.value().find("only-get"), std::string::npos);
  bool reported = false;
  for (const auto& e : broken.errors()) {
    reported |= e.message.find("its last good version stays in force") != std::string::npos;
  }
  EXPECT_TRUE(reported);
  Translator never({policy("ALOW")}, TranslateOptions{});
  EXPECT_EQ(never.translate("default", "any").listeners.at("inbound").value().find("only-get"),
            std::string::npos);
}

TEST(TranslatorGoldenTest, OutboundPolicyFollowsSidecarObjects) {
  std::vector<ManifestError> errors;
  Translator translator(loadManifests("test/pilot/testdata/sidecar", errors), TranslateOptions{});
  EXPECT_EQ(translator.outboundPolicy("default", "reviews-1"), "REGISTRY_ONLY");
  EXPECT_EQ(translator.outboundPolicy("default", "productpage-1"), "ALLOW_ANY");
  EXPECT_EQ(translator.outboundPolicy("default", ""), "REGISTRY_ONLY");
  EXPECT_EQ(translator.outboundPolicy("other", "x"), "ALLOW_ANY");  // its Sidecar is invalid
  TranslateOptions strict;
  strict.outbound_policy = "REGISTRY_ONLY";
  Translator mesh_wide({}, strict);
  EXPECT_EQ(mesh_wide.outboundPolicy("default", ""), "REGISTRY_ONLY");
}

}  // namespace
}  // namespace remora::pilot
