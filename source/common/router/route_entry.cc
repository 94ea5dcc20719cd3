#include "source/common/router/route_entry.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>

namespace remora::router {
namespace {

using google::protobuf::util::TimeUtil;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.substr(0, prefix.size()) == prefix;
}

bool endsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::unique_ptr<RE2> compile(const std::string& pattern, bool case_sensitive,
                             const std::string& path, config::Errors& errors) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_case_sensitive(case_sensitive);
  auto regex = std::make_unique<RE2>(pattern, options);
  if (!regex->ok()) {
    errors.add(path, "invalid regex: " + regex->error());
    return nullptr;
  }
  return regex;
}

std::string_view pathOnly(std::string_view path) {
  return path.substr(0, std::min(path.find('?'), path.find('#')));
}

}  // namespace

// A value test shared by header and query-parameter matchers.
struct RouteEntry::ValueMatcher {
  enum class Kind { kExact, kPrefix, kSuffix, kRegex, kPresent } kind = Kind::kPresent;
  std::string text;
  std::unique_ptr<RE2> regex;
  bool present = true;

  bool matches(std::optional<std::string_view> value) const {
    if (kind == Kind::kPresent) return value.has_value() == present;
    if (!value) return false;
    switch (kind) {
      case Kind::kExact:
        return *value == text;
      case Kind::kPrefix:
        return startsWith(*value, text);
      case Kind::kSuffix:
        return endsWith(*value, text);
      case Kind::kRegex:
        return RE2::FullMatch(*value, *regex);
      case Kind::kPresent:
        break;
    }
    return false;
  }
};

struct RouteEntry::HeaderMatch {
  std::string name;
  ValueMatcher value;
  bool invert = false;
};

struct RouteEntry::QueryMatch {
  std::string name;
  ValueMatcher value;
};

RouteEntry::~RouteEntry() = default;

std::shared_ptr<TokenBucket> makeTokenBucket(const config::route::v1::LocalRateLimit& proto,
                                             const std::string& path, config::Errors& errors) {
  size_t before = errors.lines().size();
  if (proto.max_tokens() == 0) errors.add(path + ".max_tokens", "must be positive");
  uint32_t per_fill =
      proto.has_tokens_per_fill() ? proto.tokens_per_fill().value() : proto.max_tokens();
  if (proto.has_tokens_per_fill() && per_fill == 0) {
    errors.add(path + ".tokens_per_fill", "must be positive");
  }
  auto interval = std::chrono::milliseconds(
      google::protobuf::util::TimeUtil::DurationToMilliseconds(proto.fill_interval()));
  if (interval.count() <= 0) errors.add(path + ".fill_interval", "must be at least 1ms");
  if (errors.lines().size() != before) return nullptr;
  return std::make_shared<TokenBucket>(proto.max_tokens(), per_fill, interval);
}

