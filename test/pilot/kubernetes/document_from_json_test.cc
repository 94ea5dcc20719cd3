// API objects as compact documents: what yaml-cpp would read of the same JSON (nulls left out
// of objects), kind and apiVersion set, and equal to the folder's document of the same text.
#include "source/pilot/kubernetes/document_from_json.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "source/pilot/document/document_from_yaml.h"
#include "source/pilot/yaml_view.h"

namespace remora::pilot::kubernetes {
namespace {

JsonValue parse(const std::string& text) {
  auto value = JsonValue::parse(text);
  EXPECT_TRUE(value.ok()) << value.error();
  return value.ok() ? std::move(value).value() : JsonValue();
}

TEST(DocumentFromJsonTest, ScalarsKeepTheirTextAndNullMembersAreLeftOut) {
  auto doc = documentFromJson(
      parse(R"({"s":"text","n":1.50,"big":12345678901234567890,"t":true,"f":false,"gone":null,)"
            R"("list":[1,null,"x"],"nested":{"a":{"b":null,"c":"d"}},"esc":"\u00e9\n"})"));
  YamlView view(doc);
  EXPECT_EQ(view["s"].str(), "text");
  EXPECT_EQ(view["n"].str(), "1.50");
  EXPECT_EQ(view["big"].str(), "12345678901234567890");
  EXPECT_EQ(view["big"].as<uint64_t>(), 12345678901234567890ull);
  EXPECT_TRUE(view["t"].as<bool>());
  EXPECT_FALSE(view["f"].as<bool>());
  EXPECT_FALSE(view["gone"].isNull());  // left out, not null
  EXPECT_EQ(view.size(), 8u);
  EXPECT_EQ(view["list"].size(), 3u);
  EXPECT_TRUE(view["list"][1].isNull());
  EXPECT_EQ(view["nested"]["a"].size(), 1u);
  EXPECT_EQ(view["esc"].str(), "\xc3\xa9\n");
  EXPECT_EQ(doc->toJson(),
            R"({"s":"text","n":"1.50","big":"12345678901234567890","t":"true","f":"false",)"
            R"("list":["1",null,"x"],"nested":{"a":{"c":"d"}},"esc":")"
            "\xc3\xa9"
            R"(\n"})");
}

TEST(DocumentFromJsonTest, EqualsTheFolderDocumentOfTheSameText) {
  // JSON is YAML: without nulls the two readings are the same document.
  const std::string text =
      R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"r","labels":{"app":"r"}},)"
      R"("spec":{"ports":[{"port":9080,"name":"http","appProtocol":"grpc"}],"x":[true,[]]}})";
  auto from_json = documentFromJson(parse(text));
  auto from_yaml = documentFromYaml(YAML::Load(text));
  EXPECT_EQ(from_json->contentHash(), from_yaml->contentHash());
  EXPECT_EQ(from_json->toJson(), from_yaml->toJson());
}

TEST(DocumentFromJsonTest, ApiObjectsGetKindAndApiVersion) {
  // A list item: neither.
  YamlView item(documentFromApiObject(parse(R"({"metadata":{"name":"a"},"spec":{}})"),
                                      "VirtualService", "networking.istio.io/v1"));
  EXPECT_EQ(item["kind"].str(), "VirtualService");
  EXPECT_EQ(item["apiVersion"].str(), "networking.istio.io/v1");
  EXPECT_EQ(item["metadata"]["name"].str(), "a");
  EXPECT_EQ(item.size(), 4u);
  // A watch event's object: its own apiVersion stays; kind is the reflector's.
  YamlView event(documentFromApiObject(
      parse(R"({"kind":"VirtualService","apiVersion":"networking.istio.io/v1beta1",)"
            R"("metadata":{"name":"a"},"status":null})"),
      "VirtualService", "networking.istio.io/v1"));
  EXPECT_EQ(event["apiVersion"].str(), "networking.istio.io/v1beta1");
  EXPECT_EQ(event.size(), 3u);
  // An empty apiVersion is none.
  YamlView empty(documentFromApiObject(parse(R"({"apiVersion":""})"), "Pod", "v1"));
  EXPECT_EQ(empty["apiVersion"].str(), "v1");
}

}  // namespace
}  // namespace remora::pilot::kubernetes
