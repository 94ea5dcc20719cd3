// The real binary against the cluster: `remora-pilot analyze --kubeconfig FILE`, with the
// goldens served by the scripted API server over TLS, prints the folder case's lines (naming
// kubernetes:<Kind>/<ns>/<name> instead of the file) and exits 0 or 1 as the folder case does;
// a cluster that never completes a list exits 2 after --sync-timeout, naming the kinds; the
// source flags' errors name the flag.

#include <chrono>

#include "test/pilot/analyze/cluster_case.h"

namespace remora::pilot::analyze {
namespace {

using testing::CaseFolder;
using testing::ClusterCase;
using testing::pilot;
using testing::PilotRun;

class AnalyzeKubernetesCommandTest : public ::testing::TestWithParam<testing::Case> {};

TEST_P(AnalyzeKubernetesCommandTest, PrintsTheGoldenAndExitsByErrors) {
  const testing::Case& c = GetParam();
  CaseFolder folder(c.name);
  ClusterCase cluster(folder.root());
  cluster.serve(folder.path());
  PilotRun run = pilot("analyze --kubeconfig " + cluster.kubeconfig(), folder.root());
  EXPECT_EQ(run.status, c.errors ? 1 : 0) << c.name << "\n" << run.err;
  EXPECT_EQ(run.out, testing::expectedFromCluster(testing::expectedOf(c.name))) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Cases, AnalyzeKubernetesCommandTest,
                         ::testing::ValuesIn(testing::kClusterCases),
                         [](const auto& info) { return std::string(info.param.name); });

// The analysis flags apply to the cluster too (the folder case's RootNamespaceFlagIsUsed).
TEST(AnalyzeKubernetesUsageTest, AnalysisFlagsApply) {
  CaseFolder folder("clean_mesh");
  ClusterCase cluster(folder.root());
  cluster.serve(folder.path());
  PilotRun run = pilot("analyze --root-namespace mesh-root --kubeconfig " + cluster.kubeconfig(),
                       folder.root());
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out,
            "Warning [IST0127] (AuthorizationPolicy istio-system/ratings-readers) "
            "spec.selector.matchLabels: selects no pod (app=ratings) in namespace istio-system; "
            "the object applies to no workload (in "
            "kubernetes:AuthorizationPolicy/istio-system/ratings-readers)\n");
}

// Services cannot be listed: exit 2 after the timeout, nothing on stdout.
TEST(AnalyzeKubernetesUsageTest, NoCompleteSyncExitsTwoNamingTheKinds) {
  CaseFolder folder("vs_unknown_host");
  ClusterCase cluster(folder.root());
  cluster.serve(folder.path());
  cluster.server().setListStatus("/api/v1/services", 500);
  const auto started = std::chrono::steady_clock::now();
  PilotRun run =
      pilot("analyze --sync-timeout 1s --kubeconfig " + cluster.kubeconfig(), folder.root());
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(run.status, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("remora-pilot analyze: --kubeconfig: Kubernetes API server "
                         "https://127.0.0.1:"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find(": no complete sync within 1s (not listed: Service)\n"), std::string::npos)
      << run.err;
  EXPECT_GE(took, std::chrono::seconds(1));
  EXPECT_LT(took, std::chrono::seconds(15));
}

TEST(AnalyzeKubernetesUsageTest, SourceErrorsNameTheFlag) {
  CaseFolder folder("clean_mesh");
  const std::string missing = folder.root() + "/nope";
  PilotRun no_file = pilot("analyze --kubeconfig " + missing, folder.root());
  EXPECT_EQ(no_file.status, 2);
  EXPECT_EQ(no_file.err.rfind("remora-pilot analyze: --kubeconfig: " + missing, 0), 0u)
      << no_file.err;

  PilotRun both = pilot("analyze --kubernetes " + folder.path(), folder.root());
  EXPECT_EQ(both.status, 2);
  EXPECT_EQ(both.err.rfind("remora-pilot analyze: DIR, --kubernetes and --kubeconfig are mutually "
                           "exclusive (choose one source)\n",
                           0),
            0u)
      << both.err;

  PilotRun no_value = pilot("analyze --kubeconfig", folder.root());
  EXPECT_EQ(no_value.status, 2);
  EXPECT_EQ(no_value.err, "remora-pilot analyze: --kubeconfig needs a value\n");

  PilotRun bad_timeout =
      pilot("analyze --sync-timeout soon --kubeconfig " + missing, folder.root());
  EXPECT_EQ(bad_timeout.status, 2);
  EXPECT_EQ(bad_timeout.err,
            "remora-pilot analyze: --sync-timeout: \"soon\" is not a duration (a positive "
            "number of ms, s or m: 500ms, 30s, 2m)\n");
}

}  // namespace
}  // namespace remora::pilot::analyze
