#include "test/pilot/api_objects.h"

#include <regex>

namespace remora::pilot::testing {
namespace {

std::string quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string scalarJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") {
    return quote(text);  // quoted in the YAML
  }
  static const std::regex number(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?)");
  if (text == "true" || text == "false" || std::regex_match(text, number)) {
    return text;
  }
  if (text == "null" || text == "~") {
    return "null";
  }
  return quote(text);
}

// A kept document as a yaml-cpp node: scalars that read as null stay strings (quoted).
YAML::Node toYamlNode(const YamlView& view) {
  if (view.isMap()) {
    YAML::Node map(YAML::NodeType::Map);
    for (const auto& entry : view) map[toYamlNode(entry.first)] = toYamlNode(entry.second);
    return map;
  }
  if (view.isSequence()) {
    YAML::Node sequence(YAML::NodeType::Sequence);
    for (const auto& element : view) sequence.push_back(toYamlNode(element));
    return sequence;
  }
  if (view.isScalar()) {
    YAML::Node scalar(view.str());
    if (view.str() == "null" || view.str() == "~") scalar.SetTag("!");
    return scalar;
  }
  return YAML::Node(YAML::NodeType::Null);
}

// The EndpointSlices the EndpointSlice controller would make of an Endpoints object.
std::vector<YAML::Node> endpointSlices(const Object& endpoints) {
  std::vector<YAML::Node> slices;
  int subset_index = 0;
  for (const YAML::Node& subset : toYamlNode(endpoints.view())["subsets"]) {
    for (const char* field : {"addresses", "notReadyAddresses"}) {
      if (!subset[field] || subset[field].size() == 0) continue;
      bool ready = std::string(field) == "addresses";
      YAML::Node slice;
      char suffix[16];
      std::snprintf(suffix, sizeof(suffix), "-%02d-%s", subset_index, ready ? "a" : "n");
      slice["metadata"]["name"] = endpoints.name + suffix;
      slice["metadata"]["namespace"] = endpoints.ns;
      slice["metadata"]["labels"]["kubernetes.io/service-name"] = endpoints.name;
      slice["addressType"] = "IPv4";
      for (const YAML::Node& port : subset["ports"]) slice["ports"].push_back(port);
      for (const YAML::Node& address : subset[field]) {
        YAML::Node endpoint;
        endpoint["addresses"].push_back(address["ip"]);
        endpoint["conditions"]["ready"] = ready;
        if (address["hostname"]) endpoint["hostname"] = address["hostname"];
        if (address["targetRef"]) endpoint["targetRef"] = address["targetRef"];
        slice["endpoints"].push_back(endpoint);
      }
      slices.push_back(slice);
    }
    ++subset_index;
  }
  return slices;
}

}  // namespace

std::string yamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      std::string out = "{";
      for (const auto& member : node) {
        out += (out.size() > 1 ? "," : "") + quote(member.first.Scalar()) + ":" +
               yamlToJson(member.second);
      }
      return out + "}";
    }
    case YAML::NodeType::Sequence: {
      std::string out = "[";
      for (const auto& element : node) {
        out += (out.size() > 1 ? "," : "") + yamlToJson(element);
      }
      return out + "]";
    }
    case YAML::NodeType::Scalar:
      return scalarJson(node);
    default:
      return "null";
  }
}

std::string collectionPath(const kubernetes::ResourceKind& kind) {
  return kind.group.empty() ? "/api/v1/" + kind.plural
                            : "/apis/" + kind.group + "/v1/" + kind.plural;
}

ApiCollections apiCollections(const std::vector<Object>& objects) {
  ApiCollections out;
  for (const Object& object : objects) {
    std::vector<YAML::Node> items;
    std::string kind = object.kind;
    if (kind == "Endpoints") {
      items = endpointSlices(object);
      kind = "EndpointSlice";
    } else {
      YAML::Node copy = toYamlNode(object.view());
      copy.remove("kind");
      copy.remove("apiVersion");
      items.push_back(copy);
    }
    for (const kubernetes::ResourceKind& listed : kubernetes::meshResourceKinds()) {
      if (listed.kind != kind) continue;
      for (const YAML::Node& item : items) {
        out[collectionPath(listed)].push_back(yamlToJson(item));
      }
    }
  }
  return out;
}

void serveCollections(kubernetes::testing::FakeApiServer& server, const ApiCollections& collections,
                      size_t page_size) {
  for (const kubernetes::ResourceKind& kind : kubernetes::meshResourceKinds()) {
    if (!kind.group.empty()) {
      server.setGroup(kind.group, kubernetes::testing::apiGroup(kind.group, {"v1"}));
    }
    std::string path = collectionPath(kind);
    auto found = collections.find(path);
    std::vector<std::string> items =
        found != collections.end() ? found->second : std::vector<std::string>();
    std::vector<std::string> pages;
    for (size_t start = 0; start == 0 || start < items.size(); start += page_size) {
      size_t end = std::min(items.size(), start + page_size);
      std::string next = end < items.size() ? "page-" + std::to_string(pages.size() + 1) : "";
      pages.push_back(kubernetes::testing::listPage(
          std::vector<std::string>(items.begin() + start, items.begin() + end), "100", next));
    }
    server.setListPages(path, pages);
  }
}

}  // namespace remora::pilot::testing
