#pragma once

// One configured route: what it matches and what it does. Immutable; matched concurrently by
// every worker.

#include <re2/re2.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "remora/config/route/v1/route.pb.h"
#include "source/common/router/header_ops.h"
#include "source/common/router/retry_policy.h"
#include "source/common/router/token_bucket.h"
#include "source/interface/config/errors.h"
#include "source/interface/http/header_map.h"

namespace remora::router {

// One hash_policy entry of a route.
struct HashPolicy {
  enum class Kind { kHeader, kCookie, kSourceIp, kQueryParameter };
  Kind kind = Kind::kHeader;
  std::string name;  // header, cookie or query parameter name
  std::chrono::seconds cookie_ttl{0};
  std::string cookie_path;
  bool terminal = false;
};

// One mirror target of a route.
struct MirrorPolicy {
  std::string cluster;
  uint32_t per_million = 1000000;
};

// A route's fault injection (remora.filters.http.fault).
struct FaultConfig {
  std::chrono::milliseconds delay{0};
  uint32_t delay_per_million = 0;  // share of requests delayed
  uint32_t abort_http_status = 0;
  uint32_t abort_grpc_status = 0;
  uint32_t abort_per_million = 0;
};

// Builds a token bucket from config; null (with errors under `path`) when invalid.
std::shared_ptr<TokenBucket> makeTokenBucket(const config::route::v1::LocalRateLimit& proto,
                                             const std::string& path, config::Errors& errors);

class RouteEntry {
 public:
  enum class Kind { kCluster, kRedirect, kDirectResponse };
  ~RouteEntry();

  // Null (with errors added under `path`) when the route is invalid. `parents` are the
  // virtual host's and route configuration's header operations, applied before the route's.
  static std::unique_ptr<RouteEntry> create(const config::route::v1::Route& proto,
                                            const std::string& path,
                                            std::vector<const HeaderOps*> request_parents,
                                            std::vector<const HeaderOps*> response_parents,
                                            config::Errors& errors);

  // Whether the request (path without its query, headers, query, method) matches.
  bool matches(const http::HeaderMap& request) const;

  const std::string& name() const { return name_; }
  Kind kind() const { return kind_; }

  // kCluster: the cluster for this request; `random` picks among weighted clusters.
  const std::string& pickCluster(uint64_t random) const;
  // kCluster: 0 means no timeout.
  std::chrono::milliseconds timeout() const { return timeout_; }
  // kCluster: shadow clusters that get copies of requests.
  const std::vector<MirrorPolicy>& mirrorPolicies() const { return mirror_policies_; }
  // Null when the route injects no fault.
  const FaultConfig* fault() const {
    return extras_ && extras_->fault ? &*extras_->fault : nullptr;
  }
  // The route's token bucket, else its virtual host's; null when neither limits.
  TokenBucket* rateLimit() const {
    return extras_ && extras_->rate_limit ? extras_->rate_limit.get() : vhost_rate_limit_.get();
  }
  void setVirtualHostRateLimit(std::shared_ptr<TokenBucket> bucket) {
    vhost_rate_limit_ = std::move(bucket);
  }
  // kCluster: how the request's hash key is made (empty: none).
  const std::vector<HashPolicy>& hashPolicies() const { return hash_policies_; }
  // kCluster: null when the route does not retry.
  const RetryPolicy* retryPolicy() const { return retry_policy_ ? &*retry_policy_ : nullptr; }
  // kCluster: path and authority rewrites, then header operations (config, virtual host,
  // route: most specific last).
  void applyRequestTransforms(http::HeaderMap& request) const;
  void applyResponseTransforms(http::HeaderMap& response) const;

  // kRedirect
  uint32_t redirectStatus() const { return extras_->redirect_status; }
  std::string redirectLocation(const http::HeaderMap& request) const;

  // kDirectResponse
  uint32_t directStatus() const { return extras_->direct_status; }
  const std::string& directBody() const { return extras_->direct_body; }

 private:
  struct ValueMatcher;
  struct HeaderMatch;
  struct QueryMatch;

  RouteEntry() = default;
  bool pathMatches(std::string_view path) const;

  std::string name_;
  Kind kind_ = Kind::kCluster;
  // Path: exactly one of prefix / exact path / regex.
  std::string prefix_;
  std::string exact_path_;
  std::unique_ptr<RE2> path_regex_;
  bool case_sensitive_ = true;
  std::vector<HeaderMatch> headers_;
  std::vector<QueryMatch> query_;
  std::vector<std::string> methods_;
  // Cluster action.
  std::string cluster_;
  std::vector<std::pair<std::string, uint64_t>> weighted_;  // name, cumulative weight
  uint64_t total_weight_ = 0;
  std::chrono::milliseconds timeout_{15000};
  std::optional<RetryPolicy> retry_policy_;
  std::vector<HashPolicy> hash_policies_;
  std::vector<MirrorPolicy> mirror_policies_;
  std::shared_ptr<TokenBucket> vhost_rate_limit_;
  // Parents' header operations (non-empty ones only).
  std::vector<const HeaderOps*> request_parents_;
  std::vector<const HeaderOps*> response_parents_;

  // What most routes do not use, allocated only by those that do: a mesh proxy holds a route
  // per service it knows, and most of them only name a cluster.
  struct Extras {
    std::optional<std::string> prefix_rewrite;
    std::unique_ptr<RE2> rewrite_regex;
    std::string rewrite_substitution;
    std::string host_rewrite;
    std::optional<FaultConfig> fault;
    std::shared_ptr<TokenBucket> rate_limit;
    // Redirect action.
    uint32_t redirect_status = 301;
    config::route::v1::RedirectAction redirect;
    // Direct response action.
    uint32_t direct_status = 200;
    std::string direct_body;
    // The route's own header operations.
    HeaderOps request_ops;
    HeaderOps response_ops;
  };
  Extras& extras() {
    if (!extras_) extras_ = std::make_unique<Extras>();
    return *extras_;
  }
  std::unique_ptr<Extras> extras_;
};

}  // namespace remora::router
