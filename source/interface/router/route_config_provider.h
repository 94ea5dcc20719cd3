#pragma once

// Routes that change at run time (route discovery): an HTTP connection manager configured with
// `rds` asks its provider for the table at the start of each request and keeps that table for
// the request's whole life, so an update affects new requests at once and never the ones in
// flight.

#include <memory>

namespace remora::router {

class RouteTable;

class RouteConfigProvider {
 public:
  virtual ~RouteConfigProvider() = default;
  // Worker thread: the table in force on the calling worker; null until the first version
  // arrives (requests are then answered 404, no route).
  virtual std::shared_ptr<const RouteTable> current() const = 0;
};
using RouteConfigProviderSharedPtr = std::shared_ptr<RouteConfigProvider>;

}  // namespace remora::router
