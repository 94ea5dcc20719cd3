// analyze's goldens, through the library: each case folder under testdata/ analysed with the
// folder source gives exactly the lines of its expected.txt (sorted, one per finding), and
// errors exactly when the table says so.

#include <filesystem>
#include <set>

#include "source/pilot/analyze/analyzer.h"
#include "source/pilot/folder_source.h"
#include "test/pilot/analyze/analyze_test_util.h"

namespace remora::pilot::analyze {
namespace {

using testing::CaseFolder;
using testing::kCases;

std::string linesOf(const std::vector<Finding>& findings) {
  std::string out;
  for (const auto& finding : findings) out += finding.line() + "\n";
  return out;
}

class AnalyzeGoldenTest : public ::testing::TestWithParam<testing::Case> {};

TEST_P(AnalyzeGoldenTest, FindingsMatchExpected) {
  const testing::Case& c = GetParam();
  CaseFolder folder(c.name);
  std::string error;
  auto source = FolderSource::open(folder.path(), error);
  ASSERT_TRUE(source) << error;
  std::vector<Finding> findings = analyzeSource(*source, TranslateOptions());
  EXPECT_EQ(linesOf(findings), testing::expectedOf(c.name)) << c.name;
  EXPECT_EQ(hasErrors(findings), c.errors) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Cases, AnalyzeGoldenTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

// Every case folder is in the table (a new folder without a row would never be checked).
TEST(AnalyzeGoldenTableTest, EveryCaseFolderIsInTheTable) {
  std::set<std::string> folders;
  for (const auto& entry : std::filesystem::directory_iterator(testing::kTestdata)) {
    folders.insert(entry.path().filename().string());
  }
  std::set<std::string> table;
  for (const auto& c : kCases) table.insert(c.name);
  EXPECT_EQ(folders, table);
}

// Analysing twice gives the same lines: the order does not depend on reading order.
TEST(AnalyzeGoldenTableTest, OutputIsDeterministic) {
  CaseFolder folder("schema_errors");
  std::string error;
  auto first = FolderSource::open(folder.path(), error);
  auto second = FolderSource::open(folder.path(), error);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(linesOf(analyzeSource(*first, TranslateOptions())),
            linesOf(analyzeSource(*second, TranslateOptions())));
}

// Another cluster domain: FQDN references resolve against it.
TEST(AnalyzeGoldenTableTest, ClusterDomainDecidesWhatFqdnsResolve) {
  CaseFolder folder("clean_mesh");
  std::string error;
  auto source = FolderSource::open(folder.path(), error);
  ASSERT_TRUE(source);
  TranslateOptions options;
  options.cluster_domain = "mesh.example";
  std::string lines = linesOf(analyzeSource(*source, options));
  EXPECT_NE(lines.find("host \"reviews.default.svc.cluster.local\" is not a Service or "
                       "ServiceEntry host"),
            std::string::npos)
      << lines;
  EXPECT_EQ(lines.find("destination.host: host \"reviews\""), std::string::npos) << lines;
}

}  // namespace
}  // namespace remora::pilot::analyze
