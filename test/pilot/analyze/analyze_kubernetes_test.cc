// analyze's goldens read from the cluster, through the library: each case's manifests served by
// the scripted API server over TLS and opened as `--kubeconfig FILE` opens them give the folder
// case's lines, with kubernetes:<Kind>/<ns>/<name> where the folder names the file; an API
// server that never completes a list is given up after --sync-timeout, naming the kinds.

#include <chrono>

#include "source/pilot/analyze/analyzer.h"
#include "source/pilot/analyze/cluster_source.h"
#include "test/pilot/analyze/cluster_case.h"

namespace remora::pilot::analyze {
namespace {

using testing::CaseFolder;
using testing::ClusterCase;

std::string linesOf(const std::vector<Finding>& findings) {
  std::string out;
  for (const auto& finding : findings) out += finding.line() + "\n";
  return out;
}

class AnalyzeKubernetesTest : public ::testing::TestWithParam<testing::Case> {};

TEST_P(AnalyzeKubernetesTest, FindingsMatchTheFolderCase) {
  const testing::Case& c = GetParam();
  CaseFolder folder(c.name);
  ClusterCase cluster(folder.root());
  cluster.serve(folder.path());
  AnalyzedSource chosen;
  chosen.kubeconfig = cluster.kubeconfig();
  chosen.sync_timeout = std::chrono::seconds(20);
  std::string error;
  auto source = openAnalyzedSource(chosen, error);
  ASSERT_TRUE(source) << error;
  std::vector<Finding> findings = analyzeSource(*source, TranslateOptions());
  const std::string expected = testing::expectedFromCluster(testing::expectedOf(c.name));
  EXPECT_EQ(linesOf(findings), expected) << c.name;
  EXPECT_EQ(hasErrors(findings), c.errors) << c.name;
  // The transformation is not the identity where there is something to name.
  if (!expected.empty()) {
    EXPECT_NE(expected.find("(in kubernetes:"), std::string::npos) << expected;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, AnalyzeKubernetesTest, ::testing::ValuesIn(testing::kClusterCases),
                         [](const auto& info) { return std::string(info.param.name); });

// Pods cannot be listed (every list answers 500): no complete sync, so no analysis of a partial
// cluster; the error names the flag, the timeout and the kind that is missing.
TEST(AnalyzeKubernetesSyncTest, NoCompleteSyncIsAnErrorNamingTheKinds) {
  CaseFolder folder("clean_mesh");
  ClusterCase cluster(folder.root());
  cluster.serve(folder.path());
  cluster.server().setListStatus("/api/v1/pods", 500);
  AnalyzedSource chosen;
  chosen.kubeconfig = cluster.kubeconfig();
  chosen.sync_timeout = std::chrono::milliseconds(1500);
  std::string error;
  const auto started = std::chrono::steady_clock::now();
  auto source = openAnalyzedSource(chosen, error);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_FALSE(source);
  EXPECT_EQ(error.rfind("--kubeconfig: Kubernetes API server https://127.0.0.1:", 0), 0u) << error;
  EXPECT_NE(error.find(": no complete sync within 1500ms (not listed: Pod)"), std::string::npos)
      << error;
  EXPECT_GE(took, std::chrono::milliseconds(1500));
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST(AnalyzeKubernetesSyncTest, SourcesAreExclusive) {
  AnalyzedSource none;
  EXPECT_EQ(none.conflict(),
            "one of DIR (the manifest folder), --kubernetes or --kubeconfig FILE is required");
  AnalyzedSource two;
  two.dir = "/x";
  two.in_cluster = true;
  EXPECT_EQ(two.conflict(),
            "DIR, --kubernetes and --kubeconfig are mutually exclusive (choose one source)");
  AnalyzedSource one;
  one.kubeconfig = "/x";
  EXPECT_EQ(one.conflict(), "");
}

}  // namespace
}  // namespace remora::pilot::analyze
