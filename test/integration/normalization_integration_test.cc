// Request normalization through the real remora process: a corpus of path and host bypass
// attempts (issue 14's cases, the Istio and Envoy advisories' paths, mixed and invalid
// encodings, dot segments at every position, control characters, IP literals) sent raw over
// HTTP/1.1 and over HTTP/2 (h2c, a bare nghttp2 session: nothing normalized on the way) to
// HTTP connection managers in every normalization mode, each with the HTTP RBAC filter in two
// configs: a DENY on /admin, /admin/* and host admin.example.com, and an ALLOW-only policy on
// /public/* (not host admin.example.com). For every attempt the test asserts the status and
// what the fake upstream received (exact request line and Host) or that nothing arrived.
//
// It also tallies, per mode, the bypasses: requests that got through although a lenient
// server (one that decodes every %XX, takes '\' for '/', merges slashes and resolves dot
// segments) would read them as a denied path or host. Printed, and zero where promised.

#include <array>
#include <iostream>
#include <map>
#include <mutex>
#include <set>

#include "gtest/gtest.h"
#include "test/integration/fake_http_upstream.h"
#include "test/integration/h2c_client.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

// Columns: one HTTP connection manager setting each.
enum Column { kNone, kBase, kMerge, kDecode, kRedirect, kColumns };
struct ModeSetup {
  const char* name;
  const char* fields;  // YAML lines added to the manager's config
};
const std::array<ModeSetup, kColumns> kModes = {{
    {"none", "path_normalization: NONE"},
    {"base", ""},  // the defaults: BASE, REJECT_REQUEST
    {"merge", "path_normalization: MERGE_SLASHES"},
    {"decode", "path_normalization: DECODE_AND_MERGE_SLASHES"},
    {"redirect", "path_with_escaped_slashes_action: UNESCAPE_AND_REDIRECT"},
}};

constexpr const char* kPublicHost = "public.example.com";

// Per column: the path the upstream must receive, "400" (refused, nothing forwarded) or
// "307 <location>" (redirected, nothing forwarded). Whether the policy lets a forwarded path
// through follows from the policy (allowedBy below).
struct Attempt {
  const char* name;
  std::string target;
  std::array<std::string, kColumns> expected;  // "=": the target itself
  std::string host = kPublicHost;
  std::string forwarded_host = "";  // "": the host as sent
};