std::unique_ptr<RouteEntry> RouteEntry::create(const config::route::v1::Route& proto,
                                               const std::string& path,
                                               std::vector<const HeaderOps*> request_parents,
                                               std::vector<const HeaderOps*> response_parents,
                                               config::Errors& errors) {
  using config::route::v1::RedirectAction;
  using config::route::v1::RouteMatch;
  size_t before = errors.lines().size();
  std::unique_ptr<RouteEntry> entry(new RouteEntry());
  entry->name_ = proto.name();
  const auto& match = proto.match();
  std::string mpath = path + ".match";
  entry->case_sensitive_ = !match.has_case_sensitive() || match.case_sensitive().value();
  switch (match.path_specifier_case()) {
    case RouteMatch::kPrefix:
      entry->prefix_ = entry->case_sensitive_ ? match.prefix() : lower(match.prefix());
      break;
    case RouteMatch::kPath:
      entry->exact_path_ = entry->case_sensitive_ ? match.path() : lower(match.path());
      break;
    case RouteMatch::kSafeRegex:
      entry->path_regex_ =
          compile(match.safe_regex(), entry->case_sensitive_, mpath + ".safe_regex", errors);
      break;
    case RouteMatch::PATH_SPECIFIER_NOT_SET:
      errors.add(mpath, "one of prefix, path or safe_regex is required");
      break;
  }
  for (int i = 0; i < match.headers_size(); ++i) {
    const auto& h = match.headers(i);
    std::string hpath = mpath + ".headers[" + std::to_string(i) + "]";
    HeaderMatch m;
    m.name = lower(h.name());
    m.invert = h.invert_match();
    if (m.name.empty()) errors.add(hpath + ".name", "required");
    using HM = config::route::v1::HeaderMatcher;
    switch (h.header_match_specifier_case()) {
      case HM::kExactMatch:
        m.value = {ValueMatcher::Kind::kExact, h.exact_match(), nullptr, true};
        break;
      case HM::kPrefixMatch:
        m.value = {ValueMatcher::Kind::kPrefix, h.prefix_match(), nullptr, true};
        break;
      case HM::kSuffixMatch:
        m.value = {ValueMatcher::Kind::kSuffix, h.suffix_match(), nullptr, true};
        break;
      case HM::kSafeRegexMatch:
        m.value.kind = ValueMatcher::Kind::kRegex;
        m.value.regex = compile(h.safe_regex_match(), true, hpath + ".safe_regex_match", errors);
        break;
      case HM::kPresentMatch:
        m.value.present = h.present_match();
        break;
      case HM::HEADER_MATCH_SPECIFIER_NOT_SET:
        break;  // presence
    }
    entry->headers_.push_back(std::move(m));
  }
  for (int i = 0; i < match.query_parameters_size(); ++i) {
    const auto& q = match.query_parameters(i);
    std::string qpath = mpath + ".query_parameters[" + std::to_string(i) + "]";
    QueryMatch m;
    m.name = q.name();
    if (m.name.empty()) errors.add(qpath + ".name", "required");
    using QM = config::route::v1::QueryParameterMatcher;
    switch (q.query_parameter_match_specifier_case()) {
      case QM::kExactMatch:
        m.value = {ValueMatcher::Kind::kExact, q.exact_match(), nullptr, true};
        break;
      case QM::kPrefixMatch:
        m.value = {ValueMatcher::Kind::kPrefix, q.prefix_match(), nullptr, true};
        break;
      case QM::kSafeRegexMatch:
        m.value.kind = ValueMatcher::Kind::kRegex;
        m.value.regex = compile(q.safe_regex_match(), true, qpath + ".safe_regex_match", errors);
        break;
      case QM::kPresentMatch:
        m.value.present = q.present_match();
        break;
      case QM::QUERY_PARAMETER_MATCH_SPECIFIER_NOT_SET:
        break;
    }
    entry->query_.push_back(std::move(m));
  }
  for (const auto& method : match.methods()) entry->methods_.push_back(method);

  switch (proto.action_case()) {
    case config::route::v1::Route::kRoute: {
      const auto& action = proto.route();
      std::string apath = path + ".route";
      entry->kind_ = Kind::kCluster;
      if (action.has_weighted_clusters()) {
        const auto& clusters = action.weighted_clusters().clusters();
        for (int i = 0; i < clusters.size(); ++i) {
          if (clusters[i].name().empty()) {
            errors.add(apath + ".weighted_clusters.clusters[" + std::to_string(i) + "].name",
                       "required");
          }
          entry->total_weight_ += clusters[i].weight();
          entry->weighted_.emplace_back(clusters[i].name(), entry->total_weight_);
        }
        if (entry->total_weight_ == 0) {
          errors.add(apath + ".weighted_clusters", "the weights must add up to more than 0");
        }
      } else if (action.cluster().empty()) {
        errors.add(apath, "one of cluster or weighted_clusters is required");
      } else {
        entry->cluster_ = action.cluster();
      }
      if (!action.prefix_rewrite().empty()) {
        if (match.path_specifier_case() != RouteMatch::kPrefix) {
          errors.add(apath + ".prefix_rewrite", "needs a prefix match");
        }
        entry->extras().prefix_rewrite = action.prefix_rewrite();
      }
      if (action.has_regex_rewrite()) {
        entry->extras().rewrite_regex = compile(action.regex_rewrite().pattern(), true,
                                                apath + ".regex_rewrite.pattern", errors);
        entry->extras().rewrite_substitution = action.regex_rewrite().substitution();
      }
      if (!action.host_rewrite_literal().empty()) {
        entry->extras().host_rewrite = action.host_rewrite_literal();
      }
      if (action.has_timeout()) {
        if (action.timeout().seconds() < 0 || action.timeout().nanos() < 0) {
          errors.add(apath + ".timeout", "must not be negative");
        }
        entry->timeout_ =
            std::chrono::milliseconds(TimeUtil::DurationToMilliseconds(action.timeout()));
      }
      for (int h = 0; h < action.hash_policy_size(); ++h) {
        const auto& hp = action.hash_policy(h);
        std::string hpath = apath + ".hash_policy[" + std::to_string(h) + "]";
        HashPolicy policy;
        policy.terminal = hp.terminal();
        switch (hp.policy_specifier_case()) {
          case config::route::v1::HashPolicy::kHeader:
            policy.kind = HashPolicy::Kind::kHeader;
            policy.name = lower(hp.header().header_name());
            if (policy.name.empty()) errors.add(hpath + ".header.header_name", "required");
            break;
          case config::route::v1::HashPolicy::kCookie:
            policy.kind = HashPolicy::Kind::kCookie;
            policy.name = hp.cookie().name();
            policy.cookie_ttl = std::chrono::seconds(hp.cookie().ttl().seconds());
            policy.cookie_path = hp.cookie().path();
            if (policy.name.empty()) errors.add(hpath + ".cookie.name", "required");
            break;
          case config::route::v1::HashPolicy::kConnectionProperties:
            policy.kind = HashPolicy::Kind::kSourceIp;
            if (!hp.connection_properties().source_ip()) {
              errors.add(hpath + ".connection_properties.source_ip", "must be true");
            }
            break;
          case config::route::v1::HashPolicy::kQueryParameter:
            policy.kind = HashPolicy::Kind::kQueryParameter;
            policy.name = hp.query_parameter().name();
            if (policy.name.empty()) errors.add(hpath + ".query_parameter.name", "required");
            break;
          default:
            errors.add(hpath,
                       "one of header, cookie, connection_properties, query_parameter is "
                       "required");
            break;
        }
        entry->hash_policies_.push_back(std::move(policy));
      }
      for (int m = 0; m < action.request_mirror_policies_size(); ++m) {
        const auto& mp = action.request_mirror_policies(m);
        std::string mpath = apath + ".request_mirror_policies[" + std::to_string(m) + "]";
        MirrorPolicy mirror;
        mirror.cluster = mp.cluster();
        if (mirror.cluster.empty()) errors.add(mpath + ".cluster", "required");
        if (mp.has_percentage()) {
          double pct = mp.percentage().value();
          if (!(pct >= 0 && pct <= 100)) errors.add(mpath + ".percentage", "must be 0-100");
          mirror.per_million = static_cast<uint32_t>(std::clamp(pct, 0.0, 100.0) * 10000);
        }
        entry->mirror_policies_.push_back(std::move(mirror));
      }
      if (action.has_retry_policy()) {
        entry->retry_policy_ =
            RetryPolicy::fromProto(action.retry_policy(), apath + ".retry_policy", errors);
      }
      break;
    }
    case config::route::v1::Route::kRedirect: {
      entry->kind_ = Kind::kRedirect;
      entry->extras().redirect = proto.redirect();
      static const uint32_t kCodes[] = {301, 302, 303, 307, 308};
      entry->extras().redirect_status = kCodes[proto.redirect().response_code()];
      if (proto.redirect().has_prefix_rewrite() &&
          match.path_specifier_case() != RouteMatch::kPrefix) {
        errors.add(path + ".redirect.prefix_rewrite", "needs a prefix match");
      }
      break;
    }
    case config::route::v1::Route::kDirectResponse:
      entry->kind_ = Kind::kDirectResponse;
      entry->extras().direct_status = proto.direct_response().status();
      entry->extras().direct_body = proto.direct_response().body();
      if (entry->extras().direct_status < 200 || entry->extras().direct_status > 599) {
        errors.add(path + ".direct_response.status", "must be between 200 and 599");
      }
      break;
    case config::route::v1::Route::ACTION_NOT_SET:
      errors.add(path, "one of route, redirect or direct_response is required");
      break;
  }
  HeaderOps request_ops(proto.request_headers_to_add(), proto.request_headers_to_remove());
  if (!request_ops.empty()) entry->extras().request_ops = std::move(request_ops);
  HeaderOps response_ops(proto.response_headers_to_add(), proto.response_headers_to_remove());
  if (!response_ops.empty()) entry->extras().response_ops = std::move(response_ops);
  std::erase_if(request_parents,
                [](const HeaderOps* ops) { return ops == nullptr || ops->empty(); });
  std::erase_if(response_parents,
                [](const HeaderOps* ops) { return ops == nullptr || ops->empty(); });
  if (!request_parents.empty()) entry->request_parents_ = std::move(request_parents);
  if (!response_parents.empty()) entry->response_parents_ = std::move(response_parents);
  if (proto.has_fault()) {
    const auto& f = proto.fault();
    FaultConfig fault;
    auto per_million = [&](double percentage, const std::string& field) -> uint32_t {
      if (!(percentage >= 0 && percentage <= 100)) {
        errors.add(path + ".fault." + field, "must be between 0 and 100");
        return 0;
      }
      return static_cast<uint32_t>(percentage * 10000);
    };
    if (f.has_delay()) {
      if (f.delay().fixed_delay().seconds() < 0 || f.delay().fixed_delay().nanos() < 0) {
        errors.add(path + ".fault.delay.fixed_delay", "must not be negative");
      }
      fault.delay = std::chrono::milliseconds(
          google::protobuf::util::TimeUtil::DurationToMilliseconds(f.delay().fixed_delay()));
      fault.delay_per_million = per_million(f.delay().percentage(), "delay.percentage");
    }
    if (f.has_abort()) {
      const auto& a = f.abort();
      if (a.has_http_status()) {
        fault.abort_http_status = a.http_status();
        if (a.http_status() < 200 || a.http_status() > 599) {
          errors.add(path + ".fault.abort.http_status", "must be between 200 and 599");
        }
      } else if (a.has_grpc_status()) {
        fault.abort_grpc_status = a.grpc_status();
        if (a.grpc_status() < 1 || a.grpc_status() > 16) {
          errors.add(path + ".fault.abort.grpc_status", "must be between 1 and 16");
        }
      } else {
        errors.add(path + ".fault.abort", "http_status or grpc_status is required");
      }
      fault.abort_per_million = per_million(a.percentage(), "abort.percentage");
    }
    entry->extras().fault = fault;
  }
  if (proto.has_rate_limit()) {
    entry->extras().rate_limit = makeTokenBucket(proto.rate_limit(), path + ".rate_limit", errors);
  }
  if (errors.lines().size() != before) return nullptr;
  return entry;
}

