// Mutual TLS in the translation, case by case: PeerAuthentication precedence and checks, the
// inbound chains of each mode, DestinationRule tls modes and automatic mTLS. (The golden files
// in testdata/mtls show whole translations; generated_config_validation_test loads them into
// the proxy.)

#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "gtest/gtest.h"
#include "remora/config/cluster/v1/cluster.pb.h"
#include "remora/config/listener/v1/listener.pb.h"
#include "remora/extensions/filters/listener/protocol_detection/v1/protocol_detection.pb.h"
#include "remora/extensions/filters/network/http_connection_manager/v1/http_connection_manager.pb.h"
#include "remora/extensions/transport_sockets/tls/v1/tls.pb.h"
#include "source/pilot/translator.h"

namespace remora::pilot {
namespace {

namespace tlsv1 = extensions::transport_sockets::tls::v1;
using config::cluster::v1::Cluster;
using config::listener::v1::Listener;

std::vector<Object> parse(const std::string& yaml) {
  std::vector<Object> objects;
  std::vector<ManifestError> errors;
  parseManifestText("test.yaml", yaml, objects, errors);
  EXPECT_TRUE(errors.empty());
  return objects;
}

std::string errorsOf(const Translator& translator) {
  std::string out;
  for (const auto& e : translator.errors()) out += e.message + "\n";
  return out;
}

std::string pod(const std::string& ns, const std::string& name, const std::string& labels,
                const std::string& extra = "") {
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + ns +
         ", labels: {" + labels + "}" + extra + "}\n---\n";
}

std::string peerAuthentication(const std::string& ns, const std::string& name,
                               const std::string& spec, const std::string& created = "") {
  return "apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\nmetadata: {name: " +
         name + ", namespace: " + ns +
         (created.empty() ? "" : ", creationTimestamp: \"" + created + "\"") + "}\nspec: " + spec +
         "\n---\n";
}

// A service in `ns` with one port (`port_yaml`) and its endpoints: pod names (or bare IPs,
// with a leading '@').
std::string service(const std::string& ns, const std::string& name, const std::string& port_yaml,
                    uint32_t target, const std::vector<std::string>& pods) {
  std::string out = "apiVersion: v1\nkind: Service\nmetadata: {name: " + name +
                    ", namespace: " + ns + "}\nspec:\n  clusterIP: 10.96.0." +
                    std::to_string(name.size()) + "\n  ports: [" + port_yaml + "]\n---\n";
  out += "apiVersion: v1\nkind: Endpoints\nmetadata: {name: " + name + ", namespace: " + ns +
         "}\nsubsets:\n- addresses:\n";
  int i = 1;
  for (const auto& p : pods) {
    std::string ip = "10.0." + std::to_string(name.size()) + "." + std::to_string(i++);
    if (p[0] == '@') {
      out += "  - {ip: " + p.substr(1) + "}\n";
    } else {
      out += "  - {ip: " + ip + ", targetRef: {kind: Pod, name: " + p + "}}\n";
    }
  }
  out += "  ports: [{name: p, port: " + std::to_string(target) + "}]\n---\n";
  return out;
}

// The inbound listener's chains: "<port|*> <transport|-> <alpn|-> <mtls|plain> <hcm|tcp>",
// without the proxy's own ports' blackhole chains in front (translator_proxy_ports_test).
std::vector<std::string> inboundChains(const Resources& resources, Listener* out = nullptr) {
  Listener listener;
  EXPECT_TRUE(resources.listeners.at("inbound").UnpackTo(&listener));
  auto* all = listener.mutable_filter_chains();
  all->erase(
      std::remove_if(all->begin(), all->end(),
                     [](const auto& chain) { return chain.name().rfind("blackhole:", 0) == 0; }),
      all->end());
  std::vector<std::string> chains;
  for (const auto& chain : listener.filter_chains()) {
    const auto& match = chain.filter_chain_match();
    std::string alpn;
    for (const auto& p : match.application_protocols()) alpn += (alpn.empty() ? "" : ",") + p;
    std::string filter = chain.filters(0).name();
    chains.push_back(
        (match.has_destination_port() ? std::to_string(match.destination_port().value()) : "*") +
        " " + (match.transport_protocol().empty() ? "-" : match.transport_protocol()) + " " +
        (alpn.empty() ? "-" : alpn) + " " + (chain.has_transport_socket() ? "mtls" : "plain") +
        " " + (filter.find("http_connection_manager") != std::string::npos ? "hcm" : "tcp"));
  }
  if (out != nullptr) *out = listener;
  return chains;
}

// The cluster's upstream TLS; false when it is plaintext.
bool upstreamTls(const Resources& resources, const std::string& name,
                 tlsv1::UpstreamTlsContext& tls) {
  Cluster cluster;
  EXPECT_TRUE(resources.clusters.count(name)) << name;
  if (!resources.clusters.count(name)) return false;
  EXPECT_TRUE(resources.clusters.at(name).UnpackTo(&cluster));
  if (!cluster.has_transport_socket()) return false;
  EXPECT_EQ(cluster.transport_socket().name(), "remora.transport_sockets.tls");
  EXPECT_TRUE(cluster.transport_socket().typed_config().UnpackTo(&tls));
  return true;
}

// SAN matchers as "TYPE:exact" or "TYPE:prefix*".
std::vector<std::string> sans(const tlsv1::CertificateValidationContext& validation) {
  std::vector<std::string> out;
  for (const auto& m : validation.match_typed_subject_alt_names()) {
    out.push_back(tlsv1::SubjectAltNameMatcher::SanType_Name(m.san_type()) + ":" +
                  (m.has_exact() ? m.exact() : m.prefix() + "*"));
  }
  return out;
}

std::vector<std::string> alpn(const tlsv1::UpstreamTlsContext& tls) {
  return {tls.common_tls_context().alpn_protocols().begin(),
          tls.common_tls_context().alpn_protocols().end()};
}

// -- PeerAuthentication --------------------------------------------------------------------

const std::string kLevels =
    pod("shop", "api-1", "app: api") + pod("shop", "web-1", "app: web") +
    pod("other", "x-1", "app: x") + pod("istio-system", "gw-1", "app: gw") +
    peerAuthentication("istio-system", "mesh", "{mtls: {mode: STRICT}}") +
    peerAuthentication("istio-system", "gw",
                       "{selector: {matchLabels: {app: gw}}, mtls: "
                       "{mode: DISABLE}}") +
    peerAuthentication("shop", "ns", "{mtls: {mode: PERMISSIVE}}") +
    peerAuthentication("shop", "api",
                       "{selector: {matchLabels: {app: api}}, mtls: {mode: DISABLE}, "
                       "portLevelMtls: {8443: {mode: STRICT}, 8080: {mode: UNSET}}}");

TEST(PeerAuthenticationTest, PortLevelThenWorkloadThenNamespaceThenMesh) {
  Translator t(parse(kLevels), TranslateOptions{});
  EXPECT_EQ(errorsOf(t), "");
  EXPECT_EQ(t.peerAuthenticationMode("shop", "api-1", 8443), MtlsMode::kStrict);   // port
  EXPECT_EQ(t.peerAuthenticationMode("shop", "api-1", 8080), MtlsMode::kDisable);  // UNSET
  EXPECT_EQ(t.peerAuthenticationMode("shop", "api-1", 9000), MtlsMode::kDisable);  // workload
  EXPECT_EQ(t.peerAuthenticationMode("shop", "api-1", 0), MtlsMode::kDisable);
  EXPECT_EQ(t.peerAuthenticationMode("shop", "web-1", 8443), MtlsMode::kPermissive);  // namespace
  EXPECT_EQ(t.peerAuthenticationMode("other", "x-1", 80), MtlsMode::kStrict);         // mesh
  // A policy with a selector in the root namespace is a workload policy there, not the mesh's.
  EXPECT_EQ(t.peerAuthenticationMode("istio-system", "gw-1", 80), MtlsMode::kDisable);
  // A pod pilot does not know has no labels: namespace and mesh policies only.
  EXPECT_EQ(t.peerAuthenticationMode("shop", "ghost", 8443), MtlsMode::kPermissive);
  EXPECT_EQ(t.peerAuthenticationMode("other", "", 80), MtlsMode::kStrict);
  // Nothing anywhere: PERMISSIVE.
  Translator none(parse(pod("shop", "api-1", "app: api")), TranslateOptions{});
  EXPECT_EQ(none.peerAuthenticationMode("shop", "api-1", 80), MtlsMode::kPermissive);
}

TEST(PeerAuthenticationTest, UnsetInheritsFromTheNextLevel) {
  Translator t(parse(pod("shop", "api-1", "app: api") +
                     peerAuthentication("istio-system", "mesh", "{mtls: {mode: STRICT}}") +
                     peerAuthentication("shop", "ns", "{mtls: {mode: UNSET}}") +
                     peerAuthentication("shop", "api",
                                        "{selector: {matchLabels: {app: api}}, portLevelMtls: "
                                        "{8080: {}, 9090: {mode: DISABLE}}}")),
               TranslateOptions{});
  EXPECT_EQ(errorsOf(t), "");
  // Port UNSET -> workload without mtls -> namespace UNSET -> mesh STRICT.
  EXPECT_EQ(t.peerAuthenticationMode("shop", "api-1", 8080), MtlsMode::kStrict);
  EXPECT_EQ(t.peerAuthenticationMode("shop", "api-1", 9090), MtlsMode::kDisable);
  // The mesh's UNSET: PERMISSIVE.
  Translator unset(parse(pod("shop", "api-1", "app: api") +
                         peerAuthentication("istio-system", "mesh", "{mtls: {mode: UNSET}}")),
                   TranslateOptions{});
  EXPECT_EQ(unset.peerAuthenticationMode("shop", "api-1", 80), MtlsMode::kPermissive);
}

TEST(PeerAuthenticationTest, TheOldestOfSeveralWinsThenTheName) {
  std::string pods = pod("shop", "api-1", "app: api, tier: backend");
  // Listed newest first: order in the files does not matter.
  Translator t(parse(pods +
                     peerAuthentication("shop", "a-new",
                                        "{selector: {matchLabels: {app: api}}, "
                                        "mtls: {mode: DISABLE}}",
                                        "2024-06-01T00:00:00Z") +
                     peerAuthentication("shop", "z-old",
                                        "{selector: {matchLabels: {tier: "
                                        "backend}}, mtls: {mode: STRICT}}",
                                        "2024-01-01T12:00:00+02:00")),
               TranslateOptions{});
  EXPECT_EQ(errorsOf(t), "");
  EXPECT_EQ(t.peerAuthenticationMode("shop", "api-1", 80), MtlsMode::kStrict);
  // Same time: the name decides.
  Translator same(parse(pods +
                        peerAuthentication("shop", "b",
                                           "{selector: {matchLabels: {app: api}}, "
                                           "mtls: {mode: DISABLE}}",
                                           "2024-01-01T00:00:00Z") +
                        peerAuthentication("shop", "a",
                                           "{selector: {matchLabels: {app: api}}, "
                                           "mtls: {mode: STRICT}}",
                                           "2024-01-01T00:00:00Z")),
                  TranslateOptions{});
  EXPECT_EQ(same.peerAuthenticationMode("shop", "api-1", 80), MtlsMode::kStrict);
  // Without a timestamp a policy counts as the oldest; the rule holds for namespace policies.
  Translator ns(
      parse(pods +
            peerAuthentication("shop", "new", "{mtls: {mode: DISABLE}}", "2020-01-01T00:00:00.5Z") +
            peerAuthentication("shop", "undated", "{mtls: {mode: STRICT}}")),
      TranslateOptions{});
  EXPECT_EQ(ns.peerAuthenticationMode("shop", "api-1", 80), MtlsMode::kStrict);
}

TEST(PeerAuthenticationTest, InvalidPoliciesAreReportedAndLeftOut) {
  std::string yaml =
      pod("shop", "api-1", "app: api") +
      peerAuthentication("shop", "mode", "{mtls: {mode: strict}}") +
      peerAuthentication("shop", "ports", "{portLevelMtls: {8080: {mode: DISABLE}}}") +
      peerAuthentication("shop", "port-key",
                         "{selector: {matchLabels: {app: api}}, portLevelMtls: {0: {mode: "
                         "STRICT}, 70000: {mode: STRICT}}}") +
      peerAuthentication("shop", "port-mode",
                         "{selector: {matchLabels: {app: api}}, portLevelMtls: {80: {mode: "
                         "OFF}}}") +
      peerAuthentication("shop", "selector", "{selector: {matchLabels: [app]}}") +
      peerAuthentication("shop", "time", "{mtls: {mode: DISABLE}}", "2024-13-01T00:00:00Z") +
      peerAuthentication("shop", "ok", "{mtls: {mode: STRICT}}");
  Translator t(parse(yaml), TranslateOptions{});
  EXPECT_EQ(errorsOf(t),
            "test.yaml: PeerAuthentication shop/mode: spec.mtls.mode: \"strict\" is not UNSET, "
            "DISABLE, PERMISSIVE or STRICT\n"
            "test.yaml: PeerAuthentication shop/ports: spec.portLevelMtls: needs "
            "spec.selector.matchLabels (port-level settings apply to the workloads a policy "
            "selects)\n"
            "test.yaml: PeerAuthentication shop/port-key: spec.portLevelMtls[0]: \"0\" is not a "
            "port number (1..65535)\n"
            "test.yaml: PeerAuthentication shop/port-key: spec.portLevelMtls[70000]: \"70000\" is "
            "not a port number (1..65535)\n"
            "test.yaml: PeerAuthentication shop/port-mode: spec.portLevelMtls[80].mode: \"OFF\" "
            "is not UNSET, DISABLE, PERMISSIVE or STRICT\n"
            "test.yaml: PeerAuthentication shop/selector: spec.selector.matchLabels: must be a "
            "mapping\n"
            "test.yaml: PeerAuthentication shop/time: metadata.creationTimestamp: "
            "\"2024-13-01T00:00:00Z\" is not an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)\n");
  // Only "ok" is in force.
  EXPECT_EQ(t.peerAuthenticationMode("shop", "api-1", 80), MtlsMode::kStrict);
}

TEST(PeerAuthenticationTest, OnlyIstiosApiGroup) {
  std::string yaml = pod("shop", "api-1", "app: api") +
                     "apiVersion: security.istio.io/v1alpha1\nkind: PeerAuthentication\n"
                     "metadata: {name: old, namespace: shop}\nspec: {mtls: {mode: DISABLE}}\n"
                     "---\napiVersion: policy.example.com/v1\nkind: PeerAuthentication\n"
                     "metadata: {name: other, namespace: shop}\nspec: {mtls: {mode: DISABLE}}\n"
                     "---\nkind: PeerAuthentication\nmetadata: {name: bare, namespace: shop}\n"
                     "spec: {mtls: {mode: STRICT}}\n";
  Translator t(parse(yaml), TranslateOptions{});
  EXPECT_EQ(errorsOf(t),
            "test.yaml: PeerAuthentication shop/old: apiVersion: \"security.istio.io/v1alpha1\" "
            "is not supported (security.istio.io/v1beta1, security.istio.io/v1)\n");
  EXPECT_EQ(t.peerAuthenticationMode("shop", "api-1", 80), MtlsMode::kStrict);
}

TEST(PeerAuthenticationTest, ABrokenEditKeepsTheLastGoodVersion) {
  std::string base = pod("shop", "api-1", "app: api");
  Translator before(parse(base + peerAuthentication("shop", "ns", "{mtls: {mode: STRICT}}")),
                    TranslateOptions{});
  Translator after(parse(base + peerAuthentication("shop", "ns", "{mtls: {mode: STRCT}}")),
                   TranslateOptions{}, &before);
  EXPECT_NE(errorsOf(after).find("(keeping its last good version)"), std::string::npos)
      << errorsOf(after);
  EXPECT_EQ(after.peerAuthenticationMode("shop", "api-1", 80), MtlsMode::kStrict);
  Translator fresh(parse(base + peerAuthentication("shop", "ns", "{mtls: {mode: STRCT}}")),
                   TranslateOptions{});
  EXPECT_EQ(fresh.peerAuthenticationMode("shop", "api-1", 80), MtlsMode::kPermissive);
}

TEST(PeerAuthenticationTest, RootNamespaceIsAnOption) {
  TranslateOptions options;
  options.root_namespace = "mesh-config";
  Translator t(parse(pod("shop", "api-1", "app: api") +
                     peerAuthentication("istio-system", "mesh", "{mtls: {mode: DISABLE}}") +
                     peerAuthentication("mesh-config", "mesh", "{mtls: {mode: STRICT}}")),
               options);
  EXPECT_EQ(t.peerAuthenticationMode("shop", "api-1", 80), MtlsMode::kStrict);
}

// -- Inbound chains ------------------------------------------------------------------------

// A pod with an HTTP port (8080), an opaque one (6000), one to detect (7000) and a
// server-first one (3306), all from one service.
std::string inboundPod(const std::string& policy_spec, const std::string& pod_extra = "") {
  std::string yaml = pod("shop", "api-1", "app: api", pod_extra);
  yaml += R"(apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  clusterIP: 10.96.0.9
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: tcp-stream, port: 6000}
  - {name: data, port: 7000}
  - {name: db, port: 3306}
---
apiVersion: v1
kind: Endpoints
metadata: {name: api, namespace: shop}
subsets:
- addresses: [{ip: 10.0.0.9, targetRef: {kind: Pod, name: api-1}}]
  ports:
  - {name: http, port: 8080}
  - {name: tcp-stream, port: 6000}
  - {name: data, port: 7000}
  - {name: db, port: 3306}
---
)";
  if (!policy_spec.empty()) yaml += peerAuthentication("shop", "policy", policy_spec);
  return yaml;
}

