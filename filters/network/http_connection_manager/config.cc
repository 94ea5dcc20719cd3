// Registers `remora.filters.network.http_connection_manager`: validates its config (routes,
// HTTP filters, limits) and builds the shared HcmConfig.

#include <google/protobuf/util/time_util.h>

#include "filters/network/http_connection_manager/connection_manager.h"
#include "remora/extensions/filters/network/http_connection_manager/v1/http_connection_manager.pb.h"
#include "source/common/access_log/access_log_format.h"
#include "source/common/access_log/access_log_writer.h"
#include "source/common/config/registry.h"
#include "source/common/http/http1/http1_util.h"
#include "source/common/router/route_table.h"
#include "source/interface/config/filter_factory.h"

namespace remora::filters::hcm {
namespace {

using ProtoConfig =
    extensions::filters::network::http_connection_manager::v1::HttpConnectionManager;
using google::protobuf::util::TimeUtil;

constexpr std::string_view kTypeUrlPrefix = "type.googleapis.com/";
constexpr uint32_t kMaxHeadersKbLimit = 96;

std::chrono::milliseconds durationOr(bool has, const google::protobuf::Duration& d,
                                     std::chrono::milliseconds fallback) {
  return has ? std::chrono::milliseconds(TimeUtil::DurationToMilliseconds(d)) : fallback;
}

void checkDuration(bool has, const google::protobuf::Duration& d, const std::string& path,
                   config::Errors& errors) {
  if (has && (d.seconds() < 0 || d.nanos() < 0)) errors.add(path, "must not be negative");
}

HcmStats makeStats(const std::string& prefix, stats::Store& store) {
  HcmStats s;
  auto requests = [&](const char* code_class) {
    return &store.counter("remora_http_downstream_requests_total",
                          "Downstream requests completed, by response status class.",
                          {{"stat_prefix", prefix}, {"code_class", code_class}});
  };
  s.requests_1xx = requests("1xx");
  s.requests_2xx = requests("2xx");
  s.requests_3xx = requests("3xx");
  s.requests_4xx = requests("4xx");
  s.requests_5xx = requests("5xx");
  stats::Labels labels{{"stat_prefix", prefix}};
  s.requests_active = &store.gauge("remora_http_downstream_requests_active",
                                   "Downstream requests in progress.", labels);
  s.codec_errors = &store.counter("remora_http_downstream_codec_errors_total",
                                  "Connections closed for malformed HTTP.", labels);
  s.header_timeouts = &store.counter("remora_http_downstream_request_headers_timeouts_total",
                                     "Connections closed waiting for request headers.", labels);
  s.idle_timeouts = &store.counter("remora_http_downstream_idle_timeouts_total",
                                   "Connections closed after the idle timeout.", labels);
  for (size_t i = 1; i < http::kNormalizationErrorCount; ++i) {
    std::string reason(http::normalizationErrorName(static_cast<http::NormalizationError>(i)));
    s.rq_rejected[i] = &store.counter("remora_http_downstream_rq_rejected_total",
                                      "Requests refused (400) by request normalization, by reason.",
                                      {{"stat_prefix", prefix}, {"reason", reason}});
  }
  s.rq_redirected_with_normalized_path = &store.counter(
      "remora_http_downstream_rq_redirected_with_normalized_path_total",
      "Requests answered 307 to their path with escaped slashes decoded (UNESCAPE_AND_REDIRECT).",
      labels);
  for (const auto& [flag, name] : access_log::responseFlagNames()) {
    s.response_flags.emplace_back(
        static_cast<uint32_t>(flag),
        &store.counter("remora_http_downstream_response_flags_total",
                       "Requests that ended with a response flag (as in the access log).",
                       {{"stat_prefix", prefix}, {"flag", name}}));
  }
  return s;
}

// path_normalization and path_with_escaped_slashes_action, defaults resolved.
http::PathNormalizationOptions pathNormalization(const ProtoConfig& proto, const std::string& path,
                                                 config::Errors& errors) {
  using Mode = extensions::filters::network::http_connection_manager::v1::PathNormalization;
  using Action =
      extensions::filters::network::http_connection_manager::v1::PathWithEscapedSlashesAction;
  http::PathNormalizationOptions options;
  switch (proto.path_normalization()) {
    case Mode::DEFAULT:
    case Mode::BASE:
      options.mode = http::PathNormalization::kBase;
      break;
    case Mode::NONE:
      options.mode = http::PathNormalization::kNone;
      break;
    case Mode::MERGE_SLASHES:
      options.mode = http::PathNormalization::kMergeSlashes;
      break;
    case Mode::DECODE_AND_MERGE_SLASHES:
      options.mode = http::PathNormalization::kDecodeAndMergeSlashes;
      break;
    default:
      errors.add(path + ".path_normalization",
                 "unknown value " + std::to_string(proto.path_normalization()));
  }
  switch (proto.path_with_escaped_slashes_action()) {
    case Action::IMPLEMENTATION_SPECIFIC_DEFAULT:
      options.escaped_slashes = http::PathNormalizationOptions::defaultAction(options.mode);
      break;
    case Action::KEEP_UNCHANGED:
      options.escaped_slashes = http::EscapedSlashesAction::kKeepUnchanged;
      if (options.mode == http::PathNormalization::kDecodeAndMergeSlashes) {
        errors.add(path + ".path_with_escaped_slashes_action",
                   "KEEP_UNCHANGED contradicts path_normalization DECODE_AND_MERGE_SLASHES, "
                   "which decodes %2F and %5C (use MERGE_SLASHES to keep them)");
      }
      break;
    case Action::REJECT_REQUEST:
      options.escaped_slashes = http::EscapedSlashesAction::kRejectRequest;
      break;
    case Action::UNESCAPE_AND_REDIRECT:
      options.escaped_slashes = http::EscapedSlashesAction::kUnescapeAndRedirect;
      break;
    case Action::UNESCAPE_AND_FORWARD:
      options.escaped_slashes = http::EscapedSlashesAction::kUnescapeAndForward;
      break;
    default:
      errors.add(path + ".path_with_escaped_slashes_action",
                 "unknown value " + std::to_string(proto.path_with_escaped_slashes_action()));
  }
  return options;
}

}  // namespace

const SourceStats::Classes* SourceStats::forPrincipal(const std::string& principal) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = by_principal_.find(principal);
  if (it != by_principal_.end()) return it->second.get();
  auto classes = std::make_unique<Classes>();
  const char* names[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  for (int i = 0; i < 5; ++i) {
    classes->by_class[i] = &store_.counter(
        "remora_http_downstream_requests_by_source_total",
        "Downstream requests completed, by the client's identity (SPIFFE ID of its verified "
        "certificate, unknown without one) and response status class.",
        {{"stat_prefix", prefix_}, {"source_principal", principal}, {"code_class", names[i]}});
  }
  return by_principal_.emplace(principal, std::move(classes)).first->second.get();
}

namespace {

class HcmConfigFactory : public config::NetworkFilterConfigFactory {
 public:
  std::string name() const override { return "remora.filters.network.http_connection_manager"; }
  std::unique_ptr<google::protobuf::Message> createEmptyConfig() const override {
    return std::make_unique<ProtoConfig>();
  }
  bool isTerminal() const override { return true; }