bool RouteEntry::pathMatches(std::string_view path) const {
  std::string lowered;
  if (!case_sensitive_ && !path_regex_) {
    lowered = lower(path);
    path = lowered;
  }
  if (path_regex_) return RE2::FullMatch(path, *path_regex_);
  if (!exact_path_.empty()) return path == exact_path_;
  return startsWith(path, prefix_);
}

bool RouteEntry::matches(const http::HeaderMap& request) const {
  if (!pathMatches(pathOnly(request.path()))) return false;
  if (!methods_.empty() &&
      std::find(methods_.begin(), methods_.end(), request.method()) == methods_.end()) {
    return false;
  }
  for (const auto& h : headers_) {
    if (h.value.matches(request.get(h.name)) == h.invert) return false;
  }
  if (!query_.empty()) {
    std::string_view full = request.path();
    size_t q = full.find('?');
    std::string_view query = q == std::string_view::npos ? "" : full.substr(q + 1);
    for (const auto& m : query_) {
      std::optional<std::string_view> value;
      std::string_view rest = query;
      while (!rest.empty() && !value) {
        size_t amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        size_t eq = pair.find('=');
        if (pair.substr(0, eq) == m.name) {
          value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        }
        rest = amp == std::string_view::npos ? "" : rest.substr(amp + 1);
      }
      if (!m.value.matches(value)) return false;
    }
  }
  return true;
}

