// What pilot keeps per pod, measured: 5,000 typical pods (about 3.2 KB of JSON each, as the API
// server sends them) trimmed as the reflector trims them, kept as JSON trees (what pilot kept
// before) and as compact documents (what it keeps now), in heap bytes per pod as malloc counts
// them (allocator overhead included). Prints both; fails when a kept pod reaches 1 KB.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "source/pilot/kubernetes/document_from_json.h"
#include "source/pilot/kubernetes/object_trim.h"

namespace remora::pilot::kubernetes {
namespace {

constexpr int kPods = 5000;

// A pod of a Deployment as `kubectl get pod -o json` shows it, minus nothing.
std::string typicalPod(int i) {
  const std::string n = std::to_string(i);
  const std::string name = "reviews-v2-5b64f47b7c-" + std::to_string(10000 + i);
  const std::string ip = "10.244." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 2);
  const std::string uid = "6f1c2a4e-3b1d-4c8a-9e2f-" + std::to_string(100000000000 + i);
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
         R"(","generateName":"reviews-v2-5b64f47b7c-","namespace":"bookinfo","uid":")" + uid +
         R"(","resourceVersion":")" + std::to_string(4000000 + i) +
         R"(","creationTimestamp":"2026-12-01T10:00:00Z","labels":{"app":"reviews",)"
         R"("version":"v2","pod-template-hash":"5b64f47b7c","security.istio.io/tlsMode":"istio",)"
         R"("service.istio.io/canonical-name":"reviews"},"annotations":{)"
         R"("kubectl.kubernetes.io/default-container":"reviews","prometheus.io/port":"15020",)"
         R"("prometheus.io/scrape":"true"},"ownerReferences":[{"apiVersion":"apps/v1",)"
         R"("kind":"ReplicaSet","name":"reviews-v2-5b64f47b7c","uid":"0a9b8c7d-1234-4321-)"
         R"(abcd-0123456789ab","controller":true,"blockOwnerDeletion":true}],"managedFields":[)"
         R"({"manager":"kube-controller-manager","operation":"Update","apiVersion":"v1",)"
         R"("time":"2026-12-01T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{)"
         R"("f:generateName":{},"f:labels":{".":{},"f:app":{},"f:pod-template-hash":{},)"
         R"("f:version":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\"0a9b8c7d\"}":{}}},)"
         R"("f:spec":{"f:containers":{"k:{\"name\":\"reviews\"}":{".":{},"f:image":{},)"
         R"("f:imagePullPolicy":{},"f:name":{},"f:ports":{}}}}}},{"manager":"kubelet",)"
         R"("operation":"Update","apiVersion":"v1","time":"2026-12-01T10:00:05Z",)"
         R"("fieldsType":"FieldsV1","fieldsV1":{"f:status":{"f:conditions":{},)"
         R"("f:containerStatuses":{},"f:podIP":{},"f:podIPs":{}}},"subresource":"status"}]},)"
         R"("spec":{"volumes":[{"name":"kube-api-access-)" +
         n +
         R"(","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,)"
         R"("path":"token"}},{"configMap":{"name":"kube-root-ca.crt","items":[{"key":)"
         R"("ca.crt","path":"ca.crt"}]}}],"defaultMode":420}}],"containers":[{"name":)"
         R"("reviews","image":"docker.io/istio/examples-bookinfo-reviews-v2:1.18.0",)"
         R"("ports":[{"name":"http","containerPort":9080,"protocol":"TCP"}],"env":[{"name":)"
         R"("LOG_DIR","value":"/tmp/logs"}],"resources":{"requests":{"cpu":"100m",)"
         R"("memory":"128Mi"}},"volumeMounts":[{"name":"tmp","mountPath":"/tmp"}],)"
         R"("terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":)"
         R"("File","imagePullPolicy":"IfNotPresent","securityContext":{"runAsUser":1000}}],)"
         R"("restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":)"
         R"("ClusterFirst","serviceAccountName":"bookinfo-reviews","serviceAccount":)"
         R"("bookinfo-reviews","nodeName":"worker-)" +
         std::to_string(i % 40) +
         R"(","securityContext":{},"schedulerName":"default-scheduler","tolerations":[{"key":)"
         R"("node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute",)"
         R"("tolerationSeconds":300}],"priority":0,"enableServiceLinks":true,)"
         R"("preemptionPolicy":"PreemptLowerPriority"},"status":{"phase":"Running",)"
         R"("conditions":[{"type":"Initialized","status":"True","lastProbeTime":null,)"
         R"("lastTransitionTime":"2026-12-01T10:00:00Z"},{"type":"Ready","status":"True",)"
         R"("lastProbeTime":null,"lastTransitionTime":"2026-12-01T10:00:05Z"}],"hostIP":)"
         R"("172.18.0.)" +
         std::to_string(i % 40 + 2) + R"(","podIP":")" + ip + R"(","podIPs":[{"ip":")" + ip +
         R"("}],"startTime":"2026-12-01T10:00:00Z","containerStatuses":[{"name":"reviews",)"
         R"("state":{"running":{"startedAt":"2026-12-01T10:00:04Z"}},"lastState":{},)"
         R"("ready":true,"restartCount":0,"image":"docker.io/istio/examples-bookinfo-reviews-)"
         R"(v2:1.18.0","imageID":"docker.io/istio/examples-bookinfo-reviews-v2@sha256:)"
         R"(0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","containerID":)"
         R"("containerd://)" +
         std::string(64, 'a') + R"(","started":true}],"qosClass":"Burstable"}})";
}

size_t heapInUse() { return mallinfo2().uordblks; }

TEST(KeptPodMemoryTest, ATrimmedPodIsKeptInUnderOneKilobyte) {
  std::vector<JsonValue> trimmed;
  size_t json_text = 0;
  for (int i = 0; i < kPods; ++i) {
    std::string text = typicalPod(i);
    json_text += text.size();
    auto pod = JsonValue::parse(text);
    ASSERT_TRUE(pod.ok()) << pod.error();
    trimForPilot("Pod", *pod);
    trimmed.push_back(std::move(pod).value());
  }
  std::vector<std::shared_ptr<const JsonValue>> as_json;
  as_json.reserve(kPods);
  std::vector<CompactDocumentPtr> as_documents;
  as_documents.reserve(kPods);

  size_t start = heapInUse();
  for (const JsonValue& pod : trimmed) as_json.push_back(std::make_shared<const JsonValue>(pod));
  const double json_bytes = double(heapInUse() - start) / kPods;

  start = heapInUse();
  for (const JsonValue& pod : trimmed) {
    as_documents.push_back(documentFromApiObject(pod, "Pod", "v1"));
  }
  const double document_bytes = double(heapInUse() - start) / kPods;

  std::printf(
      "%d pods of %.0f bytes of JSON: kept trimmed as JSON trees %.0f bytes each, as compact "
      "documents %.0f bytes each (%zu of them nodes and text)\n",
      kPods, double(json_text) / kPods, json_bytes, document_bytes, as_documents[0]->keptBytes());
  EXPECT_GT(json_text / kPods, 3000u);  // the pods are typical ones
  EXPECT_LT(document_bytes, 1024);
  EXPECT_LT(document_bytes * 3, json_bytes);
  // What the translator reads is all there.
  EXPECT_EQ(as_documents[7]->toJson().find(R"("podIP":"10.244.0.9")") != std::string::npos, true);
}

}  // namespace
}  // namespace remora::pilot::kubernetes
