#pragma once

// Named factories for listener and network filters. Each filter library registers one factory
// (see source/common/config/registry.h); listeners find them by the `name` in config. A
// factory validates its typed config once, on the main thread, and returns a callback that
// creates per-connection instances on workers.

#include <google/protobuf/message.h>

#include <memory>
#include <string>
#include <string_view>

#include "source/interface/config/errors.h"
#include "source/interface/http/filter.h"
#include "source/interface/network/filter.h"
#include "source/interface/network/listener_filter.h"
#include "source/interface/router/route_config_provider.h"
#include "source/interface/stats/stats.h"

namespace remora::config {

// What a factory may consult while validating and building (main thread only).
class FactoryContext {
 public:
  virtual ~FactoryContext() = default;
  virtual stats::Store& stats() = 0;
  virtual bool clusterExists(std::string_view name) const = 0;
  // Name of the listener being built, for metric labels.
  virtual const std::string& listenerName() const = 0;
  // The proxy's namespace (bootstrap node.namespace); empty when it has none. What
  // "%NAMESPACE%" in a route configuration's host_search_suffixes stands for.
  virtual const std::string& nodeNamespace() const {
    static const std::string kNone;
    return kNone;
  }
  // The discovered route configuration `name`, from the file at `path` or, when `path` is
  // empty, from the control plane's stream. Null when route discovery is not available (no
  // control plane in the bootstrap and no path).
  virtual router::RouteConfigProviderSharedPtr routeConfigProvider(const std::string& name,
                                                                   const std::string& path) {
    (void)name;
    (void)path;
    return nullptr;
  }
};

class NetworkFilterConfigFactory {
 public:
  virtual ~NetworkFilterConfigFactory() = default;
  // e.g. "remora.filters.network.tcp_proxy".
  virtual std::string name() const = 0;
  // An empty message of the config type; its full name must match typed_config's @type.
  virtual std::unique_ptr<google::protobuf::Message> createEmptyConfig() const = 0;
  // Terminal filters (tcp_proxy, http_connection_manager) must be last in a chain.
  virtual bool isTerminal() const = 0;
  // Validates `config` and builds the per-connection factory. On bad config, adds errors
  // with paths relative to `path` (the filter's typed_config) and returns an empty callback.
  virtual network::FilterFactoryCb createFilterFactory(const google::protobuf::Message& config,
                                                       const std::string& path,
                                                       FactoryContext& context,
                                                       Errors& errors) const = 0;
};

class ListenerFilterConfigFactory {
 public:
  virtual ~ListenerFilterConfigFactory() = default;
  virtual std::string name() const = 0;
  virtual std::unique_ptr<google::protobuf::Message> createEmptyConfig() const = 0;
  virtual network::ListenerFilterFactoryCb createFilterFactory(
      const google::protobuf::Message& config, const std::string& path, FactoryContext& context,
      Errors& errors) const = 0;
};

class HttpFilterConfigFactory {
 public:
  virtual ~HttpFilterConfigFactory() = default;
  // e.g. "remora.filters.http.router".
  virtual std::string name() const = 0;
  virtual std::unique_ptr<google::protobuf::Message> createEmptyConfig() const = 0;
  // The router is terminal: it must be the last HTTP filter.
  virtual bool isTerminal() const = 0;
  virtual http::FilterFactoryCb createFilterFactory(const google::protobuf::Message& config,
                                                    const std::string& path,
                                                    FactoryContext& context,
                                                    Errors& errors) const = 0;
};

}  // namespace remora::config