TEST(InboundMtlsTest, StrictTakesOnlyMutualTls) {
  Translator t(parse(inboundPod("{mtls: {mode: STRICT}}")), TranslateOptions{});
  Listener listener;
  EXPECT_EQ(inboundChains(t.translate("shop", "api-1"), &listener),
            (std::vector<std::string>{
                // The last chain of each port takes every connection to it: plaintext fails
                // the handshake instead of falling through to the passthrough.
                "3306 - - mtls tcp",
                "6000 - - mtls tcp",
                "7000 tls h2,http/1.1 mtls hcm",
                "7000 - - mtls tcp",
                "8080 - - mtls hcm",
                "* tls h2,http/1.1 mtls hcm",
                "* - - mtls tcp",
            }));
  // The server side of the mesh's mTLS.
  tlsv1::DownstreamTlsContext tls;
  ASSERT_TRUE(listener.filter_chains(4).transport_socket().typed_config().UnpackTo(&tls));
  EXPECT_EQ(listener.filter_chains(4).transport_socket().name(), "remora.transport_sockets.tls");
  EXPECT_TRUE(tls.require_client_certificate().value());
  ASSERT_EQ(tls.common_tls_context().tls_certificate_sds_secret_configs_size(), 1);
  EXPECT_EQ(tls.common_tls_context().tls_certificate_sds_secret_configs(0).name(), "default");
  EXPECT_FALSE(tls.common_tls_context().tls_certificate_sds_secret_configs(0).has_sds_config());
  EXPECT_EQ(tls.common_tls_context().validation_context_sds_secret_config().name(), "ROOTCA");
  EXPECT_FALSE(tls.common_tls_context().validation_context_sds_secret_config().has_sds_config());
  EXPECT_EQ(tls.common_tls_context().alpn_protocols_size(), 2);
  EXPECT_EQ(tls.common_tls_context().alpn_protocols(0), "h2");
  tlsv1::DownstreamTlsContext tcp;
  ASSERT_TRUE(listener.filter_chains(0).transport_socket().typed_config().UnpackTo(&tcp));
  EXPECT_EQ(tcp.common_tls_context().alpn_protocols_size(), 0);
  EXPECT_TRUE(tcp.require_client_certificate().value());
  // After TLS the chain goes on to the application as before.
  EXPECT_EQ(listener.filter_chains(0).filters(0).name(), "remora.filters.network.tcp_proxy");
}