std::vector<Attempt> corpus() {
  const char* same = "=";
  std::vector<Attempt> a = {
      {"plain public", "/public/x", {same, same, same, same, same}},
      {"plain admin", "/admin", {same, same, same, same, same}},
      {"admin subpath", "/admin/x", {same, same, same, same, same}},
      {"dot-dot", "/public/../admin", {same, "/admin", "/admin", "/admin", "/admin"}},
      {"dot", "/./admin", {same, "/admin", "/admin", "/admin", "/admin"}},
      {"double slash", "//admin", {same, same, "/admin", "/admin", same}},
      {"encoded a", "/%61dmin", {same, "/admin", "/admin", "/admin", "/admin"}},
      {"encoded dot-dot", "/public/%2e%2e/admin", {same, "/admin", "/admin", "/admin", "/admin"}},
      {"encoded dot-dot upper",
       "/public/%2E%2E/admin",
       {same, "/admin", "/admin", "/admin", "/admin"}},
      {"encoded dot-dot mixed",
       "/public/.%2E/admin",
       {same, "/admin", "/admin", "/admin", "/admin"}},
      {"encoded dot-dot at start", "/%2e%2e/admin", {same, "/admin", "/admin", "/admin", "/admin"}},
      {"dot-dot above root", "/../../admin", {same, "/admin", "/admin", "/admin", "/admin"}},
      {"dot-dot at end", "/admin/x/..", {same, "/admin/", "/admin/", "/admin/", "/admin/"}},
      {"dot at end", "/public/.", {same, "/public/", "/public/", "/public/", "/public/"}},
      {"merge before dot-dot",
       "/public//../admin",
       {same, "/public/admin", "/admin", "/admin", "/public/admin"}},
      {"escaped slash (CVE-2021-31920)",
       "/admin%2f/x",
       {same, "400", "400", "/admin/x", "307 /admin//x"}},
      {"escaped slash upper", "/admin%2Fx", {same, "400", "400", "/admin/x", "307 /admin/x"}},
      {"escaped backslash", "/admin%5cx", {same, "400", "400", "/admin/x", "307 /admin/x"}},
      {"escaped slash dot-dot",
       "/public%2f..%2fadmin",
       {same, "400", "400", "/admin", "307 /admin"}},
      {"encoded percent is not a slash", "/admin%252f", {same, same, same, same, same}},
      {"backslash", "/admin\\x", {same, "/admin/x", "/admin/x", "/admin/x", "/admin/x"}},
      {"backslash dot-dot", "/public\\..\\admin", {same, "/admin", "/admin", "/admin", "/admin"}},
      {"fragment (CVE-2021-39156)", "/public#/../admin", {"400", "400", "400", "400", "400"}},
      {"fragment after admin", "/admin#x", {"400", "400", "400", "400", "400"}},
      {"invalid encoding", "/admin%zz", {same, "400", "400", "400", "400"}},
      {"truncated encoding", "/public/%4", {same, "400", "400", "400", "400"}},
      {"lower-case hex",
       "/public/%c3%a9",
       {same, "/public/%C3%A9", "/public/%C3%A9", "/public/%C3%A9", "/public/%C3%A9"}},
      {"raw UTF-8",
       "/public/caf\xc3\xa9",
       {same, "/public/caf%C3%A9", "/public/caf%C3%A9", "/public/caf%C3%A9", "/public/caf%C3%A9"}},
      {"query untouched", "/public/x?a=/../admin&b=%2e", {same, same, same, same, same}},
      {"control byte", "/admin\x01", {"400", "400", "400", "400", "400"}},
      {"tab", "/ad\tmin", {"400", "400", "400", "400", "400"}},
      {"DEL", "/admin\x7f", {"400", "400", "400", "400", "400"}},
      {"asterisk with GET", "*", {"400", "400", "400", "400", "400"}},
      {"CVE-2019-9901 dot-dot",
       "/public/../admin/secret",
       {same, "/admin/secret", "/admin/secret", "/admin/secret", "/admin/secret"}},
  };
  auto host = [&](const char* name, const char* value, const char* forwarded) {
    const char* expected = forwarded == nullptr ? "400" : same;
    a.push_back({name,
                 "/public/x",
                 {expected, expected, expected, expected, expected},
                 value,
                 forwarded == nullptr ? "" : forwarded});
  };
  host("host trailing dot", "admin.example.com.", "admin.example.com");
  host("host upper case", "ADMIN.Example.COM", "admin.example.com");
  host("host trailing dot and port", "admin.example.com.:8080", "admin.example.com:8080");
  host("host encoded", "%61dmin.example.com", "admin.example.com");
  host("host two trailing dots", "admin.example.com..", nullptr);
  host("host userinfo", "x@admin.example.com", nullptr);
  host("host port out of range", "admin.example.com:65536", nullptr);
  host("host with a slash", "admin.example.com/x", nullptr);
  host("host IPv6", "[::1]:80", "[::1]:80");
  host("host IPv6 upper case", "[2001:DB8::A]", "[2001:db8::a]");
  host("host IPv6 invalid", "[::g]", nullptr);
  for (auto& attempt : a) {
    for (auto& e : attempt.expected) {
      if (e == "=") e = attempt.target;
    }
  }
  return a;
}

std::string hostWithoutPort(std::string host) {
  size_t colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']', colon) == std::string::npos) host.resize(colon);
  return host;
}

std::string pathOnly(const std::string& path) { return path.substr(0, path.find('?')); }

bool startsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The two policies, as the RBAC filter reads them (exact or "/prefix/*", hosts without port).
bool allowedBy(bool deny_config, const std::string& path, const std::string& host) {
  std::string p = pathOnly(path);
  bool admin_host = hostWithoutPort(host) == "admin.example.com";
  if (deny_config) return !(p == "/admin" || startsWith(p, "/admin/") || admin_host);
  return startsWith(p, "/public/") && !admin_host;
}

