#pragma once

// Helpers for the RBAC engine tests: policies from protobuf text format and requests built
// field by field.

#include <google/protobuf/text_format.h>

#include <map>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "source/common/rbac/engine.h"

namespace remora::rbac::testing {

inline config::rbac::v1::Rbac parseRbac(const std::string& text) {
  config::rbac::v1::Rbac proto;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &proto)) << text;
  return proto;
}

// An engine from valid config text.
inline std::unique_ptr<Engine> makeEngine(const std::string& text) {
  config::Errors errors;
  auto engine = Engine::create(parseRbac(text), "", errors);
  EXPECT_TRUE(errors.empty()) << errors.joined();
  EXPECT_NE(engine, nullptr);
  return engine;
}

// The errors of invalid config text (the engine must not be created).
inline std::vector<std::string> configErrors(const std::string& text) {
  config::Errors errors;
  auto engine = Engine::create(parseRbac(text), "", errors);
  EXPECT_EQ(engine, nullptr);
  return errors.lines();
}

// One ALLOW policy "ns/test" with one rule; `rule` is the rule's text-format body.
inline std::unique_ptr<Engine> allowRule(const std::string& rule) {
  return makeEngine("policies { name: 'ns/test' action: ALLOW rules { " + rule + " } }");
}

// A request built field by field. Not copyable: its views point into its own storage.
class Request {
 public:
  Request() {
    request_.headers = [this](std::string_view name) { return lookup(name); };
  }
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  // HTTP request with these pseudo-headers.
  Request& http(std::string method, std::string path, std::string host = "svc.example.com") {
    request_.is_http = true;
    method_ = std::move(method);
    path_ = std::move(path);
    host_ = std::move(host);
    request_.method = method_;
    request_.path = path_;
    request_.host = host_;
    return *this;
  }
  Request& tcp() {
    request_.is_http = false;
    return *this;
  }
  Request& principal(std::string id) {
    principal_ = std::move(id);
    request_.peer_principal = principal_;
    return *this;
  }
  Request& requestPrincipal(std::string id) {
    request_principal_ = std::move(id);
    request_.request_principal = request_principal_;
    return *this;
  }
  Request& source(const std::string& ip) {
    request_.source_ip = address(ip);
    return *this;
  }
  Request& remote(const std::string& ip) {
    request_.remote_ip = address(ip);
    return *this;
  }
  Request& destination(const std::string& ip, uint32_t port) {
    request_.destination_ip = address(ip);
    request_.destination_port = port;
    return *this;
  }
  Request& port(uint32_t port) {
    request_.destination_port = port;
    return *this;
  }
  Request& sni(std::string name) {
    sni_ = std::move(name);
    request_.sni = sni_;
    return *this;
  }
  Request& header(const std::string& lowercase_name, std::string value) {
    headers_[lowercase_name] = std::move(value);
    return *this;
  }

  const AuthorizationRequest& get() const { return request_; }
  operator const AuthorizationRequest&() const { return request_; }

  // The names the engine asked for, in order.
  const std::vector<std::string>& lookups() const { return lookups_; }

 private:
  static IpAddress address(const std::string& ip) {
    auto parsed = IpAddress::parse(ip);
    EXPECT_TRUE(parsed.has_value()) << ip;
    return parsed.value_or(IpAddress{});
  }
  std::optional<std::string_view> lookup(std::string_view name) {
    lookups_.emplace_back(name);
    auto it = headers_.find(std::string(name));
    if (it == headers_.end()) return std::nullopt;
    return std::string_view(it->second);
  }

  AuthorizationRequest request_;
  std::string method_, path_, host_, principal_, request_principal_, sni_;
  std::map<std::string, std::string> headers_;
  std::vector<std::string> lookups_;
};

inline bool allowed(const Engine& engine, const AuthorizationRequest& request) {
  return engine.evaluate(request).allowed;
}

}  // namespace remora::rbac::testing