const std::string& RouteEntry::pickCluster(uint64_t random) const {
  if (weighted_.empty()) return cluster_;
  uint64_t point = random % total_weight_;
  for (const auto& [name, cumulative] : weighted_) {
    if (point < cumulative) return name;
  }
  return weighted_.back().first;
}

void RouteEntry::applyRequestTransforms(http::HeaderMap& request) const {
  if (extras_) {
    const Extras& x = *extras_;
    if (x.prefix_rewrite || x.rewrite_regex) {
      std::string path(request.path());
      size_t q = path.find('?');
      std::string query = q == std::string::npos ? "" : path.substr(q);
      std::string bare = path.substr(0, q);
      bool rewritten = false;
      if (x.prefix_rewrite && bare.size() >= prefix_.size()) {
        bare = *x.prefix_rewrite + bare.substr(prefix_.size());
        rewritten = true;
      }
      if (x.rewrite_regex) {
        rewritten |= RE2::GlobalReplace(&bare, *x.rewrite_regex, x.rewrite_substitution) > 0;
      }
      if (rewritten) {
        if (bare.empty()) bare = "/";
        request.set(":path", bare + query);
      }
    }
    if (!x.host_rewrite.empty()) request.set(":authority", x.host_rewrite);
  }
  for (const auto* ops : request_parents_) ops->apply(request);
  if (extras_) extras_->request_ops.apply(request);
}

