#pragma once

// How the translator's golden files are written: the errors, then every resource as JSON, by
// type and name (translator_golden_test.cc, kubernetes_config_source_test.cc).

#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "source/pilot/translator.h"

namespace remora::pilot::testing {

inline std::string renderGolden(const std::vector<ManifestError>& manifest_errors,
                                const Translator& translator, const std::string& ns,
                                const std::string& pod) {
  std::string out = "# errors\n";
  for (const auto& e : manifest_errors) out += e.message + "\n";
  for (const auto& e : translator.errors()) out += e.message + "\n";
  Resources resources = translator.translate(ns, pod);
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  print.preserve_proto_field_names = true;
  for (const auto& [type, map] :
       std::vector<std::pair<std::string, const std::map<std::string, google::protobuf::Any>*>>{
           {"clusters", &resources.clusters},
           {"endpoints", &resources.endpoints},
           {"routes", &resources.routes},
           {"listeners", &resources.listeners}}) {
    out += "# " + type + "\n";
    for (const auto& [name, any] : *map) {
      std::string json;
      auto status = google::protobuf::util::MessageToJsonString(any, &json, print);
      out += "## " + name + "\n" + (status.ok() ? json : std::string(status.message())) + "\n";
    }
  }
  return out;
}

inline std::string readGoldenFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace remora::pilot::testing
