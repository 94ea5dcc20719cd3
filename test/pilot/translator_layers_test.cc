// The translation's shared layers: what is shared between proxies, and that a change rebuilds
// only what depends on it (the rest is the previous translation's very objects).

#include <gtest/gtest.h>

#include "remora/config/endpoint/v1/endpoint.pb.h"
#include "source/pilot/translator.h"

namespace remora::pilot {
namespace {

std::vector<Object> parse(const std::string& yaml) {
  std::vector<Object> objects;
  std::vector<ManifestError> errors;
  parseManifestText("test.yaml", yaml, objects, errors);
  EXPECT_TRUE(errors.empty());
  return objects;
}

std::string service(const std::string& name, const std::string& ip) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name +
         ", namespace: shop}\nspec:\n  clusterIP: " + ip +
         "\n  ports: [{name: http, port: 80, targetPort: 8080}]\n---\n";
}

std::string slice(const std::string& service, const std::string& pod, const std::string& ip,
                  bool ready) {
  return "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " + service +
         "-abc\n  namespace: shop\n  labels: {kubernetes.io/service-name: " + service +
         "}\nports: [{name: http, port: 8080}]\nendpoints:\n- addresses: [" + ip +
         "]\n  conditions: {ready: " + (ready ? "true" : "false") +
         "}\n  targetRef: {kind: Pod, name: " + pod + "}\n---\n";
}

std::string pod(const std::string& name, const std::string& ip) {
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name +
         ", namespace: shop, labels: {app: " + name + "}}\nstatus: {podIP: " + ip + "}\n---\n";
}

std::string mesh(bool cart_ready, const std::string& extra = "") {
  return service("cart", "10.96.0.10") + service("orders", "10.96.0.11") +
         slice("cart", "cart-1", "10.1.0.10", cart_ready) +
         slice("orders", "orders-1", "10.1.0.11", true) + pod("cart-1", "10.1.0.10") +
         pod("orders-1", "10.1.0.11") + extra;
}

const char* kCartEndpoints = "outbound|80||cart.shop.svc.cluster.local";
const char* kOrdersEndpoints = "outbound|80||orders.shop.svc.cluster.local";

TEST(TranslatorLayersTest, ProxiesShareTheMeshLayers) {
  Translator t(parse(mesh(true)), {});
  auto cart = t.proxyResources("shop", "cart-1");
  auto orders = t.proxyResources("shop", "orders-1");
  EXPECT_EQ(cart->clusters[0], orders->clusters[0]);    // mesh clusters
  EXPECT_EQ(cart->endpoints[0], orders->endpoints[0]);  // mesh endpoints
  EXPECT_EQ(cart->routes[0], orders->routes[0]);        // same namespace and mode
  EXPECT_EQ(cart->listeners[0], orders->listeners[0]);  // outbound listener
  EXPECT_NE(cart->listeners[1], orders->listeners[1]);  // each pod's inbound
  EXPECT_TRUE(cart->endpoints[0]->find(kCartEndpoints) != nullptr);
  EXPECT_TRUE(cart->clusters[1]->find("inbound|8080||") != nullptr);
}

TEST(TranslatorLayersTest, AnEndpointChangeRebuildsOnlyItsService) {
  auto before = std::make_shared<Translator>(parse(mesh(true)), TranslateOptions{});
  auto old_view = before->proxyResources("shop", "orders-1");
  Translator after(parse(mesh(false)), {}, before.get());
  auto view = after.proxyResources("shop", "orders-1");
  // The endpoints layer is a new version of the old one, naming the one changed resource.
  ASSERT_NE(view->endpoints[0], old_view->endpoints[0]);
  EXPECT_EQ(view->endpoints[0]->base(), old_view->endpoints[0]);
  EXPECT_EQ(view->endpoints[0]->changed(), std::vector<std::string>{kCartEndpoints});
  EXPECT_TRUE(view->endpoints[0]->removed().empty());
  // The other service's resources are the very same objects.
  EXPECT_EQ(view->endpoints[0]->entries().at(kOrdersEndpoints),
            old_view->endpoints[0]->entries().at(kOrdersEndpoints));
  // Clusters, routes, listeners: unchanged, taken over whole.
  EXPECT_EQ(view->clusters[0], old_view->clusters[0]);
  EXPECT_EQ(view->routes[0], old_view->routes[0]);
  EXPECT_EQ(view->listeners[0], old_view->listeners[0]);
  EXPECT_EQ(view->listeners[1], old_view->listeners[1]);
  // And what the proxy gets is what a translation from scratch gives.
  Translator fresh(parse(mesh(false)), {});
  auto expected = fresh.translate("shop", "orders-1");
  auto got = after.translate("shop", "orders-1");
  ASSERT_EQ(got.endpoints.size(), expected.endpoints.size());
  for (const auto& [name, any] : expected.endpoints) {
    EXPECT_EQ(got.endpoints.at(name).value(), any.value()) << name;
  }
}

TEST(TranslatorLayersTest, AVirtualServiceChangeRebuildsRoutesOnly) {
  std::string vs =
      "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: cart, "
      "namespace: shop}\nspec:\n  hosts: [cart]\n  http:\n  - route: [{destination: {host: "
      "cart}}]\n    timeout: ";
  auto before = std::make_shared<Translator>(parse(mesh(true, vs + "2s\n")), TranslateOptions{});
  auto old_view = before->proxyResources("shop", "orders-1");
  Translator after(parse(mesh(true, vs + "3s\n")), {}, before.get());
  EXPECT_TRUE(after.errors().empty());
  auto view = after.proxyResources("shop", "orders-1");
  EXPECT_NE(view->routes[0], old_view->routes[0]);
  EXPECT_EQ(view->routes[0]->base(), old_view->routes[0]);
  EXPECT_EQ(view->clusters[0], old_view->clusters[0]);
  EXPECT_EQ(view->endpoints[0], old_view->endpoints[0]);
  EXPECT_EQ(view->listeners[0], old_view->listeners[0]);
}

TEST(TranslatorLayersTest, APodChangeRebuildsWhatDependsOnIt) {
  // A new label on cart-1: its inbound (authorization could select it) and the cart
  // service's clusters (subsets select by labels) are rebuilt; orders' are not.
  auto before = std::make_shared<Translator>(parse(mesh(true)), TranslateOptions{});
  auto cart_view = before->proxyResources("shop", "cart-1");
  auto orders_view = before->proxyResources("shop", "orders-1");
  std::string text = mesh(true);
  std::string from = "{name: cart-1, namespace: shop, labels: {app: cart-1}}";
  text.replace(text.find(from), from.size(),
               "{name: cart-1, namespace: shop, labels: {app: cart-1, version: v2}}");
  Translator after(parse(text), {}, before.get());
  EXPECT_EQ(after.proxyResources("shop", "orders-1")->listeners[1], orders_view->listeners[1]);
  auto cart = after.proxyResources("shop", "cart-1");
  EXPECT_NE(cart->listeners[1].get(), nullptr);
  // Unchanged content: the rebuilt inbound layer is still the same map.
  EXPECT_EQ(cart->listeners[1], cart_view->listeners[1]);
}

// Inbound layers are taken over whole while nothing they are made of changed; an
// AuthorizationPolicy selecting a pod changes that pod's inbound listener (and only its).
TEST(TranslatorLayersTest, AnAuthorizationPolicyRebuildsTheInboundOfItsPods) {
  auto before = std::make_shared<Translator>(parse(mesh(true)), TranslateOptions{});
  auto cart_view = before->proxyResources("shop", "cart-1");
  auto orders_view = before->proxyResources("shop", "orders-1");
  std::string policy =
      "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: cart, "
      "namespace: shop}\nspec:\n  selector: {matchLabels: {app: cart-1}}\n  action: ALLOW\n"
      "  rules: [{from: [{source: {namespaces: [shop]}}]}]\n";
  Translator after(parse(mesh(true, policy)), {}, before.get());
  EXPECT_TRUE(after.errors().empty());
  auto cart = after.proxyResources("shop", "cart-1");
  EXPECT_NE(cart->listeners[1], cart_view->listeners[1]);
  EXPECT_EQ(cart->listeners[1]->base(), cart_view->listeners[1]);
  EXPECT_EQ(after.proxyResources("shop", "orders-1")->listeners[1], orders_view->listeners[1]);
  // And back: the same content as before the policy.
  Translator again(parse(mesh(true)), {}, &after);
  auto restored = again.proxyResources("shop", "cart-1");
  EXPECT_EQ(restored->listeners[1]->entries().at("inbound")->version,
            cart_view->listeners[1]->entries().at("inbound")->version);
}

// EndpointSlice conditions as Kubernetes defines them: `ready` when present; without it, a
// terminating endpoint is not a target (UNHEALTHY), whatever `serving` says.
TEST(TranslatorLayersTest, EndpointSliceConditions) {
  auto health = [](const std::string& conditions) {
    std::string text = service("cart", "10.96.0.10") +
                       "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: "
                       "cart-abc\n  namespace: shop\n  labels: {kubernetes.io/service-name: cart}"
                       "\nports: [{name: http, port: 8080}]\nendpoints:\n- addresses: [10.1.0.10]"
                       "\n  conditions: " +
                       conditions + "\n";
    Translator t(parse(text), {});
    config::endpoint::v1::ClusterLoadAssignment cla;
    EXPECT_TRUE(t.translate("shop").endpoints.at(kCartEndpoints).UnpackTo(&cla));
    EXPECT_EQ(cla.endpoints(0).lb_endpoints_size(), 1);
    return cla.endpoints(0).lb_endpoints(0).health_status() == config::endpoint::v1::UNHEALTHY
               ? "unhealthy"
               : "healthy";
  };
  EXPECT_STREQ(health("{}"), "healthy");
  EXPECT_STREQ(health("{ready: true}"), "healthy");
  EXPECT_STREQ(health("{ready: false, serving: true, terminating: true}"), "unhealthy");
  EXPECT_STREQ(health("{serving: true, terminating: true}"), "unhealthy");
  EXPECT_STREQ(health("{terminating: false}"), "healthy");
}

}  // namespace
}  // namespace remora::pilot
