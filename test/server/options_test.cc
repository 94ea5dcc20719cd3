#include "source/server/options.h"

#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/server/version.h"

namespace remora::server {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Parsed {
  ParseOutcome outcome;
  Options options;
  std::string out;
  std::string err;
};

Parsed parse(std::vector<std::string> args) {
  args.insert(args.begin(), "remora");
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  Parsed parsed;
  std::ostringstream out, err;
  parsed.outcome =
      parseOptions(static_cast<int>(argv.size()), argv.data(), parsed.options, out, err);
  parsed.out = out.str();
  parsed.err = err.str();
  return parsed;
}

TEST(OptionsTest, DefaultsWithOnlyAConfigPath) {
  Parsed p = parse({"-c", "bootstrap.yaml"});
  ASSERT_EQ(p.outcome, ParseOutcome::kOk) << p.err;
  EXPECT_EQ(p.options.config_path, "bootstrap.yaml");
  EXPECT_THAT(p.options.config_yaml, IsEmpty());
  EXPECT_EQ(p.options.mode, Mode::kServe);
  EXPECT_EQ(p.options.concurrency, 0u);
  EXPECT_EQ(p.options.log_level, "info");
  EXPECT_EQ(p.options.drain_time_s, 5u);
  EXPECT_EQ(p.options.min_drain_time_s, 0u);
  EXPECT_THAT(p.options.admin_address_path, IsEmpty());
  EXPECT_THAT(p.out, IsEmpty());
  EXPECT_THAT(p.err, IsEmpty());
}

TEST(OptionsTest, EveryFlagInSeparateValueForm) {
  Parsed p =
      parse({"--config-path", "a.yaml", "--mode", "validate", "--concurrency", "4", "--log-level",
             "debug", "--drain-time-s", "0", "--admin-address-path", "/tmp/admin"});
  ASSERT_EQ(p.outcome, ParseOutcome::kOk) << p.err;
  EXPECT_EQ(p.options.config_path, "a.yaml");
  EXPECT_EQ(p.options.mode, Mode::kValidate);
  EXPECT_EQ(p.options.concurrency, 4u);
  EXPECT_EQ(p.options.log_level, "debug");
  EXPECT_EQ(p.options.drain_time_s, 0u);
  EXPECT_EQ(p.options.admin_address_path, "/tmp/admin");
}

TEST(OptionsTest, MaxDownstreamConnections) {
  Parsed unset = parse({"-c", "a.yaml"});
  EXPECT_FALSE(unset.options.max_downstream_connections.has_value());
  Parsed p = parse({"-c", "a.yaml", "--max-downstream-connections", "5000"});
  ASSERT_EQ(p.outcome, ParseOutcome::kOk) << p.err;
  EXPECT_EQ(p.options.max_downstream_connections, 5000u);
  Parsed none = parse({"-c", "a.yaml", "--max-downstream-connections=0"});
  ASSERT_EQ(none.outcome, ParseOutcome::kOk) << none.err;
  EXPECT_EQ(none.options.max_downstream_connections, 0u);
  Parsed bad = parse({"-c", "a.yaml", "--max-downstream-connections", "-1"});
  EXPECT_EQ(bad.outcome, ParseOutcome::kError);
  EXPECT_NE(bad.err.find("--max-downstream-connections"), std::string::npos) << bad.err;
}

TEST(OptionsTest, EveryFlagInEqualsForm) {
  Parsed p =
      parse({"--config-yaml=admin: {}", "--mode=serve", "--concurrency=2", "--log-level=trace",
             "--drain-time-s=30", "--min-drain-time-s=3", "--admin-address-path=x=y"});
  ASSERT_EQ(p.outcome, ParseOutcome::kOk) << p.err;
  EXPECT_EQ(p.options.config_yaml, "admin: {}");
  EXPECT_EQ(p.options.mode, Mode::kServe);
  EXPECT_EQ(p.options.concurrency, 2u);
  EXPECT_EQ(p.options.log_level, "trace");
  EXPECT_EQ(p.options.drain_time_s, 30u);
  EXPECT_EQ(p.options.min_drain_time_s, 3u);
  EXPECT_EQ(p.options.admin_address_path, "x=y");  // only the first '=' separates
}

TEST(OptionsTest, ShortLogLevelAndCanonicalName) {
  Parsed p = parse({"-c", "a.yaml", "-l", "warning"});
  ASSERT_EQ(p.outcome, ParseOutcome::kOk) << p.err;
  EXPECT_EQ(p.options.log_level, "warn");
}

TEST(OptionsTest, RepeatedFlagKeepsLastValue) {
  Parsed p = parse({"-c", "a.yaml", "--concurrency", "2", "--concurrency=3"});
  ASSERT_EQ(p.outcome, ParseOutcome::kOk) << p.err;
  EXPECT_EQ(p.options.concurrency, 3u);
}

TEST(OptionsTest, EqualsFormAllowsValuesStartingWithDashes) {
  Parsed p = parse({"--config-path=--odd-name.yaml"});
  ASSERT_EQ(p.outcome, ParseOutcome::kOk) << p.err;
  EXPECT_EQ(p.options.config_path, "--odd-name.yaml");
}

TEST(OptionsTest, HelpPrintsUsageWithoutNeedingAConfig) {
  for (const char* flag : {"--help", "-h"}) {
    Parsed p = parse({flag});
    EXPECT_EQ(p.outcome, ParseOutcome::kExitSuccess) << flag;
    EXPECT_EQ(p.out, usageText());
    EXPECT_THAT(p.err, IsEmpty());
  }
  for (const char* flag :
       {"--config-path", "--config-yaml", "--mode", "--concurrency", "--log-level",
        "--drain-time-s", "--min-drain-time-s", "--admin-address-path", "--version"}) {
    EXPECT_THAT(usageText(), HasSubstr(flag));
  }
}

TEST(OptionsTest, VersionPrintsNameAndVersion) {
  Parsed p = parse({"--version"});
  EXPECT_EQ(p.outcome, ParseOutcome::kExitSuccess);
  EXPECT_EQ(p.out, std::string("remora ") + kRemoraVersion + "\n");
  EXPECT_EQ(std::string(kRemoraVersion), "0.1.0");
}

TEST(OptionsTest, HelpIsNotPrintedWhenTheCommandLineIsWrong) {
  Parsed p = parse({"--help", "--bogus"});
  EXPECT_EQ(p.outcome, ParseOutcome::kError);
  EXPECT_THAT(p.out, IsEmpty());
  EXPECT_THAT(p.err, HasSubstr("--bogus"));
}

// Each case: the arguments and a piece of the expected error, which must name the flag.
struct ErrorCase {
  std::vector<std::string> args;
  std::string flag;
  std::string message;
};

class OptionsErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(OptionsErrorTest, FailsNamingTheFlag) {
  const ErrorCase& c = GetParam();
  Parsed p = parse(c.args);
  EXPECT_EQ(p.outcome, ParseOutcome::kError);
  EXPECT_THAT(p.out, IsEmpty());
  EXPECT_THAT(p.err, HasSubstr("remora: " + c.flag + ": "));
  EXPECT_THAT(p.err, HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    Errors, OptionsErrorTest,
    ::testing::Values(
        ErrorCase{{}, "--config-path", "no config given"},
        ErrorCase{{"-c", "a.yaml", "--config-yaml", "x: 1"},
                  "--config-yaml",
                  "give only one of --config-path and --config-yaml"},
        ErrorCase{{"-c", "a.yaml", "--bogus"}, "--bogus", "unknown flag"},
        ErrorCase{{"-c", "a.yaml", "--bogus=1"}, "--bogus", "unknown flag"},
        ErrorCase{{"-c", "a.yaml", "-x"}, "-x", "unknown flag"},
        ErrorCase{{"a.yaml"}, "a.yaml", "unexpected argument"},
        ErrorCase{{"-c", "a.yaml", "-"}, "-", "unexpected argument"},
        ErrorCase{{"-c"}, "-c", "missing value"},
        ErrorCase{{"-c", "--mode", "validate"}, "-c", "missing value"},
        ErrorCase{{"-c", "a.yaml", "-l", "-c", "b.yaml"}, "-l", "missing value"},
        ErrorCase{{"--config-path="}, "--config-path", "must not be empty"},
        ErrorCase{{"-c", "a.yaml", "--mode", "run"}, "--mode", "got \"run\""},
        ErrorCase{{"-c", "a.yaml", "--concurrency", "0"}, "--concurrency", "from 1 to 1024"},
        ErrorCase{{"-c", "a.yaml", "--concurrency", "1025"}, "--concurrency", "from 1 to 1024"},
        ErrorCase{{"-c", "a.yaml", "--concurrency", "-1"}, "--concurrency", "got \"-1\""},
        ErrorCase{{"-c", "a.yaml", "--concurrency", "two"}, "--concurrency", "got \"two\""},
        ErrorCase{{"-c", "a.yaml", "--concurrency", "2x"}, "--concurrency", "got \"2x\""},
        ErrorCase{{"-c", "a.yaml", "--concurrency="}, "--concurrency", "got \"\""},
        ErrorCase{{"-c", "a.yaml", "--drain-time-s", "4294967296"},
                  "--drain-time-s",
                  "whole number of seconds"},
        ErrorCase{{"-c", "a.yaml", "--drain-time-s", "+5"}, "--drain-time-s", "got \"+5\""},
        ErrorCase{{"-c", "a.yaml", "--min-drain-time-s", "6"},
                  "--min-drain-time-s",
                  "6 is longer than --drain-time-s (5)"},
        ErrorCase{{"-c", "a.yaml", "--min-drain-time-s", "x"}, "--min-drain-time-s", "got \"x\""},
        ErrorCase{{"-c", "a.yaml", "-l", "loud"}, "-l", "got \"loud\""},
        ErrorCase{{"-c", "a.yaml", "--log-level=INFO"}, "--log-level", "got \"INFO\""},
        ErrorCase{{"--help=yes"}, "--help", "takes no value"},
        ErrorCase{{"--version=1"}, "--version", "takes no value"}));

}  // namespace
}  // namespace remora::server