  network::FilterFactoryCb createFilterFactory(const google::protobuf::Message& message,
                                               const std::string& path,
                                               config::FactoryContext& context,
                                               config::Errors& errors) const override {
    const auto& proto = static_cast<const ProtoConfig&>(message);
    size_t errors_before = errors.lines().size();
    auto config = std::make_shared<HcmConfig>();
    if (proto.stat_prefix().empty()) errors.add(path + ".stat_prefix", "required");
    config->stat_prefix = proto.stat_prefix();
    config->codec = proto.codec_type() == ProtoConfig::HTTP1   ? CodecChoice::kHttp1
                    : proto.codec_type() == ProtoConfig::HTTP2 ? CodecChoice::kHttp2
                                                               : CodecChoice::kAuto;
    if (proto.has_rds()) {
      const auto& rds = proto.rds();
      if (rds.route_config_name().empty()) {
        errors.add(path + ".rds.route_config_name", "required");
      } else if (rds.config_source().has_ads() || rds.config_source().path().empty()) {
        config->rds = context.routeConfigProvider(rds.route_config_name(), "");
        if (!config->rds) {
          errors.add(path + ".rds",
                     "routes from the control plane need dynamic_resources.ads_config in the "
                     "bootstrap (or set rds.config_source.path)");
        }
      } else {
        config->rds =
            context.routeConfigProvider(rds.route_config_name(), rds.config_source().path());
      }
    } else {
      config->routes = remora::router::RouteTable::create(
          proto.route_config(), path + ".route_config",
          [&context](std::string_view cluster) { return context.clusterExists(cluster); }, errors,
          context.nodeNamespace());
    }

    checkDuration(proto.has_request_headers_timeout(), proto.request_headers_timeout(),
                  path + ".request_headers_timeout", errors);
    checkDuration(proto.has_stream_idle_timeout(), proto.stream_idle_timeout(),
                  path + ".stream_idle_timeout", errors);
    checkDuration(proto.has_idle_timeout(), proto.idle_timeout(), path + ".idle_timeout", errors);
    config->request_headers_timeout =
        durationOr(proto.has_request_headers_timeout(), proto.request_headers_timeout(),
                   config->request_headers_timeout);
    config->stream_idle_timeout = durationOr(
        proto.has_stream_idle_timeout(), proto.stream_idle_timeout(), config->stream_idle_timeout);
    config->idle_timeout =
        durationOr(proto.has_idle_timeout(), proto.idle_timeout(), config->idle_timeout);
    if (proto.has_max_request_headers_kb()) {
      uint32_t kb = proto.max_request_headers_kb().value();
      if (kb < 1 || kb > kMaxHeadersKbLimit) {
        errors.add(path + ".max_request_headers_kb",
                   "must be between 1 and " + std::to_string(kMaxHeadersKbLimit));
      }
      config->max_request_headers_bytes = kb * 1024;
    }
    if (proto.has_max_headers_count()) {
      if (proto.max_headers_count().value() < 1) {
        errors.add(path + ".max_headers_count", "must be at least 1");
      }
      config->max_headers_count = proto.max_headers_count().value();
    }
    config->path_normalization = pathNormalization(proto, path, errors);
    if (proto.has_generate_request_id()) {
      config->generate_request_id = proto.generate_request_id().value();
    }
    const auto& h2 = proto.http2_protocol_options();
    if (h2.has_max_concurrent_streams()) {
      config->h2_max_concurrent_streams = h2.max_concurrent_streams().value();
    }
    if (h2.has_initial_stream_window_size()) {
      config->h2_initial_stream_window = h2.initial_stream_window_size().value();
    }
    if (h2.has_initial_connection_window_size()) {
      config->h2_initial_connection_window = h2.initial_connection_window_size().value();
    }
    if (proto.has_access_log()) {
      std::string log_path = proto.access_log().path();
      if (log_path.empty()) {
        errors.add(path + ".access_log.path", "required: a file, /dev/stdout or /dev/stderr");
      } else {
        std::string error;
        config->access_log = access_log::AccessLogWriter::open(log_path, error);
        if (!config->access_log) errors.add(path + ".access_log.path", error);
      }
      config->access_log_json =
          proto.access_log().format() ==
          extensions::filters::network::http_connection_manager::v1::AccessLog::JSON;
    }
    buildUpgrades(proto, path, *config, errors);
    buildClientCert(proto, *config);
    buildHttpFilters(proto, path, context, *config, errors);
    if (errors.lines().size() != errors_before) return nullptr;
    config->stats = makeStats(config->stat_prefix, context.stats());
    config->source_stats = std::make_shared<SourceStats>(context.stats(), config->stat_prefix);

    std::shared_ptr<const HcmConfig> shared = std::move(config);
    return [shared](network::Connection& connection, server::WorkerContext& worker) {
      connection.addReadFilter(std::make_shared<ConnectionManager>(shared, worker));
    };
  }