TEST(InboundMtlsTest, ClientCertHeaderSetInboundRemovedOutbound) {
  // As Istio: inbound HTTP chains set x-forwarded-client-cert from the verified peer
  // (SANITIZE_SET with By, Hash and URI); every other chain keeps the default, SANITIZE, so a
  // header a client sends never reaches an application.
  using Hcm = extensions::filters::network::http_connection_manager::v1::HttpConnectionManager;
  Translator t(parse(inboundPod("{mtls: {mode: STRICT}}")), TranslateOptions{});
  auto resources = t.translate("shop", "api-1");
  int inbound = 0;
  int other = 0;
  for (const auto& [name, any] : resources.listeners) {
    Listener listener;
    ASSERT_TRUE(any.UnpackTo(&listener));
    for (const auto& chain : listener.filter_chains()) {
      Hcm hcm;
      if (chain.filters(0).name() != "remora.filters.network.http_connection_manager") continue;
      ASSERT_TRUE(chain.filters(0).typed_config().UnpackTo(&hcm));
      if (name == "inbound") {
        ++inbound;
        EXPECT_EQ(hcm.forward_client_cert_details(), Hcm::SANITIZE_SET) << chain.name();
        EXPECT_TRUE(hcm.set_current_client_cert_details().uri()) << chain.name();
        EXPECT_FALSE(hcm.set_current_client_cert_details().cert()) << chain.name();
      } else {
        ++other;
        EXPECT_EQ(hcm.forward_client_cert_details(), Hcm::SANITIZE) << name << " " << chain.name();
        EXPECT_FALSE(hcm.has_set_current_client_cert_details()) << name << " " << chain.name();
      }
    }
  }
  EXPECT_GT(inbound, 0);
  EXPECT_GT(other, 0);
}

