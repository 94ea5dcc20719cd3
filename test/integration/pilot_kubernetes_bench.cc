// Sync time and resident memory of the real remora-pilot reading a scripted Kubernetes API
// server (--kubeconfig) at a given scale: N services in 10 namespaces, each with one
// EndpointSlice of P ready endpoints and P pods. Prints the figures; asserts nothing.
//
//   bazel run //test/integration:pilot_kubernetes_bench -- [SERVICES] [PODS_PER_SERVICE]

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "test/integration/pilot_process.h"
#include "test/integration/proxy_process.h"
#include "test/integration/test_net.h"
#include "test/pilot/api_objects.h"
#include "test/pilot/kubernetes/fake_api_server.h"
#include "test/pilot/kubernetes/test_certificates.h"

namespace {

using namespace remora::test;
namespace k8s = remora::pilot::kubernetes::testing;

std::string ip(int service, int pod) {
  return "10." + std::to_string(1 + service / 250) + "." + std::to_string(service % 250) + "." +
         std::to_string(10 + pod);
}

// VmRSS / VmHWM of `pid` in MiB.
double statusMiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int services = argc > 1 ? std::atoi(argv[1]) : 1000;
  int pods_per_service = argc > 2 ? std::atoi(argv[2]) : 3;
  remora::pilot::testing::ApiCollections collections;
  for (int ns = 0; ns < 10; ++ns) {
    collections["/api/v1/namespaces"].push_back(R"({"metadata":{"name":"ns-)" + std::to_string(ns) +
                                                R"("}})");
  }
  for (int s = 0; s < services; ++s) {
    std::string name = "svc-" + std::to_string(s);
    std::string ns = "ns-" + std::to_string(s % 10);
    std::string meta = R"("name":")" + name + R"(","namespace":")" + ns + R"(")";
    collections["/api/v1/services"].push_back(
        R"({"metadata":{)" + meta + R"(,"resourceVersion":"1"},"spec":{"clusterIP":"10.96.)" +
        std::to_string(s / 250) + "." + std::to_string(s % 250) + R"(","selector":{"app":")" +
        name +
        R"("},"ports":[{"name":"http","port":8080,"targetPort":8080},)"
        R"({"name":"grpc","port":9090,"targetPort":9090}]}})");
    std::string endpoints;
    for (int p = 0; p < pods_per_service; ++p) {
      std::string pod = name + "-" + std::to_string(p);
      collections["/api/v1/pods"].push_back(
          R"({"metadata":{"name":")" + pod + R"(","namespace":")" + ns +
          R"(","resourceVersion":"1","labels":{"app":")" + name +
          R"(","version":"v1"},"managedFields":[{"manager":"kubelet","operation":"Update"}]},)"
          R"("spec":{"serviceAccountName":")" +
          name +
          R"(","nodeName":"node-1","containers":[{"name":"app","image":"registry/app:1",)"
          R"("ports":[{"name":"http","containerPort":8080}],"env":[{"name":"A","value":"b"}]}]},)"
          R"("status":{"phase":"Running","podIP":")" +
          ip(s, p) + R"("}})");
      endpoints += (p > 0 ? "," : "") + std::string(R"({"addresses":[")") + ip(s, p) +
                   R"("],"conditions":{"ready":true},"targetRef":{"kind":"Pod","name":")" + pod +
                   R"(","namespace":")" + ns + R"("}})";
    }
    collections["/apis/discovery.k8s.io/v1/endpointslices"].push_back(
        R"({"metadata":{"name":")" + name + R"(-abcde","namespace":")" + ns +
        R"(","resourceVersion":"1","labels":{"kubernetes.io/service-name":")" + name +
        R"("}},"addressType":"IPv4","ports":[{"name":"http","port":8080},{"name":"grpc","port":9090}],)"
        R"("endpoints":[)" +
        endpoints + "]}");
  }

  k8s::TestPki pki = k8s::makeTestPki();
  k8s::FakeApiServer server(pki.server_cert_pem, pki.server_key_pem);
  server.setAcceptedToken("bench");
  remora::pilot::testing::serveCollections(server, collections, 500);

  std::string dir = makeTempDir();
  writeFile(dir + "/ca.pem", pki.ca_pem);
  writeFile(dir + "/kubeconfig",
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            "contexts: [{name: c, context: {cluster: x, user: u}}]\n"
            "clusters: [{name: x, cluster: {server: \"https://127.0.0.1:" +
                std::to_string(server.port()) + "\", certificate-authority: ca.pem}}]\n" +
                "users: [{name: u, user: {token: bench}}]\n");
  std::string monitoring = "127.0.0.1:" + std::to_string(unusedPort());
  PilotProcess pilot;
  auto started = std::chrono::steady_clock::now();
  pilot.start({"--kubeconfig", dir + "/kubeconfig", "--listen",
               "127.0.0.1:" + std::to_string(unusedPort()), "--monitoring", monitoring},
              dir + "/pilot.log");
  bool ready = waitFor([&] { return httpRequest(monitoring, "GET", "/ready").status == 200; },
                       std::chrono::seconds(300));
  auto synced = std::chrono::steady_clock::now();
  if (!ready) {
    std::fprintf(stderr, "pilot did not become ready:\n%s\n", pilot.log().c_str());
    return 1;
  }
  std::printf(
      "%d services, %d EndpointSlices, %d pods (10 namespaces), list pages of 500\n"
      "  start to /ready (first complete sync + translation): %lld ms\n"
      "  pilot resident memory after sync: %.1f MiB (peak %.1f MiB)\n",
      services, services, services * pods_per_service,
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(synced - started).count()),
      statusMiB(pilot.pid(), "VmRSS"), statusMiB(pilot.pid(), "VmHWM"));
  std::string log = pilot.log();
  size_t translated = log.find("translated in");
  if (translated != std::string::npos) {
    size_t line = log.rfind('\n', translated) + 1;
    std::printf("  pilot: %s\n", log.substr(line, log.find('\n', translated) - line).c_str());
  }
  pilot.stop();
  return 0;
}
