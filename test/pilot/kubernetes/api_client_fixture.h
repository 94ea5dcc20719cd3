#pragma once

// A fake API server over TLS and clients of it, each with its own bearer token so a test can
// break one client's access (FakeApiServer::revokeToken) and keep the others'. Shared by the
// leader election, trust bundle and TokenReview tests.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "source/pilot/kubernetes/bearer_token.h"
#include "source/pilot/kubernetes/https_client.h"
#include "test/pilot/kubernetes/fake_api_server.h"
#include "test/pilot/kubernetes/test_certificates.h"

namespace remora::pilot::kubernetes::testing {

class ApiClientFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = makeTestPki();
    ASSERT_FALSE(pki_.ca_pem.empty());
    server_ = std::make_unique<FakeApiServer>(pki_.server_cert_pem, pki_.server_key_pem);
    server_->setAcceptedToken("unused");
  }

  // The client whose requests carry `token` (made on first use), which the server accepts
  // from then on.
  HttpsClient& client(const std::string& token) {
    if (auto existing = clients_.find(token); existing != clients_.end()) {
      return *existing->second;
    }
    server_->addAcceptedToken(token);
    ClusterConnection connection;
    connection.host = "127.0.0.1";
    connection.port = server_->port();
    connection.ca_pem = pki_.ca_pem;
    tokens_[token] = std::make_unique<BearerToken>("", token);
    auto created = HttpsClient::create(connection, tokens_[token].get());
    EXPECT_TRUE(created.ok()) << created.error();
    clients_[token] = std::move(created.value());
    return *clients_[token];
  }

  // Polls `condition` until it holds or `timeout` passes; its last answer.
  static bool waitUntil(const std::function<bool()>& condition,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  TestPki pki_;
  std::unique_ptr<FakeApiServer> server_;
  std::map<std::string, std::unique_ptr<BearerToken>> tokens_;
  std::map<std::string, std::unique_ptr<HttpsClient>> clients_;
};

}  // namespace remora::pilot::kubernetes::testing
