// CompactDocument built from yaml-cpp nodes: every node type, entry order, duplicate and
// non-scalar keys, strings stored once, the content hash and the JSON rendering.
#include "source/pilot/document/compact_document.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "source/pilot/document/document_from_yaml.h"
#include "source/pilot/document/shared_keys.h"

namespace remora::pilot {
namespace {

using Type = CompactDocument::Type;
constexpr CompactDocument::Index kRoot = CompactDocument::kRoot;

CompactDocumentPtr load(const std::string& yaml) { return documentFromYaml(YAML::Load(yaml)); }

TEST(CompactDocumentTest, KeepsEveryNodeTypeAndTheEntriesInOrder) {
  auto doc = load("b: 1\na: [x, ~, {c: d}]\nempty:\nquoted: 'null'\n");
  ASSERT_EQ(doc->type(kRoot), Type::kMap);
  ASSERT_EQ(doc->size(kRoot), 4u);
  EXPECT_EQ(doc->scalar(doc->entryKey(kRoot, 0)), "b");
  EXPECT_EQ(doc->scalar(doc->entryValue(kRoot, 0)), "1");
  EXPECT_EQ(doc->scalar(doc->entryKey(kRoot, 1)), "a");
  auto list = doc->entryValue(kRoot, 1);
  ASSERT_EQ(doc->type(list), Type::kSequence);
  ASSERT_EQ(doc->size(list), 3u);
  EXPECT_EQ(doc->scalar(doc->element(list, 0)), "x");
  EXPECT_EQ(doc->type(doc->element(list, 1)), Type::kNull);
  auto inner = doc->element(list, 2);
  ASSERT_EQ(doc->type(inner), Type::kMap);
  EXPECT_EQ(doc->scalar(*doc->find(inner, "c")), "d");
  EXPECT_EQ(doc->type(*doc->find(kRoot, "empty")), Type::kNull);
  // A quoted "null" is text, not null.
  EXPECT_EQ(doc->type(*doc->find(kRoot, "quoted")), Type::kScalar);
  EXPECT_EQ(doc->scalar(*doc->find(kRoot, "quoted")), "null");
  // Sizes and text of the other types.
  EXPECT_EQ(doc->size(doc->entryValue(kRoot, 0)), 0u);
  EXPECT_EQ(doc->scalar(list), "");
}

TEST(CompactDocumentTest, FindsTheFirstOfDuplicateKeysAndOnlyInMaps) {
  auto doc = load("{k: first, k: second, [1]: list-key}");
  EXPECT_EQ(doc->size(kRoot), 3u);
  EXPECT_EQ(doc->scalar(*doc->find(kRoot, "k")), "first");
  EXPECT_EQ(doc->type(doc->entryKey(kRoot, 2)), Type::kSequence);  // a non-scalar key
  EXPECT_FALSE(doc->find(kRoot, "missing"));
  auto list = load("[a, b]");
  EXPECT_FALSE(list->find(kRoot, "a"));
}

TEST(CompactDocumentTest, UndefinedAndEmptyDocumentsAreNull) {
  EXPECT_EQ(documentFromYaml(YAML::Node())->type(kRoot), Type::kNull);
  EXPECT_EQ(CompactDocument::empty()->type(kRoot), Type::kNull);
  EXPECT_EQ(CompactDocument::empty()->size(kRoot), 0u);
  EXPECT_EQ(CompactDocument::empty()->toJson(), "null");
}

TEST(CompactDocumentTest, StoresEqualStringsOnce) {
  std::string many = "items:\n";
  for (int i = 0; i < 100; ++i) many += "- {containerPort: 8080, protocol: TCP}\n";
  auto doc = load(many);
  // 503 nodes of 8 bytes; the 100 x 4 strings would be 2.8 KB more if each were kept.
  EXPECT_GE(doc->keptBytes(), 503u * 8);
  EXPECT_LT(doc->keptBytes(), 503u * 8 + 200);
  EXPECT_EQ(doc->scalar(*doc->find(doc->element(*doc->find(kRoot, "items"), 99), "protocol")),
            "TCP");
  // A long string is kept whole.
  std::string long_text(5000, 'x');
  auto big = load("cert: " + long_text);
  EXPECT_EQ(big->scalar(*big->find(kRoot, "cert")), long_text);
  EXPECT_GE(big->keptBytes(), 5000u);
}

TEST(CompactDocumentTest, MapKeysAreStoredOnceForAllDocuments) {
  const std::string long_key(SharedKeys::kMaxLength + 1, 'k');
  auto one = load("metadata: {name: a}\n" + long_key + ": 1\n");
  auto two = load("{metadata: {name: b}, " + long_key + ": 2}");
  // The same bytes: one shared copy of the key.
  EXPECT_EQ(one->scalar(one->entryKey(kRoot, 0)).data(),
            two->scalar(two->entryKey(kRoot, 0)).data());
  EXPECT_EQ(one->scalar(one->entryKey(kRoot, 0)), "metadata");
  // Values, and keys too long for the shared table, stay in their document.
  EXPECT_EQ(one->scalar(one->entryKey(kRoot, 1)), long_key);
  EXPECT_NE(one->scalar(one->entryKey(kRoot, 1)).data(),
            two->scalar(two->entryKey(kRoot, 1)).data());
  EXPECT_GE(one->keptBytes(), long_key.size());
  EXPECT_EQ(load("metadata: x")->keptBytes(), 8u + 3 * 8 + 1);  // no "metadata" inside
  EXPECT_EQ(SharedKeys::instance().at(*SharedKeys::instance().intern("metadata")), "metadata");
  EXPECT_FALSE(SharedKeys::instance().intern(long_key));
}

TEST(CompactDocumentTest, ContentHashFollowsTheContentNotTheWriting) {
  auto block = load("metadata:\n  name: a\nspec:\n  ports:\n  - port: 80\n");
  auto flow = load("{metadata: {name: a}, spec: {ports: [{port: '80'}]}}");
  EXPECT_EQ(block->contentHash(), flow->contentHash());
  EXPECT_EQ(block->contentHash().size(), 16u);
  std::set<std::string> hashes = {block->contentHash()};
  for (const char* other : {"metadata: {name: b}\nspec: {ports: [{port: 80}]}",  // a value
                            "metadata: {nam: a}\nspec: {ports: [{port: 80}]}",   // a key
                            "spec: {ports: [{port: 80}]}\nmetadata: {name: a}",  // the order
                            "metadata: {name: a}  # same\nspec: {ports: [{port: \"80\"}]}",
                            "metadata: {name: a}\nspec: {ports: {port: 80}}",  // a type
                            "metadata: {name: a}\nspec: {ports: [{port: }]}",  // null
                            "metadata: {name: a}\nspec: {ports: [{port: 8}], 0: x}"}) {
    hashes.insert(load(other)->contentHash());
  }
  EXPECT_EQ(hashes.size(), 7u);  // the comment and the quotes change nothing
}

TEST(CompactDocumentTest, RendersAsJson) {
  auto doc = load("a: [1, ~, \"q\\\"\"]\nb: {c: true}\n");
  EXPECT_EQ(doc->toJson(), R"({"a":["1",null,"q\""],"b":{"c":"true"}})");
}

TEST(CompactDocumentTest, BuilderSlotsNotSetAreNull) {
  CompactDocumentBuilder builder;
  auto root = builder.reserve(1);
  auto first = builder.reserve(2);
  builder.setSequence(root, first, 2);
  builder.setScalar(first + 1, "x");
  auto doc = builder.finish();
  EXPECT_EQ(doc->type(doc->element(kRoot, 0)), Type::kNull);
  EXPECT_EQ(doc->scalar(doc->element(kRoot, 1)), "x");
}

}  // namespace
}  // namespace remora::pilot
