#include "filters/network/rbac/rbac_filter_config.h"

namespace remora::filters::rbac {
namespace {

using PolicyProto = config::rbac::v1::Policy;

constexpr const char* kDecisionsName = "remora_rbac_decisions_total";
constexpr const char* kDecisionsHelp =
    "Authorization decisions of the RBAC filters: allowed or denied by a policy (empty when "
    "none decided), and audited once per matching AUDIT policy.";

// RFC 9110 token characters: what an HTTP/1.1 field name may contain.
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// The header name lowercased (HeaderMap keeps names lowercase), or an error.
bool normalizeHeaderName(const std::string& name, std::string& out, std::string& error) {
  out.clear();
  for (char c : name) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
  for (char c : out) {
    if (!isTokenChar(c)) {
      error = "\"" + name + "\" is not a valid header name";
      return false;
    }
  }
  // Headers the codecs and the connection manager own: setting them would break the request.
  for (std::string_view reserved : {"host", "connection", "content-length", "transfer-encoding",
                                    "te", "upgrade", "keep-alive", "proxy-connection"}) {
    if (out == reserved) {
      error = "\"" + name + "\" is a header the proxy manages itself";
      return false;
    }
  }
  return true;
}

}  // namespace

std::shared_ptr<const RbacFilterConfig> RbacFilterConfig::create(
    const ProtoConfig& proto, Kind kind, const std::string& path,
    const std::string& default_stat_prefix, stats::Store& store, config::Errors& errors) {
  size_t errors_before = errors.lines().size();
  std::shared_ptr<RbacFilterConfig> config(new RbacFilterConfig());
  config->engine_ = remora::rbac::Engine::create(proto.rules(), path + ".rules", errors);
  if (!proto.forward_principal_header().empty()) {
    std::string field = path + ".forward_principal_header";
    std::string error;
    if (kind == Kind::kNetwork) {
      errors.add(field, "only the HTTP filter can set headers");
    } else if (!normalizeHeaderName(proto.forward_principal_header(),
                                    config->forward_principal_header_, error)) {
      errors.add(field, error);
    }
  }
  if (errors.lines().size() != errors_before || !config->engine_) return nullptr;

  config->stat_prefix_ = proto.stat_prefix().empty() ? default_stat_prefix : proto.stat_prefix();
  std::string filter = kind == Kind::kNetwork ? "network" : "http";
  auto counter = [&](const std::string& policy, const char* decision) {
    return &store.counter(kDecisionsName, kDecisionsHelp,
                          {{"filter", filter},
                           {"stat_prefix", config->stat_prefix_},
                           {"policy", policy},
                           {"decision", decision}});
  };
  // Only the series a decision can reach: an ALLOW policy only allows, a DENY only denies, an
  // AUDIT only audits, and "no policy" allows or denies depending on whether ALLOW exists.
  for (const auto& policy : proto.rules().policies()) {
    PolicyCounters& counters = config->counters_[policy.name()];
    switch (policy.action()) {
      case PolicyProto::ALLOW:
        counters.allowed = counter(policy.name(), "allowed");
        break;
      case PolicyProto::DENY:
        counters.denied = counter(policy.name(), "denied");
        break;
      default:
        counters.audited = counter(policy.name(), "audited");
        break;
    }
  }
  PolicyCounters& none = config->counters_[""];
  if (config->engine_->hasAllowPolicies()) {
    none.denied = counter("", "denied");
  } else {
    none.allowed = counter("", "allowed");
  }
  return config;
}

const RbacFilterConfig::PolicyCounters* RbacFilterConfig::countersFor(
    std::string_view policy) const {
  auto it = counters_.find(policy);
  return it == counters_.end() ? nullptr : &it->second;
}

remora::rbac::Decision RbacFilterConfig::authorize(
    const remora::rbac::AuthorizationRequest& request) const {
  remora::rbac::Decision decision = engine_->evaluate(request);
  if (const auto* counters = countersFor(decision.policy)) {
    stats::Counter* counter = decision.allowed ? counters->allowed : counters->denied;
    if (counter) counter->inc();
  }
  for (std::string_view audited : decision.audited) {
    const auto* counters = countersFor(audited);
    if (counters && counters->audited) counters->audited->inc();
  }
  return decision;
}

void addConnectionAttributes(const network::Connection& connection,
                             remora::rbac::AuthorizationRequest& request) {
  using remora::rbac::IpAddress;
  if (const network::SslConnectionInfo* ssl = connection.ssl()) {
    // Set only from a certificate the handshake verified (see SslConnectionInfo).
    request.peer_principal = ssl->peer_principal;
    request.sni = ssl->server_name;
  }
  const network::Address& remote = connection.remoteAddress();
  if (remote.valid()) request.source_ip = IpAddress::fromSockaddr(remote.sockAddr());
  const network::Address& local = connection.localAddress();
  if (local.valid()) {
    request.destination_ip = IpAddress::fromSockaddr(local.sockAddr());
    request.destination_port = local.port();
  }
}

}  // namespace remora::filters::rbac
