#pragma once

// The analyze goldens served by the scripted Kubernetes API server over TLS
// (test/pilot/kubernetes/fake_api_server.h): a case's manifests as the API server would hold
// them, a kubeconfig naming that server, and the case's expected lines as they read when the
// objects come from the cluster (`kubernetes:<Kind>/<ns>/<name>` where the folder names a file).

#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "source/pilot/manifests.h"
#include "test/pilot/analyze/analyze_test_util.h"
#include "test/pilot/api_objects.h"
#include "test/pilot/kubernetes/fake_api_server.h"
#include "test/pilot/kubernetes/test_certificates.h"

namespace remora::pilot::analyze::testing {

// The cases that can exist in a cluster: the API server holds no file that fails to parse, no
// two objects of one kind and name, and lists no kind pilot does not watch (unsupported_kind's
// Gateway is never read), so those three have no cluster counterpart.
inline constexpr Case kClusterCases[] = {
    {"clean_mesh", false},
    {"vs_unknown_host", true},
    {"vs_unknown_port", true},
    {"vs_unknown_subset", true},
    {"dr_subset_no_pods", false},
    {"no_matching_service", false},
    {"selector_no_workloads", false},
    {"schema_errors", true},
};

inline constexpr char kClusterToken[] = "analyze-token";

// `expected` (a case's expected.txt) with each object's file replaced by where the Kubernetes
// source says the object came from.
inline std::string expectedFromCluster(const std::string& expected) {
  static const std::regex object_line(R"(\((\w+) ([^/ ]+)/([^ )]+)\)(.*) \(in [^)]+\)$)");
  std::string out;
  size_t start = 0;
  while (start < expected.size()) {
    size_t end = expected.find('\n', start);
    std::string line = expected.substr(start, end - start);
    std::smatch m;
    if (std::regex_search(line, m, object_line)) {
      const std::string where = m[1].str() == "Namespace" ? "kubernetes:Namespace/" + m[3].str()
                                                          : "kubernetes:" + m[1].str() + "/" +
                                                                m[2].str() + "/" + m[3].str();
      line = line.substr(0, m.position(0)) + "(" + m[1].str() + " " + m[2].str() + "/" +
             m[3].str() + ")" + m[4].str() + " (in " + where + ")";
    }
    out += line + "\n";
    start = end + 1;
  }
  return out;
}

// A scripted API server over TLS accepting kClusterToken, and a kubeconfig for it in `dir`.
class ClusterCase {
 public:
  explicit ClusterCase(const std::string& dir) : dir_(dir) {
    pki_ = kubernetes::testing::makeTestPki();
    EXPECT_FALSE(pki_.ca_pem.empty());
    server_ = std::make_unique<kubernetes::testing::FakeApiServer>(pki_.server_cert_pem,
                                                                   pki_.server_key_pem);
    server_->setAcceptedToken(kClusterToken);
    std::ofstream(dir_ + "/ca.pem") << pki_.ca_pem;
    std::ofstream(dir_ + "/kubeconfig")
        << "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
        << "contexts: [{name: test, context: {cluster: fake, user: analyze}}]\n"
        << "clusters: [{name: fake, cluster: {server: \"https://127.0.0.1:" << server_->port()
        << "\", certificate-authority: ca.pem}}]\n"
        << "users: [{name: analyze, user: {token: " << kClusterToken << "}}]\n";
  }

  // Serves the manifests of folder `manifests` (every kind pilot lists, in small pages).
  void serve(const std::string& manifests) {
    std::vector<ManifestError> errors;
    std::vector<Object> objects = loadManifests(manifests, errors);
    EXPECT_TRUE(errors.empty()) << manifests;
    pilot::testing::serveCollections(*server_, pilot::testing::apiCollections(objects), 2);
  }

  kubernetes::testing::FakeApiServer& server() { return *server_; }
  std::string kubeconfig() const { return dir_ + "/kubeconfig"; }

 private:
  std::string dir_;
  kubernetes::testing::TestPki pki_;
  std::unique_ptr<kubernetes::testing::FakeApiServer> server_;
};

}  // namespace remora::pilot::analyze::testing