TEST(InboundMtlsTest, PermissiveTakesBothToldApartByTheClientHello) {
  Translator t(parse(inboundPod("{mtls: {mode: PERMISSIVE}}")), TranslateOptions{});
  Listener listener;
  EXPECT_EQ(inboundChains(t.translate("shop", "api-1"), &listener),
            (std::vector<std::string>{
                "3306 tls - mtls tcp",
                "3306 - - plain tcp",
                "6000 tls - mtls tcp",
                "6000 - - plain tcp",
                "7000 tls h2,http/1.1 mtls hcm",
                "7000 tls - mtls tcp",
                "7000 - http/1.0,http/1.1,h2c plain hcm",
                "7000 - - plain tcp",
                "8080 tls - mtls hcm",
                "8080 - - plain hcm",
                "* tls h2,http/1.1 mtls hcm",
                "* tls - mtls tcp",
                "* - http/1.0,http/1.1,h2c plain hcm",
                "* - - plain tcp",
            }));
  // 3306 is server-first: normally never inspected, but here a ClientHello must be seen.
  extensions::filters::listener::protocol_detection::v1::ProtocolDetection detection;
  ASSERT_EQ(listener.listener_filters(1).name(), "remora.filters.listener.protocol_detection");
  ASSERT_TRUE(listener.listener_filters(1).typed_config().UnpackTo(&detection));
  EXPECT_EQ(std::vector<uint32_t>(detection.opaque_ports().begin(), detection.opaque_ports().end()),
            (std::vector<uint32_t>{25, 587, 5432, 6379, 9300, 11211}));
  EXPECT_FALSE(detection.inspect_all_ports());
  // With no policy at all the mesh default is PERMISSIVE too.
  Translator by_default(parse(inboundPod("")), TranslateOptions{});
  EXPECT_EQ(inboundChains(by_default.translate("shop", "api-1")),
            inboundChains(t.translate("shop", "api-1")));
}

