// Prints the authorization config pilot gives one workload, for the tests that hand it to the
// proxy's engine (which links the other protobuf library and so cannot share a binary with
// pilot's code):
//
//   rbac_for_workload [--root-namespace NS] [--trust-domain TD] FILE NAMESPACE [LABEL=VALUE...]
//
// stdout: the Rbac in protobuf text format; stderr: the manifest errors, one per line.

#include <google/protobuf/text_format.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "source/pilot/security/authorization_policy.h"
#include "test/pilot/security/policy_test_util.h"

int main(int argc, char** argv) {
  std::string root_namespace = "istio-system";
  std::string trust_domain = "cluster.local";
  int i = 1;
  for (; i + 1 < argc && std::string(argv[i]).rfind("--", 0) == 0; i += 2) {
    std::string flag = argv[i];
    if (flag == "--root-namespace") {
      root_namespace = argv[i + 1];
    } else if (flag == "--trust-domain") {
      trust_domain = argv[i + 1];
    } else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (argc - i < 2) {
    std::cerr << "usage: rbac_for_workload [--root-namespace NS] [--trust-domain TD] FILE "
                 "NAMESPACE [LABEL=VALUE...]\n";
    return 2;
  }
  std::ifstream in(argv[i]);
  std::stringstream text;
  text << in.rdbuf();
  std::string ns = argv[i + 1];
  std::map<std::string, std::string> labels;
  for (int l = i + 2; l < argc; ++l) {
    std::string label = argv[l];
    size_t equals = label.find('=');
    labels[label.substr(0, equals)] = equals == std::string::npos ? "" : label.substr(equals + 1);
  }

  std::vector<remora::pilot::ManifestError> errors;
  auto objects = remora::pilot::testing::objectsFromText(text.str(), errors);
  remora::pilot::AuthorizationPolicies policies(objects, root_namespace, trust_domain);
  for (const auto& e : errors) std::cerr << e.message << "\n";
  for (const auto& e : policies.errors()) std::cerr << e.message << "\n";
  std::string out;
  google::protobuf::TextFormat::PrintToString(policies.forWorkload(ns, labels), &out);
  std::cout << out;
  return 0;
}