void RouteEntry::applyResponseTransforms(http::HeaderMap& response) const {
  for (const auto* ops : response_parents_) ops->apply(response);
  if (extras_) extras_->response_ops.apply(response);
}

std::string RouteEntry::redirectLocation(const http::HeaderMap& request) const {
  const config::route::v1::RedirectAction& redirect = extras_->redirect;
  std::string scheme = !redirect.scheme_redirect().empty() ? redirect.scheme_redirect()
                       : request.scheme().empty()          ? "http"
                                                           : std::string(request.scheme());
  std::string host = redirect.host_redirect().empty() ? std::string(request.authority())
                                                      : redirect.host_redirect();
  if (redirect.port_redirect() != 0) {
    size_t colon = host.rfind(':');
    if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
      host = host.substr(0, colon);
    }
    host += ":" + std::to_string(redirect.port_redirect());
  }
  std::string full(request.path());
  size_t q = full.find('?');
  std::string query = q == std::string::npos || redirect.strip_query() ? "" : full.substr(q);
  std::string path = full.substr(0, q);
  if (redirect.has_path_redirect()) {
    path = redirect.path_redirect();
    // A path_redirect that carries its own query replaces the request's.
    if (path.find('?') != std::string::npos) query.clear();
  } else if (redirect.has_prefix_rewrite() && path.size() >= prefix_.size()) {
    path = redirect.prefix_rewrite() + path.substr(prefix_.size());
  }
  return scheme + "://" + host + path + query;
}

}  // namespace remora::router