TEST(InboundMtlsTest, DisableIsPlaintextAsBefore) {
  Translator t(parse(inboundPod("{mtls: {mode: DISABLE}}")), TranslateOptions{});
  Listener listener;
  EXPECT_EQ(inboundChains(t.translate("shop", "api-1"), &listener),
            (std::vector<std::string>{
                "3306 - - plain tcp",
                "6000 - - plain tcp",
                "7000 - http/1.0,http/1.1,h2c plain hcm",
                "7000 - - plain tcp",
                "8080 - - plain hcm",
                "* - http/1.0,http/1.1,h2c plain hcm",
                "* - - plain tcp",
            }));
  // Protocol detection keeps its defaults.
  extensions::filters::listener::protocol_detection::v1::ProtocolDetection detection;
  ASSERT_TRUE(listener.listener_filters(1).typed_config().UnpackTo(&detection));
  EXPECT_EQ(detection.opaque_ports_size(), 0);
  EXPECT_EQ(listener.filter_chains(4).name(), "inbound|8080||");
  EXPECT_EQ(listener.filter_chains(1).name(), "inbound_6000");
}

TEST(InboundMtlsTest, PortLevelModesIncludingPortsNoServiceDeclares) {
  Translator t(parse(inboundPod("{selector: {matchLabels: {app: api}}, mtls: {mode: STRICT}, "
                                "portLevelMtls: {8080: {mode: DISABLE}, 7000: {mode: PERMISSIVE}, "
                                "9901: {mode: DISABLE}, 9902: {mode: STRICT}}}")),
               TranslateOptions{});
  EXPECT_EQ(inboundChains(t.translate("shop", "api-1")),
            (std::vector<std::string>{
                "3306 - - mtls tcp",
                "6000 - - mtls tcp",
                "7000 tls h2,http/1.1 mtls hcm",
                "7000 tls - mtls tcp",
                "7000 - http/1.0,http/1.1,h2c plain hcm",
                "7000 - - plain tcp",
                "8080 - - plain hcm",
                // Undeclared 9901 differs from the (STRICT) passthrough; 9902 does not.
                "9901 - http/1.0,http/1.1,h2c plain hcm",
                "9901 - - plain tcp",
                "* tls h2,http/1.1 mtls hcm",
                "* - - mtls tcp",
            }));
}

TEST(InboundMtlsTest, APodPilotDoesNotKnowAsMeshedTakesMtlsOnlyWhenStrict) {
  // Callers never use automatic mTLS to it, so PERMISSIVE means plaintext.
  Translator permissive(parse(inboundPod("")), TranslateOptions{});
  EXPECT_EQ(inboundChains(permissive.translate("shop", "ghost")),
            (std::vector<std::string>{"* - http/1.0,http/1.1,h2c plain hcm", "* - - plain tcp"}));
  EXPECT_EQ(inboundChains(permissive.translate("shop", "")),
            inboundChains(permissive.translate("shop", "ghost")));
  Translator injected_off(
      parse(inboundPod("", ", annotations: {sidecar.istio.io/inject: \"false\"}")),
      TranslateOptions{});
  EXPECT_EQ(inboundChains(injected_off.translate("shop", "api-1"))[0], "3306 - - plain tcp");
  // STRICT is kept: the policy says plaintext must be refused.
  Translator strict(parse(inboundPod("{mtls: {mode: STRICT}}")), TranslateOptions{});
  EXPECT_EQ(inboundChains(strict.translate("shop", "ghost")),
            (std::vector<std::string>{"* tls h2,http/1.1 mtls hcm", "* - - mtls tcp"}));
}

// -- DestinationRule tls and automatic mTLS ------------------------------------------------

std::string rule(const std::string& host, const std::string& tls, const std::string& ns = "shop",
                 const std::string& extra = "") {
  return "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: r-" +
         std::to_string(std::hash<std::string>()(host + tls) % 100000) + ", namespace: " + ns +
         "}\nspec:\n  host: " + host + "\n  trafficPolicy: {tls: " + tls + "}\n" + extra + "---\n";
}

std::string externalEntry(const std::string& host, const std::string& port = "443",
                          const std::string& protocol = "HTTP") {
  return "apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata: {name: " + host +
         ", namespace: shop}\nspec:\n  hosts: [" + host + "]\n  ports: [{number: " + port +
         ", name: p, protocol: " + protocol + "}]\n  resolution: DNS\n---\n";
}