// How a lenient server reads a path: everything decoded, '\' as '/', slashes merged, dot
// segments resolved. Written independently of the proxy's normalizer.
std::string lenientPath(const std::string& path) {
  std::string decoded;
  std::string p = pathOnly(path);
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '%' && i + 2 < p.size() && std::isxdigit(static_cast<unsigned char>(p[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(p[i + 2]))) {
      decoded.push_back(static_cast<char>(std::stoi(p.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      decoded.push_back(p[i]);
    }
  }
  std::vector<std::string> segments;
  std::string segment;
  bool directory = false;  // ends in '/' (or in a dot segment): "/public/" stays under /public/
  for (size_t i = 0; i <= decoded.size(); ++i) {
    char c = i < decoded.size() ? decoded[i] : '/';
    if (c != '/' && c != '\\') {
      segment.push_back(c);
      continue;
    }
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      directory = true;
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
      directory = false;
    } else {
      directory = true;  // "", "." (a later real segment resets it)
    }
    segment.clear();
  }
  std::string out;
  for (const auto& s : segments) out += "/" + s;
  return directory || out.empty() ? out + "/" : out;
}

std::string lenientHost(std::string host) {
  host = hostWithoutPort(host);
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!host.empty() && host.back() == '.') host.pop_back();
  return host;
}

// What the client saw and what reached the upstream.
struct Observed {
  int status = 0;
  std::string location;
  bool reset = false;  // HTTP/2 stream reset without a response
  std::vector<FakeRequest> upstream;
};

class NormalizationIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    app_ = std::make_unique<FakeUpstream>(httpServe([this](const FakeRequest& request) {
      std::lock_guard<std::mutex> lock(mutex_);
      received_.push_back(request);
      return httpResponse(200, "ok");
    }));
    std::string error;
    ASSERT_TRUE(proxy_.start(config(), {"--concurrency", "1"}, error)) << error;
  }

  static std::string manager(const std::string& name, const ModeSetup& mode, bool deny) {
    std::string policy = deny ? R"(
                - name: default/deny-admin
                  action: DENY
                  rules:
                  - to: [{paths: [/admin, /admin/*]}]
                  - to: [{hosts: [admin.example.com]}]
                  - to: [{methods: [DELETE]}])"
                              : R"(
                - name: default/allow-public
                  action: ALLOW
                  rules:
                  - to: [{paths: [/public/*], not_hosts: [admin.example.com]}])";
    return R"(
  - name: )" +
           name + R"(
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: )" +
           name + "\n          " + mode.fields + R"(
          route_config:
            virtual_hosts:
            - {name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: app}}]}
          http_filters:
          - name: remora.filters.http.rbac
            typed_config:
              "@type": type.googleapis.com/remora.extensions.filters.rbac.v1.RBAC
              stat_prefix: )" +
           name + R"(
              rules:
                policies:)" +
           policy + R"(
          - name: remora.filters.http.router)";
  }

  std::string config() const {
    std::string listeners;
    for (const auto& mode : kModes) {
      listeners += manager(std::string("deny_") + mode.name, mode, true);
      listeners += manager(std::string("allow_") + mode.name, mode, false);
    }
    return "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}\n"
           "static_resources:\n  listeners:" +
           listeners +
           "\n  clusters:\n  - name: app\n    load_assignment: {endpoints: [{lb_endpoints: "
           "[{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: " +
           std::to_string(app_->port()) + "}}}}]}]}\n";
  }

  std::vector<FakeRequest> takeReceived() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::move(received_);
  }

  Observed sendHttp1(uint16_t port, const Attempt& attempt) {
    takeReceived();
    Observed out;
    int fd = connectLoopback(port);
    if (fd < 0) return out;
    sendAll(fd, "GET " + attempt.target + " HTTP/1.1\r\nHost: " + attempt.host +
                    "\r\nConnection: close\r\n\r\n");
    std::string response = recvUntilClosed(fd, std::chrono::seconds(5));
    ::close(fd);
    if (response.size() > 12 && response.compare(0, 5, "HTTP/") == 0) {
      out.status = std::stoi(response.substr(9, 3));
    }
    size_t at = response.find("\r\nlocation: ");
    if (at != std::string::npos) {
      at += 12;
      out.location = response.substr(at, response.find("\r\n", at) - at);
    }
    out.upstream = takeReceived();
    return out;
  }

  Observed sendHttp2(uint16_t port, const Attempt& attempt) {
    takeReceived();
    Observed out;
    H2cResponse response = h2cRequest(port, {{":method", "GET"},
                                             {":scheme", "http"},
                                             {":authority", attempt.host},
                                             {":path", attempt.target}});
    out.status = response.status;
    out.location = response.location;
    out.reset = response.status == 0 && response.reset_error > 0;
    out.upstream = takeReceived();
    return out;
  }

  std::mutex mutex_;
  std::vector<FakeRequest> received_;
  std::unique_ptr<FakeUpstream> app_;
  ProxyProcess proxy_;
};

TEST_F(NormalizationIntegrationTest, BypassCorpusInEveryModeOverHttp1AndHttp2) {
  const auto attempts = corpus();
  // Per column: the attempts a lenient server would read as denied but that got through.
  std::array<std::set<std::string>, kColumns> bypasses;
  std::array<int, kColumns> redirects{};
  for (int column = 0; column < kColumns; ++column) {
    for (bool deny : {true, false}) {
      std::string listener = std::string(deny ? "deny_" : "allow_") + kModes[column].name;
      uint16_t port = proxy_.listenerPort(listener);
      ASSERT_NE(port, 0) << listener;
      for (const Attempt& attempt : attempts) {
        for (bool http2 : {false, true}) {
          Observed seen = http2 ? sendHttp2(port, attempt) : sendHttp1(port, attempt);
          std::string label = "'" + std::string(attempt.name) + "' on " + listener + " over " +
                              (http2 ? "HTTP/2" : "HTTP/1.1") + ", target '" + attempt.target +
                              "', host '" + attempt.host + "'";
          std::string expected = attempt.expected[column];
          std::string forwarded_host =
              attempt.forwarded_host.empty() ? attempt.host : attempt.forwarded_host;
          if (expected == "400") {
            // HTTP/2: nghttp2 itself may reset a stream whose headers break RFC 9113.
            EXPECT_TRUE(seen.status == 400 || (http2 && seen.reset))
                << label << ": expected 400, got " << seen.status;
            EXPECT_TRUE(seen.upstream.empty()) << label << ": reached the upstream";
          } else if (startsWith(expected, "307 ")) {
            ++redirects[column];
            EXPECT_EQ(seen.status, 307) << label;
            EXPECT_EQ(seen.location, expected.substr(4)) << label;
            EXPECT_TRUE(seen.upstream.empty()) << label << ": reached the upstream";
          } else {
            bool allowed = allowedBy(deny, expected, forwarded_host);
            EXPECT_EQ(seen.status, allowed ? 200 : 403) << label;
            if (allowed) {
              ASSERT_EQ(seen.upstream.size(), 1u) << label;
              EXPECT_EQ(seen.upstream[0].requestLine(), "GET " + expected + " HTTP/1.1") << label;
              EXPECT_EQ(seen.upstream[0].header("host"), forwarded_host) << label;
            } else {
              EXPECT_TRUE(seen.upstream.empty()) << label << ": reached the upstream";
            }
          }
          for (const FakeRequest& got : seen.upstream) {
            std::string line = got.requestLine();
            std::string path = line.substr(4, line.rfind(' ') - 4);
            if (!allowedBy(deny, lenientPath(path), lenientHost(got.header("host")))) {
              bypasses[column].insert(attempt.name);
            }
          }
        }
      }
    }
  }
  for (int column = 0; column < kColumns; ++column) {
    std::string names;
    for (const auto& name : bypasses[column]) names += " '" + name + "'";
    std::cout << "mode " << kModes[column].name << ": " << bypasses[column].size() << " of "
              << attempts.size() << " attempts bypass a policy on a lenient server" << names
              << "\n";
  }
  // BASE leaves "//" alone (as Istio's BASE): an application that merges slashes needs
  // MERGE_SLASHES. Everything else is closed in BASE and above.
  const std::set<std::string> base_gap = {"double slash"};
  EXPECT_EQ(bypasses[kBase], base_gap);
  EXPECT_EQ(bypasses[kRedirect], base_gap);
  EXPECT_TRUE(bypasses[kMerge].empty());
  EXPECT_TRUE(bypasses[kDecode].empty());
  EXPECT_GE(bypasses[kNone].size(), 10u) << "NONE is the unprotected baseline";

  // Counted once per reason, at config time, and per request.
  auto rejected = [&](const std::string& prefix, const std::string& reason) {
    return proxy_
        .metric("remora_http_downstream_rq_rejected_total{reason=\"" + reason +
                "\",stat_prefix=\"" + prefix + "\"}")
        .value_or(-1);
  };
  EXPECT_EQ(rejected("deny_base", "escaped_slash"), 8);  // 4 attempts, 2 protocols
  EXPECT_EQ(rejected("deny_decode", "escaped_slash"), 0);
  EXPECT_EQ(rejected("deny_none", "invalid_percent_encoding"), 0);
  EXPECT_EQ(rejected("deny_base", "invalid_percent_encoding"), 4);
  EXPECT_GE(rejected("deny_base", "fragment"), 2);
  EXPECT_GE(rejected("deny_base", "invalid_authority"), 4);
  EXPECT_EQ(proxy_
                .metric("remora_http_downstream_rq_redirected_with_normalized_path_total{stat_"
                        "prefix=\"deny_redirect\"}")
                .value_or(-1),
            redirects[kRedirect] / 2);
}

TEST_F(NormalizationIntegrationTest, RepeatedHostIsRefusedAndHttp2HostDoesNotReachTheUpstream) {
  uint16_t port = proxy_.listenerPort("deny_base");
  // HTTP/1.1: two Host lines are refused (RFC 9112 3.2), whatever they say.
  takeReceived();
  int fd = connectLoopback(port);
  ASSERT_GE(fd, 0);
  sendAll(fd,
          "GET /public/x HTTP/1.1\r\nHost: public.example.com\r\nHost: admin.example.com\r\n"
          "Connection: close\r\n\r\n");
  std::string response = recvUntilClosed(fd, std::chrono::seconds(5));
  ::close(fd);
  EXPECT_EQ(response.substr(0, 12), "HTTP/1.1 400") << response;
  EXPECT_TRUE(takeReceived().empty());
  // HTTP/2: :authority decides; a host header beside it is dropped, not forwarded as a second
  // Host that an HTTP/1.1 upstream might believe.
  H2cResponse h2 = h2cRequest(port, {{":method", "GET"},
                                     {":scheme", "http"},
                                     {":authority", "public.example.com"},
                                     {":path", "/public/x"},
                                     {"host", "admin.example.com"}});
  EXPECT_EQ(h2.status, 200);
  auto got = takeReceived();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].header("host"), "public.example.com");
  EXPECT_EQ(got[0].head.find("admin.example.com"), std::string::npos) << got[0].head;
  // Host alone stands in for :authority, normalized like it: the DENY on the host applies.
  H2cResponse alone = h2cRequest(port, {{":method", "GET"},
                                        {":scheme", "http"},
                                        {":path", "/public/x"},
                                        {"host", "Admin.Example.com."}});
  EXPECT_EQ(alone.status, 403);
  EXPECT_TRUE(takeReceived().empty());
}

TEST_F(NormalizationIntegrationTest, MethodsStayCaseSensitive) {
  // The DENY config refuses DELETE. Methods are case-sensitive (RFC 9110 9.1) and are not
  // normalized: "delete" is another method, and the upstream receives exactly that one.
  uint16_t port = proxy_.listenerPort("deny_base");
  auto h2 = [&](const std::string& method) {
    return h2cRequest(
        port,
        {{":method", method}, {":scheme", "http"}, {":authority", "a"}, {":path", "/public/x"}});
  };
  takeReceived();
  EXPECT_EQ(h2("DELETE").status, 403);
  EXPECT_TRUE(takeReceived().empty());
  EXPECT_EQ(h2("delete").status, 200);
  auto got = takeReceived();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].requestLine(), "delete /public/x HTTP/1.1");
  // HTTP/1.1: http-parser knows upper-case methods only, so "delete" never gets that far.
  int fd = connectLoopback(port);
  ASSERT_GE(fd, 0);
  sendAll(fd, "delete /public/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  std::string response = recvUntilClosed(fd, std::chrono::seconds(5));
  ::close(fd);
  EXPECT_EQ(response.substr(0, 12), "HTTP/1.1 400") << response;
  EXPECT_TRUE(takeReceived().empty());
}

TEST(NormalizationConfigTest, ContradictoryEscapedSlashActionIsRefusedWithItsFieldPath) {
  std::string yaml = R"(static_resources:
  listeners:
  - name: l
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: l
          path_normalization: DECODE_AND_MERGE_SLASHES
          path_with_escaped_slashes_action: KEEP_UNCHANGED
          route_config: {virtual_hosts: [{name: a, domains: ["*"], routes: [{match: {prefix: /}, direct_response: {status: 200}}]}]}
          http_filters: [{name: remora.filters.http.router}]
)";
  auto result = runCommand({remoraBinary(), "--mode", "validate", "--config-yaml", yaml});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("static_resources.listeners[0].filter_chains[0].filters[0]."
                               "typed_config.path_with_escaped_slashes_action: KEEP_UNCHANGED "
                               "contradicts"),
            std::string::npos)
      << result.output;
}

}  // namespace
}  // namespace remora::test
