// Pilot's mesh-wide request normalization: the flags are checked, and their values reach the
// HTTP connection manager of every chain it generates, inbound (a pod with service ports) and
// outbound alike; without them the proxies' defaults apply (nothing is set, goldens unchanged).

#include "source/pilot/request_normalization.h"

#include "gtest/gtest.h"
#include "remora/config/listener/v1/listener.pb.h"
#include "remora/extensions/filters/network/http_connection_manager/v1/http_connection_manager.pb.h"

namespace remora::pilot {
namespace {

using extensions::filters::network::http_connection_manager::v1::HttpConnectionManager;
using extensions::filters::network::http_connection_manager::v1::PathNormalization;
using extensions::filters::network::http_connection_manager::v1::PathWithEscapedSlashesAction;

// Every HTTP connection manager of every listener, by listener name.
std::vector<std::pair<std::string, HttpConnectionManager>> managers(const Resources& resources) {
  std::vector<std::pair<std::string, HttpConnectionManager>> out;
  for (const auto& [name, any] : resources.listeners) {
    config::listener::v1::Listener listener;
    EXPECT_TRUE(any.UnpackTo(&listener));
    for (const auto& chain : listener.filter_chains()) {
      for (const auto& filter : chain.filters()) {
        if (filter.name() != "remora.filters.network.http_connection_manager") continue;
        HttpConnectionManager hcm;
        EXPECT_TRUE(filter.typed_config().UnpackTo(&hcm));
        out.emplace_back(name, hcm);
      }
    }
  }
  return out;
}

Resources translateMesh(const TranslateOptions& options) {
  std::vector<ManifestError> errors;
  auto objects = loadManifests("docs/examples/mesh", errors);
  EXPECT_TRUE(errors.empty());
  Translator translator(std::move(objects), options);
  return translator.translate("default", "reviews-v1");
}

TEST(RequestNormalizationTest, FlagsReachEveryHttpConnectionManager) {
  TranslateOptions options;
  std::string error;
  ASSERT_TRUE(
      parseRequestNormalizationFlag("--path-normalization", "MERGE_SLASHES", options, error));
  ASSERT_TRUE(parseRequestNormalizationFlag("--path-with-escaped-slashes-action",
                                            "UNESCAPE_AND_REDIRECT", options, error));
  EXPECT_EQ(error, "");
  EXPECT_EQ(requestNormalizationConflict(options), "");
  auto all = managers(translateMesh(options));
  int inbound = 0;
  int outbound = 0;
  for (const auto& [listener, hcm] : all) {
    EXPECT_EQ(hcm.path_normalization(), PathNormalization::MERGE_SLASHES)
        << listener << " " << hcm.stat_prefix();
    EXPECT_EQ(hcm.path_with_escaped_slashes_action(),
              PathWithEscapedSlashesAction::UNESCAPE_AND_REDIRECT)
        << listener << " " << hcm.stat_prefix();
    (listener == "inbound" ? inbound : outbound)++;
  }
  EXPECT_GT(inbound, 0);
  EXPECT_GT(outbound, 0);
}

TEST(RequestNormalizationTest, WithoutFlagsTheProxyDefaultsApply) {
  auto all = managers(translateMesh(TranslateOptions{}));
  ASSERT_FALSE(all.empty());
  for (const auto& [listener, hcm] : all) {
    EXPECT_EQ(hcm.path_normalization(), PathNormalization::DEFAULT) << listener;
    EXPECT_EQ(hcm.path_with_escaped_slashes_action(),
              PathWithEscapedSlashesAction::IMPLEMENTATION_SPECIFIC_DEFAULT)
        << listener;
  }
}

TEST(RequestNormalizationTest, FlagValuesAreChecked) {
  TranslateOptions options;
  std::string error;
  EXPECT_FALSE(parseRequestNormalizationFlag("--access-log", "x", options, error));
  EXPECT_TRUE(
      parseRequestNormalizationFlag("--path-normalization", "merge_slashes", options, error));
  EXPECT_NE(error.find("--path-normalization must be"), std::string::npos) << error;
  error.clear();
  EXPECT_TRUE(parseRequestNormalizationFlag("--path-normalization", "DEFAULT", options, error));
  EXPECT_NE(error, "");
  error.clear();
  EXPECT_TRUE(
      parseRequestNormalizationFlag("--path-with-escaped-slashes-action", "DROP", options, error));
  EXPECT_NE(error.find("--path-with-escaped-slashes-action must be"), std::string::npos) << error;
  options.path_normalization = "DECODE_AND_MERGE_SLASHES";
  options.path_with_escaped_slashes_action = "KEEP_UNCHANGED";
  EXPECT_NE(requestNormalizationConflict(options), "");
}

}  // namespace
}  // namespace remora::pilot