TEST(ClusterTlsTest, SimpleVerifiesWithTheSystemRootsOrTheGivenOnes) {
  Translator t(parse(externalEntry("a.example.com") + externalEntry("b.example.com") +
                     externalEntry("c.example.com") + rule("a.example.com", "{mode: SIMPLE}") +
                     rule("b.example.com",
                          "{mode: SIMPLE, caCertificates: /etc/ca.pem, sni: b.internal, "
                          "subjectAltNames: [b.example.com, spiffe://x/y, 10.0.0.1, "
                          "ops@example.com]}") +
                     rule("c.example.com",
                          "{mode: SIMPLE, insecureSkipVerify: true, "
                          "caCertificates: /etc/ca.pem}")),
               TranslateOptions{});
  EXPECT_EQ(errorsOf(t), "");
  Resources r = t.translate("shop");
  tlsv1::UpstreamTlsContext tls;
  ASSERT_TRUE(upstreamTls(r, "outbound|443||a.example.com", tls));
  EXPECT_EQ(tls.sni(), "a.example.com");
  EXPECT_EQ(tls.common_tls_context().validation_context().trusted_ca().filename(),
            "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_EQ(tls.common_tls_context().tls_certificates_size(), 0);
  EXPECT_EQ(tls.common_tls_context().tls_certificate_sds_secret_configs_size(), 0);
  EXPECT_EQ(alpn(tls), std::vector<std::string>{"http/1.1"});
  ASSERT_TRUE(upstreamTls(r, "outbound|443||b.example.com", tls));
  EXPECT_EQ(tls.sni(), "b.internal");
  EXPECT_EQ(tls.common_tls_context().validation_context().trusted_ca().filename(), "/etc/ca.pem");
  EXPECT_EQ(sans(tls.common_tls_context().validation_context()),
            (std::vector<std::string>{"DNS:b.example.com", "URI:spiffe://x/y",
                                      "IP_ADDRESS:10.0.0.1", "EMAIL:ops@example.com"}));
  ASSERT_TRUE(upstreamTls(r, "outbound|443||c.example.com", tls));
  EXPECT_FALSE(tls.common_tls_context().has_validation_context());
  EXPECT_EQ(tls.sni(), "c.example.com");
}

TEST(ClusterTlsTest, MutualPresentsTheClientCertificateFiles) {
  Translator t(parse(externalEntry("db.example.com", "5432", "TCP") +
                     rule("db.example.com",
                          "{mode: MUTUAL, clientCertificate: /c/cert.pem, "
                          "privateKey: /c/key.pem, caCertificates: /c/ca.pem, "
                          "subjectAltNames: [db.example.com]}")),
               TranslateOptions{});
  EXPECT_EQ(errorsOf(t), "");
  tlsv1::UpstreamTlsContext tls;
  ASSERT_TRUE(upstreamTls(t.translate("shop"), "outbound|5432||db.example.com", tls));
  const auto& common = tls.common_tls_context();
  ASSERT_EQ(common.tls_certificates_size(), 1);
  EXPECT_EQ(common.tls_certificates(0).certificate_chain().filename(), "/c/cert.pem");
  EXPECT_EQ(common.tls_certificates(0).private_key().filename(), "/c/key.pem");
  EXPECT_EQ(common.validation_context().trusted_ca().filename(), "/c/ca.pem");
  EXPECT_EQ(sans(common.validation_context()), std::vector<std::string>{"DNS:db.example.com"});
  EXPECT_EQ(tls.sni(), "db.example.com");
  EXPECT_TRUE(alpn(tls).empty());  // TCP
}

// payments: pods with service accounts payments and payments-v2 (by targetRef) and default
// (p-3, by IP), on an HTTP/2 port, an HTTP/1 port, a TCP port and a detected-protocol port.
std::string meshedService(const std::string& policy = "") {
  std::string yaml = pod("shop", "p-1", "app: p, v: one",
                         ", annotations: {x: y}}\nspec: "
                         "{serviceAccountName: payments");
  yaml += pod("shop", "p-2", "app: p, v: two", "}\nspec: {serviceAccountName: payments-v2");
  yaml += R"(apiVersion: v1
kind: Service
metadata: {name: payments, namespace: shop}
spec:
  clusterIP: 10.96.0.50
  ports:
  - {name: grpc, port: 9090}
  - {name: http, port: 80, targetPort: 8080}
  - {name: tcp-x, port: 7000}
  - {name: other, port: 7100}
---
apiVersion: v1
kind: Endpoints
metadata: {name: payments, namespace: shop}
subsets:
- addresses:
  - {ip: 10.0.0.52, targetRef: {kind: Pod, name: p-2}}
  - {ip: 10.0.0.51, targetRef: {kind: Pod, name: p-1}}
  - {ip: 10.0.0.53}
  ports:
  - {name: grpc, port: 9090}
  - {name: http, port: 8080}
  - {name: tcp-x, port: 7000}
  - {name: other, port: 7100}
---
apiVersion: v1
kind: Pod
metadata: {name: p-3, namespace: shop}
status: {podIP: 10.0.0.53}
---
)";
  return yaml + policy;
}

TEST(ClusterTlsTest, AutomaticMtlsToMeshPodsWithTheirIdentities) {
  Translator t(parse(meshedService()), TranslateOptions{});
  EXPECT_EQ(errorsOf(t), "");
  Resources r = t.translate("shop");
  tlsv1::UpstreamTlsContext tls;
  // p-3 is found by its IP (no targetRef).
  ASSERT_TRUE(upstreamTls(r, "outbound|9090||payments.shop.svc.cluster.local", tls));
  const auto& common = tls.common_tls_context();
  ASSERT_EQ(common.tls_certificate_sds_secret_configs_size(), 1);
  EXPECT_EQ(common.tls_certificate_sds_secret_configs(0).name(), "default");
  EXPECT_FALSE(common.tls_certificate_sds_secret_configs(0).has_sds_config());
  EXPECT_EQ(common.combined_validation_context().validation_context_sds_secret_config().name(),
            "ROOTCA");
  EXPECT_FALSE(
      common.combined_validation_context().validation_context_sds_secret_config().has_sds_config());
  // Every service account once, sorted (p-3 has none: "default").
  EXPECT_EQ(sans(common.combined_validation_context().default_validation_context()),
            (std::vector<std::string>{"URI:spiffe://cluster.local/ns/shop/sa/default",
                                      "URI:spiffe://cluster.local/ns/shop/sa/payments",
                                      "URI:spiffe://cluster.local/ns/shop/sa/payments-v2"}));
  EXPECT_EQ(tls.sni(), "outbound_.9090_._.payments.shop.svc.cluster.local");
  EXPECT_EQ(alpn(tls), std::vector<std::string>{"h2"});
  ASSERT_TRUE(upstreamTls(r, "outbound|80||payments.shop.svc.cluster.local", tls));
  EXPECT_EQ(alpn(tls), std::vector<std::string>{"http/1.1"});
  ASSERT_TRUE(upstreamTls(r, "outbound|7000||payments.shop.svc.cluster.local", tls));
  EXPECT_TRUE(alpn(tls).empty());
  // A detected-protocol cluster carries HTTP and opaque connections alike.
  ASSERT_TRUE(upstreamTls(r, "outbound|7100||payments.shop.svc.cluster.local", tls));
  EXPECT_TRUE(alpn(tls).empty());
  // Another trust domain names other identities.
  TranslateOptions options;
  options.trust_domain = "example.org";
  Translator other(parse(meshedService()), options);
  ASSERT_TRUE(
      upstreamTls(other.translate("shop"), "outbound|9090||payments.shop.svc.cluster.local", tls));
  EXPECT_EQ(
      sans(tls.common_tls_context().combined_validation_context().default_validation_context())[0],
      "URI:spiffe://example.org/ns/shop/sa/default");
}

