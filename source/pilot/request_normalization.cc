#include "source/pilot/request_normalization.h"

#include "remora/config/listener/v1/listener.pb.h"
#include "remora/extensions/filters/network/http_connection_manager/v1/http_connection_manager.pb.h"

namespace remora::pilot {
namespace {

using extensions::filters::network::http_connection_manager::v1::HttpConnectionManager;
using extensions::filters::network::http_connection_manager::v1::PathNormalization;
using extensions::filters::network::http_connection_manager::v1::PathWithEscapedSlashesAction;

constexpr const char* kHcm = "remora.filters.network.http_connection_manager";

}  // namespace

bool parseRequestNormalizationFlag(const std::string& flag, const std::string& value,
                                   TranslateOptions& options, std::string& error) {
  if (flag == "--path-normalization") {
    PathNormalization::Type mode;
    if (!PathNormalization::Type_Parse(value, &mode) || mode == PathNormalization::DEFAULT) {
      error =
          "--path-normalization must be NONE, BASE, MERGE_SLASHES or "
          "DECODE_AND_MERGE_SLASHES, not \"" +
          value + "\"";
    }
    options.path_normalization = value;
    return true;
  }
  if (flag == "--path-with-escaped-slashes-action") {
    PathWithEscapedSlashesAction::Type action;
    if (!PathWithEscapedSlashesAction::Type_Parse(value, &action) ||
        action == PathWithEscapedSlashesAction::IMPLEMENTATION_SPECIFIC_DEFAULT) {
      error =
          "--path-with-escaped-slashes-action must be KEEP_UNCHANGED, REJECT_REQUEST, "
          "UNESCAPE_AND_REDIRECT or UNESCAPE_AND_FORWARD, not \"" +
          value + "\"";
    }
    options.path_with_escaped_slashes_action = value;
    return true;
  }
  return false;
}

std::string requestNormalizationConflict(const TranslateOptions& options) {
  if (options.path_normalization == "DECODE_AND_MERGE_SLASHES" &&
      options.path_with_escaped_slashes_action == "KEEP_UNCHANGED") {
    return "--path-with-escaped-slashes-action KEEP_UNCHANGED contradicts --path-normalization "
           "DECODE_AND_MERGE_SLASHES, which decodes %2F and %5C (use MERGE_SLASHES to keep them)";
  }
  return "";
}

void applyRequestNormalization(const TranslateOptions& options, Resources& resources) {
  PathNormalization::Type mode = PathNormalization::DEFAULT;
  PathWithEscapedSlashesAction::Type action =
      PathWithEscapedSlashesAction::IMPLEMENTATION_SPECIFIC_DEFAULT;
  PathNormalization::Type_Parse(options.path_normalization, &mode);
  PathWithEscapedSlashesAction::Type_Parse(options.path_with_escaped_slashes_action, &action);
  if (mode == PathNormalization::DEFAULT &&
      action == PathWithEscapedSlashesAction::IMPLEMENTATION_SPECIFIC_DEFAULT) {
    return;
  }
  for (auto& [name, any] : resources.listeners) {
    config::listener::v1::Listener listener;
    if (!any.UnpackTo(&listener)) continue;
    for (auto& chain : *listener.mutable_filter_chains()) {
      for (auto& filter : *chain.mutable_filters()) {
        if (filter.name() != kHcm) continue;
        HttpConnectionManager hcm;
        if (!filter.typed_config().UnpackTo(&hcm)) continue;
        hcm.set_path_normalization(mode);
        hcm.set_path_with_escaped_slashes_action(action);
        filter.mutable_typed_config()->PackFrom(hcm);
      }
    }
    any.PackFrom(listener);
  }
}

}  // namespace remora::pilot
