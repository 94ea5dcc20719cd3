#include "source/pilot/ca/ca_options.h"

#include "gtest/gtest.h"

namespace remora::pilot::ca {
namespace {

using namespace std::chrono_literals;

TEST(ParseDurationTest, ReadsUnitsAndSums) {
  EXPECT_EQ(*parseDuration("90s"), 90s);
  EXPECT_EQ(*parseDuration("30m"), 30min);
  EXPECT_EQ(*parseDuration("24h"), 24h);
  EXPECT_EQ(*parseDuration("2d"), 48h);
  EXPECT_EQ(*parseDuration("1h30m"), 90min);
  EXPECT_EQ(*parseDuration("0"), 0s);
  for (const char* bad : {"", "h", "10", "1x", "-1h", "1.5h", "1h ", " 1h"}) {
    EXPECT_EQ(parseDuration(bad).error(),
              "duration \"" + std::string(bad) + "\" is not like 90s, 30m, 24h, 2d or 1h30m")
        << bad;
  }
  EXPECT_EQ(parseDuration("99999999999999999999h").error(),
            "duration \"99999999999999999999h\" is too long");
}

TEST(FormatDurationTest, LargestWholeUnit) {
  EXPECT_EQ(formatDuration(48h), "48h");
  EXPECT_EQ(formatDuration(90min), "90m");
  EXPECT_EQ(formatDuration(59s), "59s");
  EXPECT_EQ(formatDuration(0s), "0s");
}

TEST(ParseCaFlagTest, StoresValuesAndReportsBadOnes) {
  CaOptions options;
  std::string error;
  EXPECT_TRUE(parseCaFlag("--ca-listen", "off", options, error));
  EXPECT_FALSE(options.enabled());
  EXPECT_TRUE(parseCaFlag("--ca-hostnames", "a.svc,,b.svc", options, error));
  EXPECT_EQ(options.hostnames, (std::vector<std::string>{"a.svc", "b.svc"}));
  EXPECT_TRUE(parseCaFlag("--workload-cert-ttl", "1h", options, error));
  EXPECT_EQ(options.workload_cert_ttl, 1h);
  EXPECT_TRUE(error.empty());
  EXPECT_TRUE(parseCaFlag("--root-overlap", "soon", options, error));
  EXPECT_EQ(error, "--root-overlap: duration \"soon\" is not like 90s, 30m, 24h, 2d or 1h30m");
  EXPECT_FALSE(options.root_overlap.has_value());
  EXPECT_FALSE(parseCaFlag("--listen", "x", options, error));
}

TEST(ValidateCaOptionsTest, OverlapCoversTheLongestLeaf) {
  CaOptions options;
  // Defaults: the overlap grows to the 48h maximum lifetime.
  EXPECT_EQ(options.rootOverlap(), 48h);
  EXPECT_TRUE(validateCaOptions(options).ok());
  options.max_workload_cert_ttl = 12h;
  EXPECT_EQ(options.rootOverlap(), 24h);
  options.max_workload_cert_ttl = 48h;
  options.root_overlap = 24h;
  EXPECT_EQ(validateCaOptions(options).error(),
            "--root-overlap (24h) must be at least --max-workload-cert-ttl (48h): a leaf the old "
            "root signed just before a rotation stays valid that long");
  options.root_overlap = 72h;
  EXPECT_TRUE(validateCaOptions(options).ok());
  options.workload_cert_ttl = 49h;
  EXPECT_EQ(validateCaOptions(options).error(),
            "--workload-cert-ttl (49h) is above --max-workload-cert-ttl (48h)");
  options.workload_cert_ttl = 0s;
  EXPECT_FALSE(validateCaOptions(options).ok());
  options.listen = "off";  // nothing to check when the CA is off
  EXPECT_TRUE(validateCaOptions(options).ok());
}

}  // namespace
}  // namespace remora::pilot::ca
