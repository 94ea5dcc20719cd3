#include "filters/network/http_connection_manager/proxy_headers.h"

#include "gtest/gtest.h"

namespace remora::filters::hcm {
namespace {

http::HeaderMap headersOf(std::initializer_list<std::pair<const char*, const char*>> entries) {
  http::HeaderMap map;
  for (const auto& [name, value] : entries) map.add(name, value);
  return map;
}

TEST(ProxyHeadersTest, RemovesHopByHopHeadersAndThoseConnectionNames) {
  auto h = headersOf({{":path", "/"},
                      {"connection", "keep-alive, X-Secret"},
                      {"x-secret", "1"},
                      {"keep-alive", "timeout=5"},
                      {"proxy-connection", "keep-alive"},
                      {"transfer-encoding", "chunked"},
                      {"upgrade", "h2c"},
                      {"te", "gzip"},
                      {"x-kept", "yes"}});
  removeHopByHopHeaders(h, false);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_TRUE(h.has(":path"));
  EXPECT_TRUE(h.has("x-kept"));
}

TEST(ProxyHeadersTest, TeTrailersSurvives) {
  auto h = headersOf({{"te", "trailers"}});
  removeHopByHopHeaders(h, false);
  EXPECT_EQ(h.getOr("te", ""), "trailers");
}

TEST(ProxyHeadersTest, UpgradeRequestKeepsUpgradeHeaders) {
  auto h = headersOf({{"connection", "Upgrade"}, {"upgrade", "websocket"}});
  EXPECT_TRUE(isUpgradeRequest(h));
  removeHopByHopHeaders(h, true);
  EXPECT_EQ(h.getOr("connection", ""), "upgrade");
  EXPECT_EQ(h.getOr("upgrade", ""), "websocket");
  // Which protocols may tunnel is the HTTP/1.1 codec's decision: it removes the Upgrade header
  // of any other request, so any request that still has both headers is an upgrade request.
  EXPECT_TRUE(isUpgradeRequest(headersOf({{"connection", "upgrade"}, {"upgrade", "h2c"}})));
  EXPECT_FALSE(isUpgradeRequest(headersOf({{"upgrade", "websocket"}})));
  EXPECT_FALSE(isUpgradeRequest(headersOf({{"connection", "keep-alive"}, {"upgrade", "x"}})));
}

TEST(ProxyHeadersTest, ForwardingHeaders) {
  auto peer = *network::Address::fromIpPort("10.1.2.3", 5555);
  auto h = headersOf({{"x-forwarded-for", "192.0.2.1"}});
  addForwardingHeaders(h, peer, "http", true);
  EXPECT_EQ(h.getOr("x-forwarded-for", ""), "192.0.2.1, 10.1.2.3");
  EXPECT_EQ(h.getOr("x-forwarded-proto", ""), "http");
  EXPECT_EQ(h.getOr("x-request-id", "").size(), 36u);

  auto kept = headersOf({{"x-forwarded-proto", "https"}, {"x-request-id", "abc"}});
  addForwardingHeaders(kept, peer, "http", true);
  EXPECT_EQ(kept.getOr("x-forwarded-proto", ""), "https");
  EXPECT_EQ(kept.getOr("x-request-id", ""), "abc");
  EXPECT_EQ(kept.getOr("x-forwarded-for", ""), "10.1.2.3");

  http::HeaderMap none;
  addForwardingHeaders(none, peer, "http", false);
  EXPECT_FALSE(none.has("x-request-id"));
}

TEST(HeaderMapTest, SetReplacesAllAndTracksSize) {
  http::HeaderMap h;
  h.add("a", "1");
  h.add("a", "2");
  h.add("b", "3");
  h.set("a", "xyz");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.getOr("a", ""), "xyz");
  EXPECT_EQ(h.byteSize(), 1u + 3 + 1 + 1);
  EXPECT_EQ(h.remove("b"), 1u);
  EXPECT_EQ(h.byteSize(), 4u);
  h.add(":status", "204");
  EXPECT_EQ(h.status(), 204u);
  h.set(":status", "abc");
  EXPECT_EQ(h.status(), 0u);
}

TEST(HeaderMapTest, AddingViewsOfItselfSurvivesTheArenaGrowing) {
  http::HeaderMap h;
  h.add("host", "example.com:8080");
  // Each add copies a value viewed from the map while the arena grows and moves.
  for (int i = 0; i < 200; ++i) h.add("copy", *h.get("host"));
  h.set("host", h.entry(h.size() - 1).second);
  EXPECT_EQ(h.size(), 201u);
  for (const auto& [name, value] : h.entries()) EXPECT_EQ(value, "example.com:8080") << name;
  EXPECT_EQ(h.byteSize(), 201u * 16 + 4 + 200u * 4);
  h.remove("copy");
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.byteSize(), 20u);
}

}  // namespace
}  // namespace remora::filters::hcm
