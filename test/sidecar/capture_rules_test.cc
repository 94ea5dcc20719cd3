// The capture rules as built and printed (no iptables run): defaults, include/exclude lists per
// address family, argument errors, and the dry-run output.

#include "source/sidecar/capture_rules.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "source/sidecar/capture_main.h"

namespace remora::sidecar {
namespace {

std::string join(const Command& command) {
  std::string out;
  for (const auto& word : command) out += (out.empty() ? "" : " ") + word;
  return out;
}

std::vector<std::string> lines(const std::vector<Command>& commands) {
  std::vector<std::string> out;
  for (const auto& command : commands) out.push_back(join(command));
  return out;
}

bool has(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

size_t indexOf(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) - lines.begin();
}

TEST(CaptureRulesTest, DefaultsCaptureEverythingButTheProxy) {
  auto rules = lines(installCommands(CaptureOptions{}, Family::kIPv4));
  EXPECT_TRUE(has(rules, "-t nat -A REMORA_REDIRECT -p tcp -j REDIRECT --to-ports 15001"));
  EXPECT_TRUE(has(rules, "-t nat -A REMORA_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006"));
  // Only readiness is left reachable; the proxy's other ports go to the inbound listener
  // (which refuses them), never to the proxy port itself.
  EXPECT_TRUE(has(rules, "-t nat -A REMORA_INBOUND -p tcp --dport 15021 -j RETURN"));
  for (const char* port : {"15000", "15001", "15006", "15020", "15053"}) {
    std::string redirect = std::string("-t nat -A REMORA_INBOUND -p tcp --dport ") + port;
    EXPECT_TRUE(has(rules, redirect + " -j REMORA_IN_REDIRECT")) << port;
    EXPECT_FALSE(has(rules, redirect + " -j RETURN")) << port;
  }
  size_t returns = 0;
  for (const auto& line : rules) {
    returns += line.find("-A REMORA_INBOUND") != std::string::npos &&
               line.find("RETURN") != std::string::npos;
  }
  EXPECT_EQ(returns, 1u);
  EXPECT_TRUE(has(rules, "-t nat -A REMORA_INBOUND -p tcp -j REMORA_IN_REDIRECT"));
  // The inbound passthrough's connections to the pod IP (from 127.0.0.6 over lo) are not
  // captured, before any redirect.
  EXPECT_TRUE(has(rules, "-t nat -A REMORA_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN"));
  EXPECT_LT(indexOf(rules, "-t nat -A REMORA_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN"),
            indexOf(rules, "-t nat -A REMORA_OUTPUT -j REMORA_REDIRECT"));
  EXPECT_TRUE(has(rules, "-t nat -A REMORA_OUTPUT -m owner --uid-owner 1337 -j RETURN"));
  EXPECT_TRUE(has(rules, "-t nat -A REMORA_OUTPUT -d 127.0.0.1/32 -j RETURN"));
  EXPECT_TRUE(has(rules, "-t nat -A REMORA_OUTPUT -j REMORA_REDIRECT"));
  // The exemptions come before the catch-all, and the jumps into our chains come last, once
  // the chains are complete.
  EXPECT_LT(indexOf(rules, "-t nat -A REMORA_OUTPUT -m owner --uid-owner 1337 -j RETURN"),
            indexOf(rules, "-t nat -A REMORA_OUTPUT -j REMORA_REDIRECT"));
  EXPECT_EQ(rules[rules.size() - 2], "-t nat -A PREROUTING -p tcp -j REMORA_INBOUND");
  EXPECT_EQ(rules.back(), "-t nat -A OUTPUT -p tcp -j REMORA_OUTPUT");
  // Only our chains and the two jumps: nothing else in the table is touched.
  for (const auto& line : rules) {
    EXPECT_TRUE(line.find("REMORA_") != std::string::npos) << line;
  }
}

TEST(CaptureRulesTest, ListsAndFamilies) {
  CaptureRequest request;
  std::vector<std::string> errors;
  ASSERT_TRUE(
      parseCaptureArgs({"--include-outbound-cidrs", "10.96.0.0/12,fd00:10::/64",
                        "--exclude-outbound-cidrs=10.96.0.10/32", "--include-outbound-ports",
                        "3306", "--exclude-outbound-ports", "53, 8125", "--include-inbound-ports",
                        "9080,9090", "--exclude-inbound-ports", "22", "--proxy-uid", "2000",
                        "--proxy-gid", "2001", "--outbound-port", "16001"},
                       request, errors))
      << errors.front();
  auto v4 = lines(installCommands(request.options, Family::kIPv4));
  auto v6 = lines(installCommands(request.options, Family::kIPv6));
  EXPECT_TRUE(has(v4, "-t nat -A REMORA_OUTPUT -d 10.96.0.0/12 -j REMORA_REDIRECT"));
  EXPECT_FALSE(has(v4, "-t nat -A REMORA_OUTPUT -j REMORA_REDIRECT"));
  EXPECT_FALSE(has(v4, "-t nat -A REMORA_OUTPUT -d fd00:10::/64 -j REMORA_REDIRECT"));
  EXPECT_TRUE(has(v6, "-t nat -A REMORA_OUTPUT -d fd00:10::/64 -j REMORA_REDIRECT"));
  EXPECT_TRUE(has(v6, "-t nat -A REMORA_OUTPUT -d ::1/128 -j RETURN"));
  EXPECT_TRUE(has(v4, "-t nat -A REMORA_OUTPUT -d 10.96.0.10/32 -j RETURN"));
  EXPECT_LT(indexOf(v4, "-t nat -A REMORA_OUTPUT -d 10.96.0.10/32 -j RETURN"),
            indexOf(v4, "-t nat -A REMORA_OUTPUT -d 10.96.0.0/12 -j REMORA_REDIRECT"));
  EXPECT_TRUE(has(v4, "-t nat -A REMORA_OUTPUT -p tcp --dport 3306 -j REMORA_REDIRECT"));
  EXPECT_TRUE(has(v4, "-t nat -A REMORA_OUTPUT -p tcp --dport 53 -j RETURN"));
  EXPECT_TRUE(has(v4, "-t nat -A REMORA_OUTPUT -p tcp --dport 8125 -j RETURN"));
  EXPECT_TRUE(has(v4, "-t nat -A REMORA_INBOUND -p tcp --dport 9080 -j REMORA_IN_REDIRECT"));
  EXPECT_FALSE(has(v4, "-t nat -A REMORA_INBOUND -p tcp -j REMORA_IN_REDIRECT"));
  EXPECT_TRUE(has(v4, "-t nat -A REMORA_INBOUND -p tcp --dport 22 -j RETURN"));
  // With an include list, the proxy's ports are still redirected (so refused), before the
  // exclusions.
  EXPECT_TRUE(has(v4, "-t nat -A REMORA_INBOUND -p tcp --dport 16001 -j REMORA_IN_REDIRECT"));
  EXPECT_TRUE(has(v4, "-t nat -A REMORA_INBOUND -p tcp --dport 15006 -j REMORA_IN_REDIRECT"));
  EXPECT_LT(indexOf(v4, "-t nat -A REMORA_INBOUND -p tcp --dport 16001 -j REMORA_IN_REDIRECT"),
            indexOf(v4, "-t nat -A REMORA_INBOUND -p tcp --dport 22 -j RETURN"));
  EXPECT_FALSE(has(v4, "-t nat -A REMORA_INBOUND -p tcp --dport 16001 -j RETURN"));
  EXPECT_TRUE(has(v6, "-t nat -A REMORA_OUTPUT -s ::6/128 -o lo -j RETURN"));
  EXPECT_TRUE(has(v4, "-t nat -A REMORA_REDIRECT -p tcp -j REDIRECT --to-ports 16001"));
  EXPECT_TRUE(has(v4, "-t nat -A REMORA_OUTPUT -m owner --uid-owner 2000 -j RETURN"));
  EXPECT_TRUE(has(v4, "-t nat -A REMORA_OUTPUT -m owner --gid-owner 2001 -j RETURN"));
}

TEST(CaptureRulesTest, BadArgumentsNameTheFlagAndValue) {
  auto errorsFor = [](std::vector<std::string> args) {
    CaptureRequest request;
    std::vector<std::string> errors;
    EXPECT_FALSE(parseCaptureArgs(args, request, errors));
    return errors.empty() ? std::string() : errors.front();
  };
  EXPECT_EQ(errorsFor({"--exclude-outbound-cidrs", "10.0.0.0/33"}),
            "--exclude-outbound-cidrs: \"10.0.0.0/33\": prefix length must be 0..32");
  EXPECT_EQ(errorsFor({"--include-outbound-cidrs", "reviews"}),
            "--include-outbound-cidrs: \"reviews\": not an IPv4 or IPv6 address");
  EXPECT_EQ(errorsFor({"--exclude-outbound-cidrs", "*"}),
            "--exclude-outbound-cidrs: \"*\" is not allowed here");
  EXPECT_EQ(errorsFor({"--exclude-inbound-ports", "22,70000"}),
            "--exclude-inbound-ports: \"70000\" is not a port (1..65535)");
  EXPECT_EQ(errorsFor({"--proxy-uid", "istio"}), "--proxy-uid: \"istio\" is not a numeric id");
  EXPECT_EQ(errorsFor({"--inbound-port"}), "--inbound-port: needs a value");
  EXPECT_EQ(errorsFor({"--bogus", "1"}), "unknown flag \"--bogus\"");
  EXPECT_EQ(errorsFor({"--inbound-port", "15001"}),
            "--outbound-port and --inbound-port must differ");
  EXPECT_EQ(errorsFor({"--exclude-inbound-ports", "8080,15006"}),
            "--exclude-inbound-ports: 15006 is a capture port of the proxy; other pods must not "
            "reach it");
  EXPECT_EQ(errorsFor({"--reachable-proxy-ports", "15021,15001"}),
            "--reachable-proxy-ports: 15001 is a capture port of the proxy; other pods must not "
            "reach it");
}

TEST(CaptureRulesTest, ProxyPortFlags) {
  CaptureRequest request;
  std::vector<std::string> errors;
  ASSERT_TRUE(parseCaptureArgs(
      {"--reachable-proxy-ports", "15021,15020", "--private-proxy-ports", "15000,15090"}, request,
      errors))
      << errors.front();
  EXPECT_EQ(privateProxyPorts(request.options),
            (std::vector<uint16_t>{15000, 15001, 15006, 15090}));
  auto rules = lines(installCommands(request.options, Family::kIPv4));
  EXPECT_TRUE(has(rules, "-t nat -A REMORA_INBOUND -p tcp --dport 15020 -j RETURN"));
  EXPECT_TRUE(has(rules, "-t nat -A REMORA_INBOUND -p tcp --dport 15090 -j REMORA_IN_REDIRECT"));
  EXPECT_FALSE(has(rules, "-t nat -A REMORA_INBOUND -p tcp --dport 15053 -j REMORA_IN_REDIRECT"));
}

TEST(CaptureRulesTest, DryRunPrintsWithoutRunning) {
  std::ostringstream out, err;
  EXPECT_EQ(runCaptureCommand({"--dry-run", "--no-ipv6"}, out, err), 0) << err.str();
  std::string text = out.str();
  EXPECT_NE(text.find("iptables -t nat -D PREROUTING -p tcp -j REMORA_INBOUND"), std::string::npos);
  EXPECT_NE(text.find("iptables -t nat -A OUTPUT -p tcp -j REMORA_OUTPUT\n"), std::string::npos);
  EXPECT_EQ(text.find("ip6tables"), std::string::npos);

  std::ostringstream clean_out, clean_err;
  EXPECT_EQ(runCaptureCommand({"clean", "--dry-run"}, clean_out, clean_err), 0);
  EXPECT_NE(clean_out.str().find("ip6tables -t nat -X REMORA_OUTPUT"), std::string::npos);
  EXPECT_EQ(clean_out.str().find(" -A "), std::string::npos) << clean_out.str();

  std::ostringstream bad_out, bad_err;
  EXPECT_EQ(runCaptureCommand({"--inbound-port", "0"}, bad_out, bad_err), 2);
  EXPECT_NE(bad_err.str().find("--inbound-port: \"0\" is not a port"), std::string::npos);
}

}  // namespace
}  // namespace remora::sidecar
