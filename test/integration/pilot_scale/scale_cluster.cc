#include "test/integration/pilot_scale/scale_cluster.h"

namespace remora::test {
namespace {

namespace k8s = pilot::kubernetes::testing;

std::string podIp(int service, int pod) {
  // 10.<pod>.<service / 250>.<service % 250 + 1>: unique for up to 64,000 services and 200
  // pods per service.
  return "10." + std::to_string(pod) + "." + std::to_string(service / 250) + "." +
         std::to_string(service % 250 + 1);
}

}  // namespace

void WatchFeed::attach(k8s::FakeApiServer& server, const std::string& collection) {
  std::shared_ptr<State> state = state_;
  server.queueWatch(collection, [state](k8s::ResponseWriter& writer) {
    writer.startChunked(200);
    std::unique_lock<std::mutex> guard(state->lock);
    while (true) {
      state->changed.wait(guard, [&] { return state->closed || !state->events.empty(); });
      if (state->events.empty()) break;
      std::string event = std::move(state->events.front());
      state->events.pop_front();
      guard.unlock();
      writer.chunk(event);
      guard.lock();
    }
    writer.endChunked();
  });
}

void WatchFeed::push(const std::string& event_line) {
  std::lock_guard<std::mutex> guard(state_->lock);
  state_->events.push_back(event_line);
  state_->changed.notify_all();
}

void WatchFeed::close() {
  std::lock_guard<std::mutex> guard(state_->lock);
  state_->closed = true;
  state_->changed.notify_all();
}

ScaleCluster::ScaleCluster(ScaleShape shape) : shape_(shape) {
  for (int ns = 0; ns < shape_.namespaces; ++ns) {
    collections_["/api/v1/namespaces"].push_back(R"({"metadata":{"name":"ns-)" +
                                                 std::to_string(ns) + R"("}})");
  }
  for (int s = 0; s < shape_.services; ++s) {
    std::string name = serviceName(s);
    std::string ns = namespaceOf(s);
    collections_["/api/v1/services"].push_back(
        R"({"metadata":{"name":")" + name + R"(","namespace":")" + ns +
        R"(","resourceVersion":"1"},"spec":{"clusterIP":"10.96.)" + std::to_string(s / 250) + "." +
        std::to_string(s % 250 + 1) + R"(","selector":{"app":")" + name +
        R"("},"ports":[{"name":"http","port":8080,"targetPort":8080},)"
        R"({"name":"grpc","port":9090,"targetPort":9090}]}})");
    for (int p = 0; p < podsPerService(); ++p) {
      std::string pod = name + "-" + std::to_string(p);
      collections_["/api/v1/pods"].push_back(
          R"({"metadata":{"name":")" + pod + R"(","namespace":")" + ns +
          R"(","resourceVersion":"1","labels":{"app":")" + name +
          R"(","version":"v1"}},"spec":{"serviceAccountName":")" + name +
          R"(","nodeName":"node-1","containers":[{"name":"app","image":"registry/app:1",)"
          R"("ports":[{"name":"http","containerPort":8080}]}]},)"
          R"("status":{"phase":"Running","podIP":")" +
          podIp(s, p) + R"("}})");
    }
    collections_["/apis/discovery.k8s.io/v1/endpointslices"].push_back(
        endpointSlice(s, podsPerService(), "1"));
    if (s % 100 == 0) {
      collections_["/apis/networking.istio.io/v1/virtualservices"].push_back(
          virtualService(s, 3000, "1"));
    }
  }
}

std::string ScaleCluster::namespaceOf(int service) const {
  return "ns-" + std::to_string(service % shape_.namespaces);
}

int ScaleCluster::podsPerService() const {
  return std::max(1, shape_.pods / std::max(1, shape_.services));
}

std::string ScaleCluster::httpClusterName(int service) const {
  return "outbound|8080||" + serviceName(service) + "." + namespaceOf(service) +
         ".svc.cluster.local";
}

std::string ScaleCluster::endpointSlice(int service, int ready_pods, const std::string& rv) const {
  std::string name = serviceName(service);
  std::string ns = namespaceOf(service);
  std::string endpoints;
  for (int p = 0; p < podsPerService(); ++p) {
    endpoints += std::string(p > 0 ? "," : "") + R"({"addresses":[")" + podIp(service, p) +
                 R"("],"conditions":{"ready":)" + (p < ready_pods ? "true" : "false") +
                 R"(},"targetRef":{"kind":"Pod","name":")" + name + "-" + std::to_string(p) +
                 R"(","namespace":")" + ns + R"("}})";
  }
  return R"({"metadata":{"name":")" + name + R"(-abcde","namespace":")" + ns +
         R"(","resourceVersion":")" + rv + R"(","labels":{"kubernetes.io/service-name":")" + name +
         R"("}},"addressType":"IPv4","ports":[{"name":"http","port":8080},)"
         R"({"name":"grpc","port":9090}],"endpoints":[)" +
         endpoints + "]}";
}

std::string ScaleCluster::virtualService(int service, int timeout_ms, const std::string& rv) const {
  std::string name = serviceName(service);
  return R"({"metadata":{"name":")" + name + R"(","namespace":")" + namespaceOf(service) +
         R"(","resourceVersion":")" + rv + R"("},"spec":{"hosts":[")" + name +
         R"("],"http":[{"timeout":")" + std::to_string(timeout_ms) +
         R"(ms","route":[{"destination":{"host":")" + name + R"("}}]}]}})";
}

std::string ScaleCluster::endpointSliceEvent(int service, int ready_pods,
                                             const std::string& resource_version) const {
  return k8s::watchEvent("MODIFIED", endpointSlice(service, ready_pods, resource_version));
}

std::string ScaleCluster::virtualServiceEvent(int service, int timeout_ms,
                                              const std::string& resource_version) const {
  return k8s::watchEvent("MODIFIED", virtualService(service, timeout_ms, resource_version));
}

}  // namespace remora::test
