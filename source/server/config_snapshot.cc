#include "source/server/config_snapshot.h"

#include <arpa/inet.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "source/common/config/registry.h"
#include "source/common/tls/transport_socket_config.h"
#include "source/interface/config/filter_factory.h"

namespace remora::server {
namespace {

using google::protobuf::util::TimeUtil;
constexpr uint32_t kDefaultBufferLimit = 1024 * 1024;
constexpr std::chrono::milliseconds kDefaultListenerFiltersTimeout{15000};
// Istio sets Envoy's transport_socket_connect_timeout to 10 s on its listeners.
constexpr std::chrono::milliseconds kDefaultHandshakeTimeout{10000};
constexpr std::string_view kTypeUrlPrefix = "type.googleapis.com/";

template <class Factory>
std::string knownNames() {
  std::string out;
  for (const auto& name : config::Registry<Factory>::names()) {
    out += (out.empty() ? "" : ", ") + name;
  }
  return out.empty() ? "none" : out;
}

// Finds the factory named by `ext` and unpacks its typed_config into a fresh message.
// Returns null (with errors added) when either fails.
template <class Factory>
const Factory* resolveExtension(const config::core::v1::TypedExtensionConfig& ext,
                                const std::string& path, std::string_view kind,
                                std::unique_ptr<google::protobuf::Message>& message,
                                config::Errors& errors) {
  const Factory* factory = config::Registry<Factory>::find(ext.name());
  if (factory == nullptr) {
    errors.add(path + ".name", "unknown " + std::string(kind) + " \"" + ext.name() +
                                   "\" (known: " + knownNames<Factory>() + ")");
    return nullptr;
  }
  message = factory->createEmptyConfig();
  if (!ext.has_typed_config()) return factory;
  std::string expected = std::string(kTypeUrlPrefix) + message->GetDescriptor()->full_name();
  if (ext.typed_config().type_url() != expected) {
    errors.add(path + ".typed_config", "\"@type\" is \"" + ext.typed_config().type_url() +
                                           "\" but filter \"" + ext.name() + "\" takes \"" +
                                           expected + "\"");
    return nullptr;
  }
  if (!ext.typed_config().UnpackTo(message.get())) {
    errors.add(path + ".typed_config", "cannot decode as " + expected);
    return nullptr;
  }
  return factory;
}

void buildListenerStats(ListenerConfig& listener, stats::Store& store) {
  stats::Labels labels{{"listener", listener.name}};
  auto& s = listener.downstream_stats;
  s.total = &store.counter("remora_listener_downstream_connections_total",
                           "Downstream connections accepted.", labels);
  s.active = &store.gauge("remora_listener_downstream_connections_active",
                          "Downstream connections open now.", labels);
  s.rx_bytes = &store.counter("remora_listener_downstream_received_bytes_total",
                              "Bytes received from downstream clients.", labels);
  s.tx_bytes = &store.counter("remora_listener_downstream_sent_bytes_total",
                              "Bytes sent to downstream clients.", labels);
  listener.no_filter_chain_match =
      &store.counter("remora_listener_no_filter_chain_match_total",
                     "Connections closed because no filter chain matched.", labels);
  listener.connections_overflow = &store.counter(
      "remora_listener_connections_overflow_total",
      "Connections closed at accept: the listener's max_connections was reached.", labels);
  listener.global_connections_overflow = &store.counter(
      "remora_listener_global_connections_overflow_total",
      "Connections closed at accept: the process-wide max_downstream_connections was reached.",
      labels);
  listener.accept_errors = &store.counter(
      "remora_listener_accept_errors_total",
      "accept() failures; for lack of descriptors or memory accepting pauses with backoff.",
      labels);
  listener.listener_filter_timeouts =
      &store.counter("remora_listener_filter_timeouts_total",
                     "Connections closed because listener filters took too long.", labels);
  if (listener.local_clients_only) {
    listener.non_local_clients_refused = &store.counter(
        "remora_listener_non_local_clients_refused_total",
        "Connections closed at accept: the listener serves only clients on a local address.",
        labels);
  }
}

}  // namespace

ListenerConfigConstSharedPtr buildListenerConfig(const config::listener::v1::Listener& proto,
                                                 const std::string& path,
                                                 FactoryContextImpl& context, stats::Store& store,
                                                 config::Errors& errors) {
  auto listener = std::make_shared<ListenerConfig>();
  listener->name = proto.name();
  const auto& sa = proto.address().socket_address();
  listener->address =
      network::Address::fromIpPort(sa.address(), sa.port_value()).value_or(network::Address());
  listener->max_connections = proto.max_connections().value();
  listener->buffer_limit = proto.has_per_connection_buffer_limit_bytes()
                               ? proto.per_connection_buffer_limit_bytes().value()
                               : kDefaultBufferLimit;
  listener->listener_filters_timeout =
      proto.has_listener_filters_timeout()
          ? std::chrono::milliseconds(
                TimeUtil::DurationToMilliseconds(proto.listener_filters_timeout()))
          : kDefaultListenerFiltersTimeout;
  listener->traffic_direction = proto.traffic_direction();
  listener->local_clients_only = proto.local_clients_only();
  context.setListenerName(proto.name());
  buildListenerStats(*listener, store);

  for (int i = 0; i < proto.listener_filters_size(); ++i) {
    std::string fpath = path + ".listener_filters[" + std::to_string(i) + "]";
    std::unique_ptr<google::protobuf::Message> message;
    auto* factory = resolveExtension<config::ListenerFilterConfigFactory>(
        proto.listener_filters(i), fpath, "listener filter", message, errors);
    if (!factory) continue;
    auto cb = factory->createFilterFactory(*message, fpath + ".typed_config", context, errors);
    if (cb) listener->listener_filters.push_back(std::move(cb));
  }

  for (int c = 0; c < proto.filter_chains_size(); ++c) {
    const auto& chain_proto = proto.filter_chains(c);
    std::string cpath = path + ".filter_chains[" + std::to_string(c) + "]";
    FilterChainConfig chain;
    chain.name = chain_proto.name();
    if (chain_proto.filter_chain_match().has_destination_port()) {
      chain.destination_port = chain_proto.filter_chain_match().destination_port().value();
    }
    const auto& ranges = chain_proto.filter_chain_match().prefix_ranges();
    for (int r = 0; r < ranges.size(); ++r) {
      auto range = CidrRange::parse(ranges[r].address_prefix(),
                                    ranges[r].has_prefix_len()
                                        ? std::optional<uint32_t>(ranges[r].prefix_len().value())
                                        : std::nullopt);
      if (!range) {
        errors.add(cpath + ".filter_chain_match.prefix_ranges[" + std::to_string(r) + "]",
                   "\"" + ranges[r].address_prefix() + "/" +
                       std::to_string(ranges[r].prefix_len().value()) + "\" is not an IP prefix");
        continue;
      }
      chain.prefix_ranges.push_back(*range);
    }
    const auto& match = chain_proto.filter_chain_match();
    for (int n = 0; n < match.server_names_size(); ++n) {
      std::string name = match.server_names(n);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      if (name.empty() || name.find('*', name[0] == '*' ? 1 : 0) != std::string::npos ||
          (name[0] == '*' && (name.size() < 3 || name[1] != '.'))) {
        errors.add(cpath + ".filter_chain_match.server_names[" + std::to_string(n) + "]",
                   "\"" + match.server_names(n) +
                       "\" is not a host name or a leading wildcard such as *.example.com");
        continue;
      }
      chain.server_names.push_back(std::move(name));
    }
    if (!match.transport_protocol().empty() && match.transport_protocol() != "tls" &&
        match.transport_protocol() != "raw_buffer") {
      errors.add(cpath + ".filter_chain_match.transport_protocol",
                 "\"" + match.transport_protocol() + "\" is not \"tls\" or \"raw_buffer\"");
    }
    chain.transport_protocol = match.transport_protocol();
    for (const auto& protocol : match.application_protocols()) {
      chain.application_protocols.push_back(protocol);
    }
    for (int f = 0; f < chain_proto.filters_size(); ++f) {
      std::string fpath = cpath + ".filters[" + std::to_string(f) + "]";
      std::unique_ptr<google::protobuf::Message> message;
      auto* factory = resolveExtension<config::NetworkFilterConfigFactory>(
          chain_proto.filters(f), fpath, "network filter", message, errors);
      if (!factory) continue;
      bool last = f + 1 == chain_proto.filters_size();
      if (factory->isTerminal() && !last) {
        errors.add(fpath + ".name", "\"" + factory->name() +
                                        "\" is a terminal filter and must be last in the chain");
      } else if (!factory->isTerminal() && last) {
        errors.add(fpath + ".name",
                   "the last filter of a chain must be a terminal filter such "
                   "as remora.filters.network.tcp_proxy");
      }
      auto cb = factory->createFilterFactory(*message, fpath + ".typed_config", context, errors);
      if (cb) chain.filter_factories.push_back(std::move(cb));
    }
    if (chain_proto.has_transport_socket()) {
      std::string label = proto.name() + (chain.name.empty() ? "" : "/" + chain.name);
      chain.transport = tls::createTransportSocketFactory(chain_proto.transport_socket(), false,
                                                          label, cpath + ".transport_socket",
                                                          context.secretManager(), store, errors);
    }
    chain.handshake_timeout = kDefaultHandshakeTimeout;
    if (chain_proto.has_transport_socket_connect_timeout()) {
      const auto& timeout = chain_proto.transport_socket_connect_timeout();
      if (timeout.seconds() < 0 || timeout.nanos() < 0) {
        errors.add(cpath + ".transport_socket_connect_timeout", "must not be negative");
      }
      chain.handshake_timeout =
          std::chrono::milliseconds(TimeUtil::DurationToMilliseconds(timeout));
    }
    listener->filter_chains.push_back(std::move(chain));
  }
  return listener;
}

std::optional<CidrRange> CidrRange::parse(const std::string& prefix,
                                          std::optional<uint32_t> length) {
  CidrRange range;
  if (inet_pton(AF_INET, prefix.c_str(), range.bytes.data()) == 1) {
    range.family = AF_INET;
    range.length = length.value_or(32);
    if (range.length > 32) return std::nullopt;
  } else if (inet_pton(AF_INET6, prefix.c_str(), range.bytes.data()) == 1) {
    range.family = AF_INET6;
    range.length = length.value_or(128);
    if (range.length > 128) return std::nullopt;
  } else {
    return std::nullopt;
  }
  return range;
}

bool CidrRange::contains(const network::Address& address) const {
  if (address.family() != family) return false;
  const uint8_t* ip;
  if (family == AF_INET) {
    ip = reinterpret_cast<const uint8_t*>(
        &reinterpret_cast<const sockaddr_in*>(address.sockAddr())->sin_addr);
  } else {
    ip = reinterpret_cast<const uint8_t*>(
        &reinterpret_cast<const sockaddr_in6*>(address.sockAddr())->sin6_addr);
  }
  uint32_t full = length / 8;
  if (std::memcmp(ip, bytes.data(), full) != 0) return false;
  uint32_t rest = length % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip[full] & mask) == (bytes[full] & mask);
}

