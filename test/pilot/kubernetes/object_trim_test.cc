// What pilot keeps of an API object: server bookkeeping goes from every kind; a Pod keeps
// only the fields the translator reads.
#include "source/pilot/kubernetes/object_trim.h"

#include <gtest/gtest.h>

namespace remora::pilot::kubernetes {
namespace {

JsonValue parse(const std::string& text) {
  auto value = JsonValue::parse(text);
  EXPECT_TRUE(value.ok()) << value.error();
  return value.ok() ? std::move(value).value() : JsonValue();
}

TEST(ObjectTrimTest, PodKeepsWhatTheTranslatorReads) {
  JsonValue pod = parse(R"({"apiVersion":"v1","kind":"Pod",
    "metadata":{"name":"p","namespace":"ns","uid":"u","resourceVersion":"7","generateName":"p-",
      "labels":{"app":"a"},"annotations":{"sidecar.istio.io/inject":"false",
      "kubectl.kubernetes.io/last-applied-configuration":"{}"},"managedFields":[{}],
      "ownerReferences":[{}]},
    "spec":{"serviceAccountName":"sa","nodeName":"n","volumes":[{}],"dnsPolicy":"ClusterFirst",
      "containers":[{"name":"c","image":"i","env":[],"ports":[{"name":"http","containerPort":80}]}]},
    "status":{"phase":"Running","podIP":"10.0.0.1","podIPs":[{"ip":"10.0.0.1"}],
      "containerStatuses":[{}],"conditions":[{}]}})");
  trimForPilot("Pod", pod);
  EXPECT_EQ(pod.serialize(),
            R"({"apiVersion":"v1","kind":"Pod",)"
            R"("metadata":{"name":"p","namespace":"ns","uid":"u","resourceVersion":"7",)"
            R"("labels":{"app":"a"},"annotations":{"sidecar.istio.io/inject":"false"}},)"
            R"("spec":{"serviceAccountName":"sa","nodeName":"n",)"
            R"("containers":[{"name":"c","ports":[{"name":"http","containerPort":80}]}]},)"
            R"("status":{"phase":"Running","podIP":"10.0.0.1","podIPs":[{"ip":"10.0.0.1"}]}})");
}

TEST(ObjectTrimTest, OtherKindsLoseOnlyServerBookkeeping) {
  const std::string kept =
      R"({"kind":"VirtualService","metadata":{"name":"v","annotations":{"a":"b"}},)"
      R"("spec":{"hosts":["h"],"http":[{"route":[]}]},"status":{"conditions":[]}})";
  JsonValue vs =
      parse(R"({"kind":"VirtualService","metadata":{"name":"v","managedFields":[{"manager":"m"}],)"
            R"("annotations":{"a":"b","kubectl.kubernetes.io/last-applied-configuration":"{}"}},)"
            R"("spec":{"hosts":["h"],"http":[{"route":[]}]},"status":{"conditions":[]}})");
  trimForPilot("VirtualService", vs);
  EXPECT_EQ(vs.serialize(), kept);
}

}  // namespace
}  // namespace remora::pilot::kubernetes