TEST(ClusterTlsTest, AutomaticMtlsFollowsTheDestinationsPolicyPerPort) {
  // p-2 takes plaintext only on 8080: the HTTP cluster stays plaintext, the others use mTLS.
  Translator t(parse(meshedService(
                   peerAuthentication("shop", "two",
                                      "{selector: {matchLabels: {v: two}}, portLevelMtls: {8080: "
                                      "{mode: DISABLE}}}"))),
               TranslateOptions{});
  EXPECT_EQ(errorsOf(t), "");
  Resources r = t.translate("shop");
  tlsv1::UpstreamTlsContext tls;
  EXPECT_FALSE(upstreamTls(r, "outbound|80||payments.shop.svc.cluster.local", tls));
  EXPECT_TRUE(upstreamTls(r, "outbound|9090||payments.shop.svc.cluster.local", tls));
  // STRICT and PERMISSIVE destinations both take it.
  Translator strict(
      parse(meshedService(peerAuthentication("shop", "ns", "{mtls: {mode: STRICT}}"))),
      TranslateOptions{});
  EXPECT_TRUE(
      upstreamTls(strict.translate("shop"), "outbound|80||payments.shop.svc.cluster.local", tls));
  // A namespace that is DISABLE: no cluster of it.
  Translator off(parse(meshedService(peerAuthentication("shop", "ns", "{mtls: {mode: DISABLE}}"))),
                 TranslateOptions{});
  for (const char* port : {"9090", "80", "7000", "7100"}) {
    EXPECT_FALSE(upstreamTls(off.translate("shop"),
                             std::string("outbound|") + port + "||payments.shop.svc.cluster.local",
                             tls))
        << port;
  }
}

TEST(ClusterTlsTest, NoAutomaticMtlsUnlessEveryEndpointIsAMeshPod) {
  const std::string port = "{name: http, port: 80}";
  std::string yaml = pod("shop", "in-1", "app: in") + pod("shop", "in-2", "app: in") +
                     pod("shop", "off-1", "app: off",
                         ", annotations: {sidecar.istio.io/inject: "
                         "\"false\"}") +
                     pod("shop", "off-2", "app: off, sidecar.istio.io/inject: \"false\"") +
                     service("shop", "meshed", port, 80, {"in-1", "in-2"}) +
                     service("shop", "annotated", port, 80, {"in-1", "off-1"}) +
                     service("shop", "labelled", port, 80, {"off-2"}) +
                     service("shop", "unknown-pod", port, 80, {"in-1", "nobody"}) +
                     service("shop", "vm", port, 80, {"in-1", "@192.168.0.7"}) +
                     service("shop", "empty", port, 80, {}) +
                     "apiVersion: v1\nkind: Service\nmetadata: {name: ext, namespace: shop}\nspec: "
                     "{type: ExternalName, externalName: ext.example.com, ports: [" +
                     port + "]}\n---\n" + externalEntry("api.example.com", "80");
  Translator t(parse(yaml), TranslateOptions{});
  EXPECT_EQ(errorsOf(t), "");
  Resources r = t.translate("shop");
  tlsv1::UpstreamTlsContext tls;
  EXPECT_TRUE(upstreamTls(r, "outbound|80||meshed.shop.svc.cluster.local", tls));
  for (const char* name : {"annotated", "labelled", "unknown-pod", "vm", "empty", "ext"}) {
    EXPECT_FALSE(
        upstreamTls(r, std::string("outbound|80||") + name + ".shop.svc.cluster.local", tls))
        << name;
  }
  EXPECT_FALSE(upstreamTls(r, "outbound|80||api.example.com", tls));
  EXPECT_FALSE(t.meshPod("shop", "off-1"));
  EXPECT_FALSE(t.meshPod("shop", "off-2"));
  EXPECT_FALSE(t.meshPod("shop", "nobody"));
  EXPECT_TRUE(t.meshPod("shop", "in-1"));
}

TEST(ClusterTlsTest, ExplicitModesOverrideAutomaticMtlsAndSubsetsOverrideTheRule) {
  std::string subsets =
      "  subsets:\n  - {name: one, labels: {v: one}}\n"
      "  - {name: two, labels: {v: two}, trafficPolicy: {tls: {mode: ISTIO_MUTUAL, sni: "
      "two.internal, subjectAltNames: [spiffe://cluster.local/ns/shop/sa/payments-v2]}}}\n";
  Translator t(parse(meshedService(rule("payments", "{mode: DISABLE}", "shop", subsets))),
               TranslateOptions{});
  EXPECT_EQ(errorsOf(t), "");
  Resources r = t.translate("shop");
  tlsv1::UpstreamTlsContext tls;
  EXPECT_FALSE(upstreamTls(r, "outbound|9090||payments.shop.svc.cluster.local", tls));
  EXPECT_FALSE(upstreamTls(r, "outbound|9090|one|payments.shop.svc.cluster.local", tls));
  ASSERT_TRUE(upstreamTls(r, "outbound|9090|two|payments.shop.svc.cluster.local", tls));
  EXPECT_EQ(tls.sni(), "two.internal");
  EXPECT_EQ(
      sans(tls.common_tls_context().combined_validation_context().default_validation_context()),
      std::vector<std::string>{"URI:spiffe://cluster.local/ns/shop/sa/payments-v2"});
  // A subset cluster's SNI names its subset; its SANs are the whole service's.
  Translator automatic(parse(meshedService(rule("payments", "null", "shop", subsets))),
                       TranslateOptions{});
  ASSERT_TRUE(upstreamTls(automatic.translate("shop"),
                          "outbound|80|one|payments.shop.svc.cluster.local", tls));
  EXPECT_EQ(tls.sni(), "outbound_.80_.one_.payments.shop.svc.cluster.local");
  EXPECT_EQ(
      sans(tls.common_tls_context().combined_validation_context().default_validation_context())
          .size(),
      3u);
}

