// The real binary: `remora-pilot analyze DIR` prints the golden lines on stdout and exits 0
// (no errors; warnings only or nothing), 1 (errors) or 2 (usage errors, named on stderr).

#include "test/pilot/analyze/analyze_test_util.h"

namespace remora::pilot::analyze {
namespace {

using testing::CaseFolder;
using testing::pilot;
using testing::PilotRun;

class AnalyzeCommandTest : public ::testing::TestWithParam<testing::Case> {};

TEST_P(AnalyzeCommandTest, PrintsTheGoldenAndExitsByErrors) {
  const testing::Case& c = GetParam();
  CaseFolder folder(c.name);
  PilotRun run = pilot("analyze " + folder.path(), folder.root());
  EXPECT_EQ(run.status, c.errors ? 1 : 0) << c.name << "\n" << run.err;
  EXPECT_EQ(run.out, testing::expectedOf(c.name)) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Cases, AnalyzeCommandTest, ::testing::ValuesIn(testing::kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(AnalyzeUsageTest, CleanMeshPrintsNothing) {
  CaseFolder folder("clean_mesh");
  PilotRun run = pilot("analyze --cluster-domain cluster.local " + folder.path(), folder.root());
  EXPECT_EQ(run.status, 0);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "");
}

TEST(AnalyzeUsageTest, MissingFolderIsAUsageErrorNamingIt) {
  CaseFolder folder("clean_mesh");
  const std::string missing = folder.root() + "/missing";
  PilotRun run = pilot("analyze " + missing, folder.root());
  EXPECT_EQ(run.status, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "remora-pilot analyze: DIR: folder \"" + missing + "\" does not exist\n");
}

TEST(AnalyzeUsageTest, NoFolderIsAUsageError) {
  CaseFolder folder("clean_mesh");
  PilotRun run = pilot("analyze", folder.root());
  EXPECT_EQ(run.status, 2);
  EXPECT_EQ(run.err.rfind("remora-pilot analyze: one of DIR (the manifest folder), --kubernetes "
                          "or --kubeconfig FILE is required\n",
                          0),
            0u)
      << run.err;
}

TEST(AnalyzeUsageTest, FlagErrorsNameTheFlag) {
  CaseFolder folder("clean_mesh");
  PilotRun unknown = pilot("analyze --kubernets " + folder.path(), folder.root());
  EXPECT_EQ(unknown.status, 2);
  EXPECT_EQ(unknown.err.rfind("remora-pilot analyze: unknown flag --kubernets\n", 0), 0u)
      << unknown.err;
  PilotRun no_value = pilot("analyze " + folder.path() + " --root-namespace", folder.root());
  EXPECT_EQ(no_value.status, 2);
  EXPECT_EQ(no_value.err, "remora-pilot analyze: --root-namespace needs a value\n");
}

// In the root namespace a selector reaches every namespace: with another root namespace the
// mesh-wide policy of clean_mesh selects no pod of its own namespace (a warning, still exit 0).
TEST(AnalyzeUsageTest, RootNamespaceFlagIsUsed) {
  CaseFolder folder("clean_mesh");
  PilotRun run = pilot("analyze --root-namespace mesh-root " + folder.path(), folder.root());
  EXPECT_EQ(run.status, 0);
  EXPECT_EQ(run.out,
            "Warning [IST0127] (AuthorizationPolicy istio-system/ratings-readers) "
            "spec.selector.matchLabels: selects no pod (app=ratings) in namespace istio-system; "
            "the object applies to no workload (in mesh.yaml)\n");
}

}  // namespace
}  // namespace remora::pilot::analyze
