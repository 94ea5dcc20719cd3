// YamlView over a compact document: every access the translator uses, conversions checked
// against yaml-cpp's own on the same text (values and errors), iteration, and sharing.
#include "source/pilot/yaml_view.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <optional>
#include <vector>

#include "source/pilot/document/document_from_yaml.h"
#include "source/pilot/manifests.h"

namespace remora::pilot {
namespace {

YamlView load(const std::string& yaml) { return YamlView(documentFromYaml(YAML::Load(yaml))); }

TEST(YamlViewTest, LooksUpByKeyAndIndexForgivingly) {
  YamlView doc = load("spec: {hosts: [a, b], http: [{route: [{weight: 10}]}]}\nempty:\n");
  EXPECT_EQ(doc["spec"]["hosts"][1].str(), "b");
  EXPECT_EQ(doc["spec"]["hosts"][size_t{0}].str(), "a");
  EXPECT_EQ(doc[std::string("spec")]["http"][0]["route"][0]["weight"].as<int>(), 10);
  // Missing keys, indexes past the end, keys of lists and indexes of maps: empty views.
  EXPECT_FALSE(doc["nope"]["deeper"][3]);
  EXPECT_FALSE(doc["spec"]["hosts"][2]);
  EXPECT_FALSE(doc["spec"]["hosts"]["a"]);
  EXPECT_FALSE(doc[0]);
  EXPECT_FALSE(YamlView()["x"]);
  EXPECT_EQ(doc["nope"].size(), 0u);
  EXPECT_EQ(doc["nope"].str(), "");
}

TEST(YamlViewTest, TellsTypesAndSizes) {
  YamlView doc = load("m: {a: 1, b: 2}\ns: [1, 2, 3]\nv: x\nn: ~\n");
  EXPECT_TRUE(doc.isMap());
  EXPECT_TRUE(doc["m"].isMap());
  EXPECT_FALSE(doc["m"].isSequence());
  EXPECT_EQ(doc["m"].size(), 2u);
  EXPECT_TRUE(doc["s"].isSequence());
  EXPECT_EQ(doc["s"].size(), 3u);
  EXPECT_TRUE(doc["v"].isScalar());
  EXPECT_EQ(doc["v"].size(), 0u);
  EXPECT_EQ(doc["m"].str(), "");  // not a scalar
  // Null: present but false, as absent is.
  EXPECT_TRUE(doc["n"].isNull());
  EXPECT_FALSE(doc["n"]);
  EXPECT_FALSE(doc["n"].isScalar());
  EXPECT_FALSE(doc["absent"].isNull());
  EXPECT_TRUE(doc["v"]);
  EXPECT_TRUE(doc["v"].isScalar());
  EXPECT_TRUE(doc["m"].isMap());
  EXPECT_TRUE(doc["s"].isSequence());
  EXPECT_TRUE(doc["n"].isNull());
}

// yaml-cpp's conversion of `text` (a plain scalar) to T, or none when it throws.
template <class T>
std::optional<T> yamlCpp(const std::string& text) {
  try {
    return YAML::Load("v: " + text)["v"].as<T>();
  } catch (const YAML::BadConversion&) {
    return std::nullopt;
  }
}
template <class T>
std::optional<T> ours(const std::string& text) {
  try {
    return load("v: " + text)["v"].as<T>();
  } catch (const YAML::BadConversion&) {
    return std::nullopt;
  }
}

const std::vector<std::string> kScalars = {"0",
                                           "7",
                                           "-7",
                                           "010",
                                           "0x1F",
                                           "-0",
                                           "+5",
                                           "12a",
                                           "1.5",
                                           "-1.5e3",
                                           ".inf",
                                           "-.Inf",
                                           ".nan",
                                           "4294967295",
                                           "4294967296",
                                           "-2147483649",
                                           "9223372036854775807",
                                           "9223372036854775808",
                                           "18446744073709551615",
                                           "18446744073709551616",
                                           "123456789012345678901234",
                                           "true",
                                           "false",
                                           "True",
                                           "FALSE",
                                           "yes",
                                           "No",
                                           "on",
                                           "OFF",
                                           "y",
                                           "n",
                                           "tRue",
                                           "abc",
                                           "'8080'",
                                           "\"true\"",
                                           "''",
                                           "' 12'",
                                           "'12 '",
                                           "~",
                                           "null",
                                           "[1]",
                                           "{a: 1}",
                                           "00",
                                           "0.0",
                                           "1e400",
                                           "0o17",
                                           "1_000"};

TEST(YamlViewTest, ConvertsAsYamlCppDoes) {
  for (const std::string& text : kScalars) {
    SCOPED_TRACE(text);
    EXPECT_EQ(ours<int>(text), yamlCpp<int>(text));
    EXPECT_EQ(ours<uint32_t>(text), yamlCpp<uint32_t>(text));
    EXPECT_EQ(ours<int64_t>(text), yamlCpp<int64_t>(text));
    EXPECT_EQ(ours<uint64_t>(text), yamlCpp<uint64_t>(text));
    EXPECT_EQ(ours<long long>(text), yamlCpp<long long>(text));
    EXPECT_EQ(ours<bool>(text), yamlCpp<bool>(text));
    EXPECT_EQ(ours<std::string>(text), yamlCpp<std::string>(text));
    auto d = ours<double>(text);
    auto expected = yamlCpp<double>(text);
    ASSERT_EQ(d.has_value(), expected.has_value());
    if (d && std::isnan(*d)) {
      EXPECT_TRUE(std::isnan(*expected));
    } else {
      EXPECT_EQ(d, expected);
    }
  }
}

TEST(YamlViewTest, BadConversionsThrowYamlExceptions) {
  YamlView doc = load("port: http\nlist: [1]\nn: ~\n");
  EXPECT_THROW(doc["port"].as<uint32_t>(), YAML::BadConversion);
  EXPECT_THROW(doc["port"].as<bool>(), YAML::Exception);
  EXPECT_THROW(doc["list"].as<std::string>(), YAML::BadConversion);
  EXPECT_THROW(doc["list"].as<int>(), YAML::BadConversion);
  EXPECT_THROW(doc["missing"].as<std::string>(), YAML::BadConversion);
  EXPECT_THROW(doc["missing"].as<double>(), YAML::BadConversion);
  EXPECT_THROW(doc["n"].as<int>(), YAML::BadConversion);
  EXPECT_EQ(doc["n"].as<std::string>(), "null");  // as yaml-cpp reads a null
  try {
    doc["port"].as<int>();
    FAIL() << "no exception";
  } catch (const YAML::Exception& e) {
    EXPECT_NE(std::string(e.what()).find("bad conversion"), std::string::npos) << e.what();
  }
}

TEST(YamlViewTest, IteratesSequencesAndMaps) {
  YamlView doc = load("s: [a, b, c]\nm: {x: 1, y: 2}\nv: scalar\n");
  std::string seen;
  for (const auto& element : doc["s"]) seen += element.str();
  EXPECT_EQ(seen, "abc");
  seen.clear();
  for (const auto& entry : doc["m"]) {
    seen += entry.first.str() + "=" + entry.second.as<std::string>() + ";";
    EXPECT_FALSE(static_cast<const YamlView&>(entry));  // a map entry is not an element
  }
  EXPECT_EQ(seen, "x=1;y=2;");
  int count = 0;
  for (const auto& nothing : doc["v"]) count += nothing ? 1 : 0;
  for (const auto& nothing : doc["missing"]) count += nothing ? 1 : 0;
  EXPECT_EQ(count, 0);
}

TEST(YamlViewTest, ViewsAssignAndShareTheirDocument) {
  YamlView view;
  {
    Object object;
    object.document = documentFromYaml(YAML::Load("spec: {a: [1, 2]}"));
    Object copy = object;
    EXPECT_EQ(copy.document.get(), object.document.get());  // shared, not copied
    view = object.view()["spec"]["a"];
    YamlView other = copy.view()["spec"];
    other = view;  // rebinding, as pointers do; nothing written anywhere
    EXPECT_EQ(copy.view()["spec"]["a"].size(), 2u);
    EXPECT_EQ(other.size(), 2u);
  }
  // The Objects are gone; the view keeps the document.
  EXPECT_EQ(view[1].as<int>(), 2);
  EXPECT_FALSE(Object().view()["x"]);
  EXPECT_FALSE(Object().view());
}

}  // namespace
}  // namespace remora::pilot
