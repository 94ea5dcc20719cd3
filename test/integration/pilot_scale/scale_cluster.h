#pragma once

// The cluster of the pilot scale benchmark, as the scripted Kubernetes API server serves it:
// N services (ports http 8080 and grpc 9090) spread over namespaces, each with one
// EndpointSlice of its pods, M pods in all, and a VirtualService for every 100th service.
// Changes reach pilot as MODIFIED events on watch streams that stay open for the whole run.

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "test/pilot/api_objects.h"
#include "test/pilot/kubernetes/fake_api_server.h"

namespace remora::test {

struct ScaleShape {
  int services = 10000;
  int pods = 50000;
  int namespaces = 20;
};

// One open watch stream of a collection; events pushed here are written to it at once.
class WatchFeed {
 public:
  // Queues the (only) watch of `collection` on `server`: it answers 200 chunked and then
  // writes every pushed event until close().
  void attach(pilot::kubernetes::testing::FakeApiServer& server, const std::string& collection);
  void push(const std::string& event_line);
  // Ends the stream; call before the server stops.
  void close();

 private:
  struct State {
    std::mutex lock;
    std::condition_variable changed;
    std::deque<std::string> events;
    bool closed = false;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

class ScaleCluster {
 public:
  explicit ScaleCluster(ScaleShape shape);

  const ScaleShape& shape() const { return shape_; }
  const pilot::testing::ApiCollections& collections() const { return collections_; }

  std::string serviceName(int service) const { return "svc-" + std::to_string(service); }
  std::string namespaceOf(int service) const;
  // Pods of service s are "<service>-<k>", k < podsPerService().
  int podsPerService() const;
  // The EDS resource (and cluster) of `service`'s http port.
  std::string httpClusterName(int service) const;

  // The service's EndpointSlice at `resource_version` with `ready_pods` of its pods ready
  // (the others not ready): a MODIFIED watch event line.
  std::string endpointSliceEvent(int service, int ready_pods,
                                 const std::string& resource_version) const;
  // The VirtualService of `service` (a multiple of 100) with a request timeout of
  // `timeout_ms`: a MODIFIED watch event line.
  std::string virtualServiceEvent(int service, int timeout_ms,
                                  const std::string& resource_version) const;

 private:
  std::string endpointSlice(int service, int ready_pods, const std::string& rv) const;
  std::string virtualService(int service, int timeout_ms, const std::string& rv) const;

  ScaleShape shape_;
  pilot::testing::ApiCollections collections_;
};

}  // namespace remora::test
