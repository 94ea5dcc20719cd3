// The guard's verdicts are kept per object and revision: an unchanged object is not checked
// again (what keeps a reload of 70,000 objects cheap), a changed revision is.

#include "source/pilot/config_guard.h"

#include <gtest/gtest.h>

#include "source/pilot/manifests.h"

namespace remora::pilot {
namespace {

Object virtualService(const std::string& field, const std::string& revision) {
  std::vector<Object> objects;
  std::vector<ManifestError> errors;
  parseManifestText("vs.yaml",
                    "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: "
                    "{name: reviews, namespace: default}\nspec:\n  hosts: [reviews]\n  " +
                        field + ": [{route: [{destination: {host: reviews}}]}]\n",
                    objects, errors);
  EXPECT_EQ(objects.size(), 1u);
  objects[0].revision = revision;
  return objects[0];
}

size_t rejected(const ConfigGuard::Admitted& admitted) {
  size_t n = 0;
  for (const auto& issue : admitted.issues) n += issue.reason == "rejected";
  return n;
}

TEST(ConfigGuardTest, AnUnchangedRevisionIsNotCheckedAgain) {
  ConfigGuard guard;
  auto first = guard.admit({virtualService("http", "7")});
  EXPECT_EQ(rejected(first), 0u);
  ASSERT_EQ(first.objects.size(), 1u);
  // The same revision stands for the same content (the API server's contract): the verdict
  // of revision 7 is reused, although this stand-in for it would not pass.
  auto again = guard.admit({virtualService("httpp", "7")});
  EXPECT_EQ(rejected(again), 0u);
  EXPECT_EQ(again.objects.size(), 1u);
  // A new revision is checked: unknown field, rejected, its last good version stays.
  auto changed = guard.admit({virtualService("httpp", "8")});
  EXPECT_EQ(rejected(changed), 1u);
  ASSERT_EQ(changed.objects.size(), 1u);
  EXPECT_EQ(changed.objects[0].revision, "7");
}

TEST(ConfigGuardTest, ObjectsWithoutARevisionAreCheckedEveryTime) {
  ConfigGuard guard;
  EXPECT_EQ(rejected(guard.admit({virtualService("http", "")})), 0u);
  EXPECT_EQ(rejected(guard.admit({virtualService("httpp", "")})), 1u);
}

}  // namespace
}  // namespace remora::pilot
