// Parsing config text onto the schema: every kind of bad input gives one clear error naming the
// field path.

#include "gtest/gtest.h"
#include "remora/extensions/filters/network/tcp_proxy/v1/tcp_proxy.pb.h"
#include "source/common/config/bootstrap_loader.h"
#include "source/common/config/message_loader.h"
#include "source/common/config/yaml_to_json.h"

namespace remora::config {
namespace {

using bootstrap::v1::Bootstrap;

std::string parseError(const std::string& text) {
  // Keeps the filter's config type linked, so typed_config can name it.
  extensions::filters::network::tcp_proxy::v1::TcpProxy keep;
  (void)keep;
  Bootstrap bootstrap;
  Errors errors;
  EXPECT_FALSE(parseBootstrap(text, bootstrap, errors)) << text;
  return errors.joined();
}

TEST(YamlToJsonTest, ScalarsAreTypedByTheCoreSchema) {
  std::string json, error;
  ASSERT_TRUE(
      yamlToJson("{a: 123, b: '123', c: +12, d: 007, e: 0x1f, f: 0o17, g: 1.5, h: true,"
                 " i: False, j: null, k: ~, l: text, m: .inf, n: [1, x]}",
                 json, error))
      << error;
  EXPECT_EQ(json,
            "{\"a\":123,\"b\":\"123\",\"c\":12,\"d\":7,\"e\":31,\"f\":15,\"g\":1.5,\"h\":true,"
            "\"i\":false,\"j\":null,\"k\":null,\"l\":\"text\",\"m\":\"Infinity\",\"n\":[1,\"x\"]}");
}

TEST(YamlToJsonTest, StringsAreEscaped) {
  std::string json, error;
  ASSERT_TRUE(yamlToJson("a: \"q\\\"b\\\\n\\nt\\tc\\x01é\"", json, error)) << error;
  EXPECT_EQ(json, "{\"a\":\"q\\\"b\\\\n\\nt\\tc\\u0001é\"}");
}

TEST(YamlToJsonTest, Errors) {
  std::string json, error;
  EXPECT_FALSE(yamlToJson("a: 1\nb: 2\na: 3\n", json, error));
  EXPECT_EQ(error, "line 3, column 1: duplicate key \"a\"");
  EXPECT_FALSE(yamlToJson("a: 1\n---\nb: 2\n", json, error));
  EXPECT_EQ(error, "expected one YAML document, found 2");
  EXPECT_FALSE(yamlToJson("a: [1, 2\n", json, error));
  EXPECT_EQ(error.rfind("line ", 0), 0u) << error;
}

TEST(BootstrapLoaderTest, YamlAndJsonGiveTheSameConfig) {
  Bootstrap from_yaml, from_json;
  Errors errors;
  ASSERT_TRUE(
      parseBootstrap("node: {id: n1}\nadmin: {address: {socket_address: {address: "
                     "127.0.0.1, port_value: 15000}}}\n",
                     from_yaml, errors))
      << errors.joined();
  ASSERT_TRUE(parseBootstrap(R"({"node": {"id": "n1"}, "admin": {"address": {"socket_address":
      {"address": "127.0.0.1", "port_value": 15000}}}})",
                             from_json, errors))
      << errors.joined();
  EXPECT_EQ(from_yaml.SerializeAsString(), from_json.SerializeAsString());
  EXPECT_EQ(from_yaml.admin().address().socket_address().port_value(), 15000u);
}

TEST(BootstrapLoaderTest, UnknownFields) {
  EXPECT_EQ(parseError("bogus: 1"), "bogus: unknown field\n");
  EXPECT_EQ(parseError("static_resources: {clusters: [{name: a}, {name: b, bogus: 1}]}"),
            "static_resources.clusters[1].bogus: unknown field\n");
}

TEST(BootstrapLoaderTest, WrongTypes) {
  EXPECT_EQ(parseError("admin: {address: {socket_address: {port_value: abc}}}"),
            "admin.address.socket_address.port_value: invalid value \"abc\", expected a whole "
            "number from 0 to 4294967295\n");
  EXPECT_EQ(parseError("admin: {address: {socket_address: {port_value: -1}}}"),
            "admin.address.socket_address.port_value: invalid value -1, expected a whole number "
            "from 0 to 4294967295\n");
  EXPECT_EQ(parseError("node: {id: [1]}"), "node.id: must be a single value, not a list\n");
  EXPECT_EQ(parseError("node: 5"), "node: invalid value 5, expected a mapping\n");
}

TEST(BootstrapLoaderTest, BadDurationAndEnum) {
  EXPECT_EQ(parseError("static_resources: {clusters: [{name: a, connect_timeout: 5x}]}"),
            "static_resources.clusters[0].connect_timeout: Illegal duration format; duration "
            "must end with 's'; expected a duration such as \"5s\" or \"0.25s\"\n");
  EXPECT_EQ(parseError("static_resources: {clusters: [{name: a, lb_policy: FOO}]}"),
            "static_resources.clusters[0].lb_policy: invalid value \"FOO\", expected one of "
            "ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, MAGLEV, PEAK_EWMA\n");
}

TEST(BootstrapLoaderTest, TypedConfigErrors) {
  EXPECT_EQ(parseError("static_resources: {listeners: [{filter_chains: [{filters: [{name: x, "
                       "typed_config: {'@type': type.googleapis.com/nope.Nope}}]}]}]}"),
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config: unknown "
            "\"@type\" \"nope.Nope\" (not a config type this build knows)\n");
  EXPECT_EQ(
      parseError("static_resources: {listeners: [{filter_chains: [{filters: [{name: x, "
                 "typed_config: {'@type': type.googleapis.com/"
                 "remora.extensions.filters.network.tcp_proxy.v1.TcpProxy, clusterx: a}}]}]}]}"),
      "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.clusterx: unknown "
      "field\n");
}

TEST(BootstrapLoaderTest, ShapesAndEmptyInput) {
  EXPECT_EQ(parseError("static_resources: {listeners: {name: a}}"),
            "static_resources.listeners: must be a list\n");
  EXPECT_EQ(parseError(""), "the configuration is empty\n");
  EXPECT_EQ(parseError("- a\n- b\n"), "the configuration must be a mapping of fields\n");
  EXPECT_EQ(parseError("a: [1, 2\n").rfind("line ", 0), 0u);
}

TEST(BootstrapLoaderTest, UnreadableFiles) {
  Bootstrap bootstrap;
  Errors errors;
  EXPECT_FALSE(loadBootstrapFile("/nonexistent/remora.yaml", bootstrap, errors));
  EXPECT_EQ(errors.joined(), "/nonexistent/remora.yaml: cannot read: No such file or directory\n");
  Errors dir_errors;
  EXPECT_FALSE(loadBootstrapFile("/tmp", bootstrap, dir_errors));
  EXPECT_EQ(dir_errors.joined(), "/tmp: cannot read: it is a directory\n");
}

TEST(DescribeJsonErrorTest, RewritesProtobufMessages) {
  EXPECT_EQ(describeJsonError("INVALID_ARGUMENT:(a.b[2]) zzz: Cannot find field."),
            "a.b[2].zzz: unknown field");
  EXPECT_EQ(describeJsonError("INVALID_ARGUMENT:zzz: Cannot find field."), "zzz: unknown field");
  EXPECT_EQ(describeJsonError("something else"), "something else");
}

}  // namespace
}  // namespace remora::config