bool FilterChainConfig::matchesDestination(const network::Address& destination) const {
  if (destination_port && *destination_port != destination.port()) return false;
  return prefix_ranges.empty() ||
         std::any_of(prefix_ranges.begin(), prefix_ranges.end(),
                     [&](const CidrRange& range) { return range.contains(destination); });
}

namespace {

// "*.example.com" matches "a.example.com" and "a.b.example.com", never "example.com".
bool serverNameMatches(const std::string& pattern, const std::string& name) {
  if (pattern.size() > 1 && pattern[0] == '*' && pattern[1] == '.') {
    std::string_view suffix(pattern.data() + 1, pattern.size() - 1);
    return name.size() > suffix.size() && name.ends_with(suffix);
  }
  return pattern == name;
}

}  // namespace

bool FilterChainConfig::matches(const ConnectionMatchInfo& info) const {
  if (!matchesDestination(info.destination)) return false;
  if (!transport_protocol.empty()) {
    const std::string& detected =
        info.transport_protocol.empty() ? std::string("raw_buffer") : info.transport_protocol;
    if (detected != transport_protocol) return false;
  }
  if (!server_names.empty() &&
      std::none_of(server_names.begin(), server_names.end(), [&](const std::string& pattern) {
        return serverNameMatches(pattern, info.server_name);
      })) {
    return false;
  }
  if (!application_protocols.empty() &&
      std::none_of(application_protocols.begin(), application_protocols.end(),
                   [&](const std::string& wanted) {
                     return std::find(info.application_protocols.begin(),
                                      info.application_protocols.end(),
                                      wanted) != info.application_protocols.end();
                   })) {
    return false;
  }
  return true;
}