 private:
  static void buildUpgrades(const ProtoConfig& proto, const std::string& path, HcmConfig& config,
                            config::Errors& errors) {
    if (proto.upgrade_configs_size() == 0) return;  // the default: WebSocket
    config.upgrade_protocols.clear();
    for (int i = 0; i < proto.upgrade_configs_size(); ++i) {
      const auto& upgrade = proto.upgrade_configs(i);
      std::string fpath = path + ".upgrade_configs[" + std::to_string(i) + "].upgrade_type";
      std::string type = upgrade.upgrade_type();
      http::http1::lowercaseAscii(type);
      bool valid = !type.empty();
      for (unsigned char c : type) valid &= http::http1::isTokenChar(c) || c == '/';
      if (!valid) {
        errors.add(fpath, "must be a protocol name such as websocket");
      } else if (type == "connect") {
        errors.add(fpath, "CONNECT tunnels are not supported");
      } else if (!upgrade.has_enabled() || upgrade.enabled().value()) {
        config.upgrade_protocols.push_back(type);
      }
    }
  }

  static void buildClientCert(const ProtoConfig& proto, HcmConfig& config) {
    switch (proto.forward_client_cert_details()) {
      case ProtoConfig::FORWARD_ONLY:
        config.client_cert.mode = ForwardClientCert::kForwardOnly;
        break;
      case ProtoConfig::APPEND_FORWARD:
        config.client_cert.mode = ForwardClientCert::kAppendForward;
        break;
      case ProtoConfig::SANITIZE_SET:
        config.client_cert.mode = ForwardClientCert::kSanitizeSet;
        break;
      case ProtoConfig::ALWAYS_FORWARD_ONLY:
        config.client_cert.mode = ForwardClientCert::kAlwaysForwardOnly;
        break;
      case ProtoConfig::SANITIZE:
      default:
        config.client_cert.mode = ForwardClientCert::kSanitize;
        break;
    }
    const auto& details = proto.set_current_client_cert_details();
    config.client_cert.details.subject = details.has_subject() && details.subject().value();
    config.client_cert.details.cert = details.cert();
    config.client_cert.details.chain = details.chain();
    config.client_cert.details.dns = details.dns();
    config.client_cert.details.uri = details.uri();
  }

