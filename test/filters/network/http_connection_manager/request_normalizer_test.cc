// What the connection manager does with a decoded request's :path, :authority and Host
// before anything decides on it: the request forms, HTTP/2's host header, verdicts.

#include "filters/network/http_connection_manager/request_normalizer.h"

#include "gtest/gtest.h"

namespace remora::filters::hcm {
namespace {

using Kind = NormalizationVerdict::Kind;

http::HeaderMap request(std::string_view method, std::string_view path,
                        std::string_view authority) {
  http::HeaderMap headers;
  headers.add(":method", method);
  headers.add(":scheme", "http");
  if (!authority.empty()) headers.add(":authority", authority);
  if (!path.empty()) headers.add(":path", path);
  return headers;
}

TEST(RequestNormalizerTest, PathAndAuthorityRewrittenInPlace) {
  auto headers = request("GET", "/public/%2e%2e/admin?x=/../y", "Admin.Example.COM.:8080");
  auto verdict = normalizeRequest(headers, {});
  EXPECT_EQ(verdict.kind, Kind::kContinue);
  EXPECT_EQ(headers.path(), "/admin?x=/../y");
  EXPECT_EQ(headers.authority(), "admin.example.com:8080");
}

TEST(RequestNormalizerTest, Http2HostHeader) {
  // Host alone stands in for :authority.
  auto alone = request("GET", "/", "");
  alone.add("host", "Admin.example.com.");
  EXPECT_EQ(normalizeRequest(alone, {}).kind, Kind::kContinue);
  EXPECT_EQ(alone.authority(), "admin.example.com");
  EXPECT_FALSE(alone.has("host"));
  // Beside :authority it is dropped: it must not reach an HTTP/1.1 upstream as a second Host.
  auto both = request("GET", "/", "public.example.com");
  both.add("host", "admin.example.com");
  EXPECT_EQ(normalizeRequest(both, {}).kind, Kind::kContinue);
  EXPECT_EQ(both.authority(), "public.example.com");
  EXPECT_FALSE(both.has("host"));
}

TEST(RequestNormalizerTest, RequestForms) {
  auto options_star = request("OPTIONS", "*", "a");
  EXPECT_EQ(normalizeRequest(options_star, {}).kind, Kind::kContinue);
  EXPECT_EQ(options_star.path(), "*");
  auto get_star = request("GET", "*", "a");
  auto verdict = normalizeRequest(get_star, {});
  EXPECT_EQ(verdict.kind, Kind::kReject);
  EXPECT_EQ(verdict.error, http::NormalizationError::kInvalidPath);
  auto connect = request("CONNECT", "", "reviews:443");
  EXPECT_EQ(normalizeRequest(connect, {}).kind, Kind::kContinue);
  auto no_path = request("GET", "", "a");
  EXPECT_EQ(normalizeRequest(no_path, {}).error, http::NormalizationError::kInvalidPath);
}

TEST(RequestNormalizerTest, Verdicts) {
  auto bad_host = request("GET", "/", "admin.example.com/x");
  auto verdict = normalizeRequest(bad_host, {});
  EXPECT_EQ(verdict.kind, Kind::kReject);
  EXPECT_EQ(verdict.error, http::NormalizationError::kInvalidAuthority);

  auto escaped = request("GET", "/admin%2f/x", "a");
  verdict = normalizeRequest(escaped, {});
  EXPECT_EQ(verdict.kind, Kind::kReject);
  EXPECT_EQ(verdict.error, http::NormalizationError::kEscapedSlash);

  auto redirected = request("GET", "/admin%2F/x?q", "a");
  verdict = normalizeRequest(redirected, {http::PathNormalization::kMergeSlashes,
                                          http::EscapedSlashesAction::kUnescapeAndRedirect});
  EXPECT_EQ(verdict.kind, Kind::kRedirect);
  EXPECT_EQ(verdict.location, "/admin/x?q");
  EXPECT_EQ(redirected.path(), "/admin%2F/x?q") << "a redirected request is not rewritten";

  // Methods are not touched (they match case-sensitively downstream).
  auto lower_method = request("get", "/./a", "a");
  EXPECT_EQ(normalizeRequest(lower_method, {}).kind, Kind::kContinue);
  EXPECT_EQ(lower_method.method(), "get");
  EXPECT_EQ(lower_method.path(), "/a");
}

}  // namespace
}  // namespace remora::filters::hcm
