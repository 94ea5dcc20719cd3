// The folder source: recursive reading, which names are read, last good of a file that no
// longer parses and of a folder that disappears, and the errors naming the folder.

#include "source/pilot/folder_source.h"

#include <sys/wait.h>

#include <algorithm>
#include <chrono>

#include "test/pilot/config/config_test_util.h"

namespace remora::pilot {
namespace {

using testing::ScratchFolder;

std::string service(const std::string& name) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name +
         ", namespace: default}\nspec: {ports: [{name: http, port: 80}]}\n";
}

// "file: kind ns/name" of every object, in order.
std::vector<std::string> names(const SourceSnapshot& snapshot) {
  std::vector<std::string> out;
  for (const auto& o : snapshot.objects) out.push_back(o.file + ": " + o.name);
  return out;
}

std::string issues(const SourceSnapshot& snapshot) {
  std::string out;
  for (const auto& i : snapshot.issues) out += i.reason + " " + i.line() + "\n";
  return out;
}

TEST(FolderSourceTest, ReadsSubfoldersAndSkipsHiddenAndTempFiles) {
  ScratchFolder folder;
  folder.write("a.yaml", service("a"));
  folder.write("team/b.yml", service("b"));
  folder.write("team/deep/er/c.json",
               R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c"}})");
  folder.write(".hidden.yaml", service("hidden"));
  folder.write(".git/d.yaml", service("in-hidden-folder"));
  folder.write("e.yaml~", service("backup"));
  folder.write("#f.yaml#", service("emacs"));
  folder.write("g.yaml.swp", service("vim"));
  folder.write("h.txt", service("text"));
  std::string error;
  auto source = FolderSource::open(folder.path(), error);
  ASSERT_NE(source, nullptr) << error;
  SourceSnapshot snapshot = source->snapshot();
  EXPECT_EQ(names(snapshot),
            (std::vector<std::string>{"a.yaml: a", "team/b.yml: b", "team/deep/er/c.json: c"}));
  EXPECT_EQ(issues(snapshot), "");
  EXPECT_GT(snapshot.objects[0].file_mtime_ns, 0);
}

TEST(FolderSourceTest, MissingOrNotAFolderIsAnErrorNamingIt) {
  ScratchFolder folder;
  std::string error;
  EXPECT_EQ(FolderSource::open(folder.path() + "/nope", error), nullptr);
  EXPECT_EQ(error, "folder \"" + folder.path() + "/nope\" does not exist");
  folder.write("file.yaml", service("a"));
  EXPECT_EQ(FolderSource::open(folder.path() + "/file.yaml", error), nullptr);
  EXPECT_EQ(error, "\"" + folder.path() + "/file.yaml\" is not a folder");
}

TEST(FolderSourceTest, AFileThatNoLongerParsesKeepsItsLastGoodObjects) {
  ScratchFolder folder;
  folder.write("a.yaml", service("a") + "---\n" + service("a2"));
  folder.write("b.yaml", service("b"));
  std::string error;
  auto source = FolderSource::open(folder.path(), error);
  ASSERT_NE(source, nullptr);
  source->snapshot();
  folder.write("a.yaml", service("a") + "  broken: [\n");
  folder.write("b.yaml", service("b-renamed"));
  SourceSnapshot snapshot = source->snapshot();
  EXPECT_EQ(names(snapshot),
            (std::vector<std::string>{"a.yaml: a", "a.yaml: a2", "b.yaml: b-renamed"}));
  ASSERT_EQ(snapshot.issues.size(), 1u);
  EXPECT_EQ(snapshot.issues[0].reason, "parse_error");
  EXPECT_NE(snapshot.issues[0].message.find("the objects of its last good version stay in force"),
            std::string::npos);
  // A file broken from the start has no objects to keep, and says so.
  folder.write("c.yaml", "kind: [\n");
  snapshot = source->snapshot();
  EXPECT_NE(issues(snapshot).find("c.yaml: not valid YAML"), std::string::npos);
  EXPECT_NE(issues(snapshot).find("no earlier version was read"), std::string::npos);
  // Fixed: the new version replaces the last good one.
  folder.write("a.yaml", service("a3"));
  EXPECT_EQ(names(source->snapshot()),
            (std::vector<std::string>{"a.yaml: a3", "b.yaml: b-renamed"}));
}

TEST(FolderSourceTest, AFolderThatDisappearsKeepsTheLastGoodConfigurationUntilItIsBack) {
  ScratchFolder parent;
  parent.write("manifests/a.yaml", service("a"));
  parent.write("manifests/sub/b.yaml", service("b"));
  std::string dir = parent.path() + "/manifests";
  std::string error;
  auto source = FolderSource::open(dir, error);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->snapshot().objects.size(), 2u);
  parent.remove("manifests");
  // The removal is reported as a change; the snapshot keeps both objects and says why.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool changed = false;
  while (!changed && std::chrono::steady_clock::now() < deadline) {
    changed = source->waitForChange(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(changed);
  SourceSnapshot snapshot = source->snapshot();
  EXPECT_EQ(names(snapshot), (std::vector<std::string>{"a.yaml: a", "sub/b.yaml: b"}));
  ASSERT_EQ(snapshot.issues.size(), 1u);
  EXPECT_EQ(snapshot.issues[0].reason, "source_unavailable");
  EXPECT_EQ(snapshot.issues[0].line(), dir + ": folder \"" + dir +
                                           "\" cannot be read: No such file or directory; the "
                                           "last good configuration stays in force");
  // Retried without events, and read again once it is back.
  parent.write("manifests/c.yaml", service("c"));
  changed = false;
  while (!changed && std::chrono::steady_clock::now() < deadline) {
    changed = source->waitForChange(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(changed);
  snapshot = source->snapshot();
  EXPECT_EQ(names(snapshot), (std::vector<std::string>{"c.yaml: c"}));
  EXPECT_TRUE(snapshot.issues.empty());
}

TEST(FolderSourceTest, AChangeInASubfolderIsSeen) {
  ScratchFolder folder;
  folder.write("sub/a.yaml", service("a"));
  std::string error;
  auto source = FolderSource::open(folder.path(), error);
  ASSERT_NE(source, nullptr);
  source->snapshot();
  while (source->waitForChange(std::chrono::milliseconds(0))) {
  }
  folder.write("sub/a.yaml", service("a-changed"));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool changed = false;
  while (!changed && std::chrono::steady_clock::now() < deadline) {
    changed = source->waitForChange(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(changed);
  EXPECT_EQ(names(source->snapshot()), (std::vector<std::string>{"sub/a.yaml: a-changed"}));
}

// The binary: a missing folder stops it at start with exit 2 and the flag's name.
// The revision follows the content: the same document rewritten (other layout, quotes,
// comments) keeps its revision across reloads; any change of content gives a new one.
TEST(FolderSourceTest, RevisionsFollowTheContentAcrossReloads) {
  ScratchFolder folder;
  folder.write("a.yaml", service("a"));
  folder.write("b.yaml", service("b"));
  std::string error;
  auto source = FolderSource::open(folder.path(), error);
  ASSERT_NE(source, nullptr);
  SourceSnapshot first = source->snapshot();
  ASSERT_EQ(first.objects.size(), 2u);
  EXPECT_EQ(first.objects[0].revision.size(), 16u);
  EXPECT_NE(first.objects[0].revision, first.objects[1].revision);
  EXPECT_EQ(source->snapshot().objects[0].revision, first.objects[0].revision);
  folder.write("a.yaml",
               "# the same service\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n"
               "  namespace: default\nspec:\n  ports:\n  - name: http\n    port: \"80\"\n");
  folder.write("b.yaml", service("b") + "---\n" + service("c"));
  SourceSnapshot second = source->snapshot();
  ASSERT_EQ(second.objects.size(), 3u);
  EXPECT_EQ(second.objects[0].revision, first.objects[0].revision);
  EXPECT_EQ(second.objects[1].revision, first.objects[1].revision);
  folder.write("b.yaml",
               "apiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: default}\n"
               "spec: {ports: [{name: http, port: 81}]}\n");
  SourceSnapshot third = source->snapshot();
  ASSERT_EQ(third.objects.size(), 2u);
  EXPECT_EQ(third.objects[0].revision, first.objects[0].revision);
  EXPECT_NE(third.objects[1].revision, first.objects[1].revision);
}

TEST(FolderSourceTest, PilotExitsWithTwoNamingTheFlagWhenTheFolderIsMissing) {
  ScratchFolder folder;
  std::string missing = folder.path() + "/missing";
  std::string command = "source/pilot/remora-pilot --manifests " + missing +
                        " --listen 127.0.0.1:0 --monitoring 127.0.0.1:0 --ca-listen off 2>" +
                        folder.path() + "/stderr";
  int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  std::ifstream in(folder.path() + "/stderr");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "remora-pilot: --manifests: folder \"" + missing + "\" does not exist\n");
}

}  // namespace
}  // namespace remora::pilot