TEST(ClusterTlsTest, IstioMutualWithoutKnownPodsTrustsTheWholeMesh) {
  Translator t(parse(externalEntry("vm.internal", "5432", "TCP") +
                     rule("vm.internal", "{mode: ISTIO_MUTUAL}")),
               TranslateOptions{});
  tlsv1::UpstreamTlsContext tls;
  ASSERT_TRUE(upstreamTls(t.translate("shop"), "outbound|5432||vm.internal", tls));
  EXPECT_EQ(
      sans(tls.common_tls_context().combined_validation_context().default_validation_context()),
      std::vector<std::string>{"URI:spiffe://cluster.local/*"});
  EXPECT_EQ(tls.sni(), "outbound_.5432_._.vm.internal");
}

TEST(ClusterTlsTest, InvalidTlsSettingsAreReported) {
  std::string yaml = externalEntry("a.example.com");
  for (const char* tls :
       {"{mode: SIMPLE, credentialName: my-secret}", "{mode: MUTUAL, privateKey: /k.pem}",
        "{mode: mutual}", "{mode: SIMPLE, clientCertificate: /c.pem, caCrl: /crl.pem}",
        "{mode: ISTIO_MUTUAL, caCertificates: /ca.pem, insecureSkipVerify: true}",
        "{mode: SIMPLE, subjectAltNames: a.example.com, insecureSkipVerify: maybe, sni: \"\"}"}) {
    yaml += rule("a.example.com", tls);
  }
  Translator t(parse(yaml), TranslateOptions{});
  std::string errors = errorsOf(t);
  for (const char* expected : {
           "spec.trafficPolicy.tls.credentialName: credentialName is not supported; use "
           "clientCertificate/privateKey/caCertificates files\n",
           "spec.trafficPolicy.tls.clientCertificate: required with mode MUTUAL\n",
           "spec.trafficPolicy.tls.mode: \"mutual\" is not DISABLE, SIMPLE, MUTUAL or "
           "ISTIO_MUTUAL\n",
           "spec.trafficPolicy.tls.caCrl: is not supported\n",
           "spec.trafficPolicy.tls.clientCertificate: only with mode MUTUAL\n",
           "spec.trafficPolicy.tls.caCertificates: not with mode ISTIO_MUTUAL (the mesh's "
           "certificate and trust bundle are used)\n",
           "spec.trafficPolicy.tls.insecureSkipVerify: not with mode ISTIO_MUTUAL (peers are "
           "always verified)\n",
           "spec.trafficPolicy.tls.subjectAltNames: must be a list\n",
           "spec.trafficPolicy.tls.insecureSkipVerify: must be true or false\n",
           "spec.trafficPolicy.tls.sni: must be a non-empty string\n",
       }) {
    EXPECT_NE(errors.find(expected), std::string::npos) << expected << "\nin:\n" << errors;
  }
  // Every rule was left out: the host stays plaintext.
  tlsv1::UpstreamTlsContext tls;
  EXPECT_FALSE(upstreamTls(t.translate("shop"), "outbound|443||a.example.com", tls));
}

TEST(ClusterTlsTest, HeadlessPodsUseTheirOwnIdentity) {
  std::string yaml = pod("shop", "db-0", "app: db", "}\nspec: {serviceAccountName: db") +
                     pod("shop", "db-1", "app: db", "}\nspec: {serviceAccountName: db-replica") +
                     R"(apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {clusterIP: None, ports: [{name: tcp-db, port: 5000}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: db, namespace: shop}
subsets:
- addresses:
  - {ip: 10.0.0.60, hostname: db-0, targetRef: {kind: Pod, name: db-0}}
  - {ip: 10.0.0.61, hostname: db-1, targetRef: {kind: Pod, name: db-1}}
  ports: [{name: tcp-db, port: 5000}]
)";
  Translator t(parse(yaml), TranslateOptions{});
  tlsv1::UpstreamTlsContext tls;
  ASSERT_TRUE(
      upstreamTls(t.translate("shop"), "outbound|5000||db-1.db.shop.svc.cluster.local", tls));
  EXPECT_EQ(
      sans(tls.common_tls_context().combined_validation_context().default_validation_context()),
      std::vector<std::string>{"URI:spiffe://cluster.local/ns/shop/sa/db-replica"});
  EXPECT_EQ(tls.sni(), "outbound_.5000_._.db-1.db.shop.svc.cluster.local");
}

// Reading a rule never writes into it: translations for several proxies agree (a subset's
// `tls: null` falls back to the rule's, a subset's load balancer to the rule's hash policy).
TEST(ClusterTlsTest, RepeatedTranslationsAgree) {
  std::string subsets =
      "  subsets:\n  - {name: one, labels: {v: one}, trafficPolicy: {tls: null, loadBalancer: "
      "{simple: RANDOM}}}\n";
  std::string yaml = meshedService(
      "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: p, "
      "namespace: shop}\nspec:\n  host: payments\n  trafficPolicy: {tls: {mode: SIMPLE}, "
      "loadBalancer: {consistentHash: {httpHeaderName: x-user}}}\n" +
      subsets +
      "---\napiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: "
      "{name: p, namespace: shop}\nspec:\n  hosts: [payments]\n  http: [{route: "
      "[{destination: {host: payments, subset: one}}]}]\n");
  Translator t(parse(yaml), TranslateOptions{});
  EXPECT_EQ(errorsOf(t), "");
  auto dump = [&] {
    std::string out;
    Resources r = t.translate("shop", "p-1");
    for (const auto* map : {&r.clusters, &r.routes, &r.listeners}) {
      for (const auto& [name, any] : *map) out += name + any.SerializeAsString();
    }
    return out;
  };
  std::string first = dump();
  EXPECT_TRUE(dump() == first) << "a translation changed what the next one reads";
  tlsv1::UpstreamTlsContext tls;
  Resources r = t.translate("shop");
  ASSERT_TRUE(upstreamTls(r, "outbound|80|one|payments.shop.svc.cluster.local", tls));
  EXPECT_EQ(tls.sni(), "payments.shop.svc.cluster.local");
}

}  // namespace
}  // namespace remora::pilot