const FilterChainConfig* ListenerConfig::matchFilterChain(const ConnectionMatchInfo& info) const {
  for (const auto& chain : filter_chains) {
    if (chain.matches(info)) return &chain;
  }
  return nullptr;
}

bool ListenerConfig::chainDependsOnProtocol(const network::Address& destination) const {
  for (const auto& chain : filter_chains) {
    if (chain.matchesDestination(destination)) return chain.matchesOnProtocol();
  }
  return false;
}

ConfigSnapshotConstSharedPtr buildConfigSnapshot(const config::bootstrap::v1::Bootstrap& bootstrap,
                                                 stats::Store& store, config::Errors& errors,
                                                 RouteConfigProviderRegistry* routes,
                                                 tls::SecretManager* secrets) {
  auto snapshot = std::make_shared<ConfigSnapshot>();
  std::set<std::string, std::less<>> cluster_names;
  const auto& clusters = bootstrap.static_resources().clusters();
  for (int i = 0; i < clusters.size(); ++i) {
    const auto& cluster = clusters[i];
    cluster_names.insert(cluster.name());
    auto transport = buildClusterTransport(
        cluster, "static_resources.clusters[" + std::to_string(i) + "].transport_socket", secrets,
        store, errors);
    snapshot->clusters.push_back(
        std::make_shared<upstream::ClusterInfoImpl>(cluster, store, nullptr, transport));
  }
  FactoryContextImpl context(store, &cluster_names, bootstrap.dynamic_resources().has_cds_config(),
                             routes);
  context.setSecretManager(secrets);
  context.setNodeNamespace(bootstrap.node().namespace_());
  const auto& listeners = bootstrap.static_resources().listeners();
  for (int i = 0; i < listeners.size(); ++i) {
    std::string path = "static_resources.listeners[" + std::to_string(i) + "]";
    snapshot->listeners.push_back(buildListenerConfig(listeners[i], path, context, store, errors));
  }
  if (!errors.empty()) return nullptr;
  return snapshot;
}

std::shared_ptr<network::TransportSocketFactory> buildClusterTransport(
    const config::cluster::v1::Cluster& cluster, const std::string& path,
    tls::SecretManager* secrets, stats::Store& store, config::Errors& errors) {
  if (!cluster.has_transport_socket()) return nullptr;
  return tls::createTransportSocketFactory(cluster.transport_socket(), true, cluster.name(), path,
                                           secrets, store, errors);
}

}  // namespace remora::server