  static void buildHttpFilters(const ProtoConfig& proto, const std::string& path,
                               config::FactoryContext& context, HcmConfig& config,
                               config::Errors& errors) {
    if (proto.http_filters_size() == 0) {
      errors.add(path + ".http_filters", "needs at least remora.filters.http.router");
      return;
    }
    for (int i = 0; i < proto.http_filters_size(); ++i) {
      const auto& ext = proto.http_filters(i);
      std::string fpath = path + ".http_filters[" + std::to_string(i) + "]";
      const auto* factory = config::Registry<config::HttpFilterConfigFactory>::find(ext.name());
      if (factory == nullptr) {
        std::string known;
        for (const auto& n : config::Registry<config::HttpFilterConfigFactory>::names()) {
          known += (known.empty() ? "" : ", ") + n;
        }
        errors.add(fpath + ".name",
                   "unknown HTTP filter \"" + ext.name() + "\" (known: " + known + ")");
        continue;
      }
      auto message = factory->createEmptyConfig();
      std::string expected = std::string(kTypeUrlPrefix) + message->GetDescriptor()->full_name();
      if (ext.has_typed_config()) {
        if (ext.typed_config().type_url() != expected) {
          errors.add(fpath + ".typed_config", "\"@type\" is \"" + ext.typed_config().type_url() +
                                                  "\" but filter \"" + ext.name() + "\" takes \"" +
                                                  expected + "\"");
          continue;
        }
        ext.typed_config().UnpackTo(message.get());
      }
      bool last = i + 1 == proto.http_filters_size();
      if (factory->isTerminal() != last) {
        errors.add(fpath + ".name",
                   factory->isTerminal()
                       ? "\"" + ext.name() + "\" must be the last HTTP filter"
                       : "the last HTTP filter must be remora.filters.http.router");
      }
      auto cb = factory->createFilterFactory(*message, fpath + ".typed_config", context, errors);
      if (cb) config.filter_factories.push_back(std::move(cb));
    }
  }
};

const config::RegisterFactory<HcmConfigFactory, config::NetworkFilterConfigFactory> registered;

}  // namespace
}  // namespace remora::filters::hcm
