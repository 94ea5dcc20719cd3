// The HTTPS client on its own: a Content-Length body, no body handed over for a failure status, the
// server's name checked (DNS name and IP address), the request timeout and cancellation of a
// request the server never answers, and the bearer token file re-read on its schedule or after a
// 401.
#include "source/pilot/kubernetes/https_client.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "source/pilot/kubernetes/json_value.h"
#include "test/pilot/kubernetes/fake_api_server.h"
#include "test/pilot/kubernetes/test_certificates.h"

namespace remora::pilot::kubernetes {
namespace {

using namespace std::chrono_literals;

class HttpsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = testing::makeTestPki();
    ASSERT_FALSE(pki_.ca_pem.empty());
    server_ = std::make_unique<testing::FakeApiServer>(pki_.server_cert_pem, pki_.server_key_pem);
    server_->setAcceptedToken("t");
    server_->setListPages("/api/v1/pods", {testing::listPage({}, "7")});
    connection_.host = "127.0.0.1";
    connection_.port = server_->port();
    connection_.ca_pem = pki_.ca_pem;
  }
  testing::TestPki pki_;
  std::unique_ptr<testing::FakeApiServer> server_;
  ClusterConnection connection_;
  std::atomic<bool> cancel_{false};
};

TEST_F(HttpsClientTest, ReadsAContentLengthBodyFromAnIpOrANamedServer) {
  BearerToken token("", "t");
  for (const char* host : {"127.0.0.1", "localhost"}) {
    connection_.host = host;
    auto client = HttpsClient::create(connection_, &token);
    ASSERT_TRUE(client.ok()) << client.error();
    std::string body;
    auto status = client.value()->get("/api/v1/pods?limit=500", 5s, cancel_, body);
    ASSERT_TRUE(status.ok()) << host << ": " << status.error();
    EXPECT_EQ(status.value(), 200);
    EXPECT_EQ(body, testing::listPage({}, "7"));
  }
  EXPECT_EQ(server_->requests().back().authorization, "Bearer t");
}

TEST_F(HttpsClientTest, BodyOfAFailureStatusIsNotDelivered) {
  BearerToken token("", "t");
  auto client = HttpsClient::create(connection_, &token);
  ASSERT_TRUE(client.ok()) << client.error();
  bool called = false;
  auto status = client.value()->get("/api/v1/nothing", 5s, cancel_, [&](std::string_view) {
    called = true;
    return true;
  });
  ASSERT_TRUE(status.ok()) << status.error();
  EXPECT_EQ(status.value(), 404);  // the fake's answer carries a JSON Status body
  EXPECT_FALSE(called);
}

TEST_F(HttpsClientTest, TimesOutAndCancelsAnUnansweredRequest) {
  BearerToken token("", "t");
  auto client = HttpsClient::create(connection_, &token);
  ASSERT_TRUE(client.ok()) << client.error();
  std::string body;
  // A watch with no script queued is never answered.
  auto timed_out = client.value()->get("/api/v1/pods?watch=1", 200ms, cancel_, body);
  ASSERT_FALSE(timed_out.ok());
  EXPECT_NE(timed_out.error().find("timed out"), std::string::npos) << timed_out.error();

  std::thread canceller([&] {
    server_->waitForRequests(
        [](const testing::RecordedRequest& r) { return r.param("watch") == "1"; }, 2);
    cancel_.store(true);
  });
  auto cancelled = client.value()->get("/api/v1/pods?watch=1", 60s, cancel_, body);
  canceller.join();
  ASSERT_FALSE(cancelled.ok());
  EXPECT_NE(cancelled.error().find("cancelled"), std::string::npos) << cancelled.error();
}

TEST_F(HttpsClientTest, PostsAndPutsJsonAndHandsBackAConflict) {
  BearerToken token("", "t");
  auto client = HttpsClient::create(connection_, &token);
  ASSERT_TRUE(client.ok()) << client.error();
  const std::string collection = "/api/v1/namespaces/a/configmaps";
  server_->storeCollection(collection);
  std::string created;
  auto status = client.value()->send(
      "POST", collection, R"({"metadata":{"name":"m"},"data":{"k":"v"}})", 5s, cancel_, created);
  ASSERT_TRUE(status.ok()) << status.error();
  EXPECT_EQ(status.value(), 201);
  EXPECT_EQ(server_->requests().back().method, "POST");
  EXPECT_EQ(server_->requests().back().body, R"({"metadata":{"name":"m"},"data":{"k":"v"}})");
  auto version = JsonValue::parse(created).value().get("metadata").get("resourceVersion");
  ASSERT_FALSE(version.asString().empty()) << created;

  std::string again;
  status =
      client.value()->send("POST", collection, R"({"metadata":{"name":"m"}})", 5s, cancel_, again);
  ASSERT_TRUE(status.ok()) << status.error();
  EXPECT_EQ(status.value(), 409);  // already exists
  EXPECT_TRUE(again.empty());

  std::string update = R"({"metadata":{"name":"m","resourceVersion":)" +
                       JsonValue::quote(version.asString()) + R"(},"data":{"k":"w"}})";
  std::string updated;
  status = client.value()->send("PUT", collection + "/m", update, 5s, cancel_, updated);
  ASSERT_TRUE(status.ok()) << status.error();
  EXPECT_EQ(status.value(), 200);
  EXPECT_EQ(JsonValue::parse(updated).value().get("data").get("k").asString(), "w");
  status = client.value()->send("PUT", collection + "/m", update, 5s, cancel_, updated);
  ASSERT_TRUE(status.ok()) << status.error();
  EXPECT_EQ(status.value(), 409);  // the resourceVersion it carries is stale now
}

TEST(BearerTokenTest, RereadsTheFileOnScheduleAndAfterInvalidate) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string path = std::string(tmp ? tmp : "/tmp") + "/bearer_token_test.token";
  std::ofstream(path) << "first\n";
  BearerToken hourly(path, "", 1h);
  BearerToken always(path, "", 0ms);
  EXPECT_EQ(hourly.current(), "first");
  EXPECT_EQ(always.current(), "first");
  std::ofstream(path) << "  second \n";
  EXPECT_EQ(hourly.current(), "first");  // not due yet
  EXPECT_EQ(always.current(), "second");
  hourly.invalidate();  // a 401
  EXPECT_EQ(hourly.current(), "second");
  std::filesystem::remove(path);
  always.invalidate();
  EXPECT_EQ(always.current(), "second");  // an unreadable file keeps the last token
}

}  // namespace
}  // namespace remora::pilot::kubernetes
