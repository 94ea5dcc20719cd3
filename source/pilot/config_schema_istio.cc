// The Istio kinds pilot reads, field by field as translator*.cc and security/ read them.
// Istio fields pilot does not implement are `unsupported()`: an object using one is rejected
// with that reason instead of being half-applied.

#include "source/pilot/config_schema_types.h"

namespace remora::pilot::schema {
namespace {

FieldPtr stringMatch() {
  return object({{"exact", text()}, {"prefix", text()}, {"regex", text()}});
}

FieldPtr percent() { return object({{"value", number()}}); }

FieldPtr headerOperations() {
  return object({{"set", labels()}, {"add", labels()}, {"remove", listOf(text())}});
}

FieldPtr headers() {
  return object({{"request", headerOperations()}, {"response", headerOperations()}});
}

FieldPtr destination() {
  return object({{"host", text()}, {"subset", text()}, {"port", object({{"number", integer()}})}});
}

FieldPtr httpMatch() {
  return object(
      {{"name", text()},
       {"uri", stringMatch()},
       {"headers", mapOf(stringMatch())},
       {"withoutHeaders", mapOf(stringMatch())},
       {"queryParams", mapOf(stringMatch())},
       {"method", object({{"exact", text()}, {"prefix", unsupported()}, {"regex", unsupported()}})},
       {"port", integer()},
       {"ignoreUriCase", boolean()},
       {"scheme", unsupported()},
       {"authority", unsupported()},
       {"sourceLabels", unsupported()},
       {"sourceNamespace", unsupported()},
       {"gateways", unsupported()},
       {"statPrefix", unsupported()}});
}

FieldPtr httpRoute() {
  return object({
      {"name", text()},
      {"match", listOf(httpMatch())},
      {"route",
       listOf(object(
           {{"destination", destination()}, {"weight", integer()}, {"headers", headers()}}))},
      {"redirect", object({{"uri", text()},
                           {"authority", text()},
                           {"scheme", text()},
                           {"redirectCode", integer()},
                           {"port", unsupported()},
                           {"derivePort", unsupported()}})},
      {"directResponse",
       object({{"status", integer()},
               {"body", object({{"string", text()}, {"bytes", unsupported()}})}})},
      {"rewrite",
       object({{"uri", text()}, {"authority", text()}, {"uriRegexRewrite", unsupported()}})},
      {"timeout", text()},
      {"retries", object({{"attempts", integer()},
                          {"perTryTimeout", text()},
                          {"retryOn", text()},
                          {"retryRemoteLocalities", unsupported()}})},
      {"fault", object({{"delay", object({{"fixedDelay", text()}, {"percentage", percent()}})},
                        {"abort", object({{"httpStatus", integer()},
                                          {"grpcStatus", text()},
                                          {"percentage", percent()}})}})},
      {"mirror", destination()},
      {"mirrorPercentage", percent()},
      {"headers", headers()},
      {"delegate", unsupported()},
      {"mirrors", unsupported()},
      {"corsPolicy", unsupported()},
  });
}

FieldPtr clientTls() {
  return object({{"mode", oneOf({"DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"})},
                 {"clientCertificate", text()},
                 {"privateKey", text()},
                 {"caCertificates", text()},
                 {"credentialName", text()},
                 {"subjectAltNames", listOf(text())},
                 {"sni", text()},
                 {"insecureSkipVerify", boolean()},
                 {"caCrl", text()}});
}

FieldPtr trafficPolicy() {
  return object({
      {"loadBalancer",
       object(
           {{"simple",
             oneOf({"UNSPECIFIED", "ROUND_ROBIN", "LEAST_REQUEST", "LEAST_CONN", "RANDOM"})},
            {"consistentHash",
             object({{"httpHeaderName", text()},
                     {"httpCookie", object({{"name", text()}, {"path", text()}, {"ttl", text()}})},
                     {"useSourceIp", boolean()},
                     {"httpQueryParameterName", text()},
                     {"maglev", anything()},
                     {"ringHash", unsupported()},
                     {"minimumRingSize", unsupported()}})},
            {"localityLbSetting", unsupported()},
            {"warmupDurationSecs", unsupported()}})},
      {"connectionPool", object({{"tcp", object({{"maxConnections", integer()},
                                                 {"connectTimeout", text()},
                                                 {"tcpKeepalive", unsupported()},
                                                 {"maxConnectionDuration", unsupported()}})},
                                 {"http", object({{"maxRequestsPerConnection", integer()},
                                                  {"maxRetries", integer()},
                                                  {"idleTimeout", text()},
                                                  {"http1MaxPendingRequests", integer()},
                                                  {"http2MaxRequests", integer()},
                                                  {"h2UpgradePolicy", unsupported()},
                                                  {"useClientProtocol", unsupported()}})}})},
      {"outlierDetection", object({{"consecutiveGatewayErrors", integer()},
                                   {"interval", text()},
                                   {"baseEjectionTime", text()},
                                   {"maxEjectionPercent", integer()},
                                   {"consecutive5xxErrors", integer()},
                                   {"splitExternalLocalOriginErrors", unsupported()},
                                   {"consecutiveLocalOriginFailures", unsupported()},
                                   {"minHealthPercent", unsupported()}})},
      {"tls", clientTls()},
      {"portLevelSettings", unsupported()},
      {"tunnel", unsupported()},
  });
}

FieldPtr selector() { return object({{"matchLabels", labels()}}); }

FieldPtr istioObject(FieldPtr spec) {
  return object({{"apiVersion", text()},
                 {"kind", text()},
                 {"metadata", metadata()},
                 {"spec", std::move(spec)},
                 {"status", anything()}});
}

std::map<std::string, FieldPtr> build() {
  const FieldPtr mtls = object({{"mode", oneOf({"UNSET", "DISABLE", "PERMISSIVE", "STRICT"})}});
  return {
      {"VirtualService", istioObject(object({{"hosts", listOf(text())},
                                             {"http", listOf(httpRoute())},
                                             {"gateways", unsupported()},
                                             {"exportTo", unsupported()},
                                             {"tcp", unsupported()},
                                             {"tls", unsupported()}}))},
      {"DestinationRule",
       istioObject(object({{"host", text()},
                           {"trafficPolicy", trafficPolicy()},
                           {"subsets", listOf(object({{"name", text()},
                                                      {"labels", labels()},
                                                      {"trafficPolicy", trafficPolicy()}}))},
                           {"exportTo", unsupported()},
                           {"workloadSelector", unsupported()}}))},
      {"ServiceEntry",
       istioObject(object({{"hosts", listOf(text())},
                           {"addresses", listOf(text())},
                           {"ports", listOf(object({{"number", integer()},
                                                    {"protocol", text()},
                                                    {"name", text()},
                                                    {"targetPort", integer()}}))},
                           {"location", oneOf({"MESH_EXTERNAL", "MESH_INTERNAL"})},
                           {"resolution", oneOf({"NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"})},
                           {"endpoints", listOf(object({{"address", text()},
                                                        {"ports", mapOf(integer())},
                                                        {"labels", labels()},
                                                        {"network", unsupported()},
                                                        {"locality", unsupported()},
                                                        {"weight", unsupported()},
                                                        {"serviceAccount", unsupported()}}))},
                           {"exportTo", unsupported()},
                           {"workloadSelector", unsupported()},
                           {"subjectAltNames", unsupported()}}))},
      {"Sidecar", istioObject(object({{"workloadSelector", object({{"labels", labels()}})},
                                      {"outboundTrafficPolicy",
                                       object({{"mode", oneOf({"ALLOW_ANY", "REGISTRY_ONLY"})},
                                               {"egressProxy", unsupported()}})},
                                      {"egress", unsupported()},
                                      {"ingress", unsupported()},
                                      {"inboundConnectionPool", unsupported()}}))},
      {"PeerAuthentication", istioObject(object({{"selector", selector()},
                                                 {"mtls", mtls},
                                                 {"portLevelMtls", mapOf(mtls)},
                                                 {"targetRef", unsupported()},
                                                 {"targetRefs", unsupported()}}))},
      // Its spec is read strictly by security/policy_reader.cc, which names every problem.
      {"AuthorizationPolicy", istioObject(anything())},
  };
}

}  // namespace

const std::map<std::string, FieldPtr>& istioKinds() {
  static const auto* kinds = new std::map<std::string, FieldPtr>(build());
  return *kinds;
}

}  // namespace remora::pilot::schema
