#include "source/common/router/host_search_suffixes.h"

#include <algorithm>
#include <cctype>

namespace remora::router {
namespace {

// Why `suffix` (letters in any case) is not a DNS suffix, or "" when it is one.
std::string dnsSuffixProblem(std::string_view suffix) {
  if (suffix.empty()) return "must not be empty";
  if (suffix.front() == '.' || suffix.back() == '.') return "must not start or end with a dot";
  if (suffix.find('*') != std::string_view::npos) return "must not hold a wildcard \"*\"";
  if (suffix.find(':') != std::string_view::npos) return "must not carry a port";
  if (suffix.size() > HostSearchSuffixes::kMaxNameLength) {
    return "is longer than " + std::to_string(HostSearchSuffixes::kMaxNameLength) + " characters";
  }
  size_t start = 0;
  while (start <= suffix.size()) {
    size_t end = std::min(suffix.find('.', start), suffix.size());
    std::string_view label = suffix.substr(start, end - start);
    if (label.empty()) return "has an empty label (\"..\")";
    if (label.size() > 63) return "has a label longer than 63 characters";
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return std::string("has a character a DNS name cannot hold: '") + c + "'";
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return "has a label that starts or ends with '-'";
    }
    start = end + 1;
  }
  return "";
}

std::string replaceAll(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace

HostSearchSuffixes HostSearchSuffixes::create(
    const google::protobuf::RepeatedPtrField<std::string>& suffixes, const std::string& path,
    std::string_view node_namespace, config::Errors& errors) {
  HostSearchSuffixes result;
  for (int i = 0; i < suffixes.size(); ++i) {
    const std::string& given = suffixes[i];
    std::string spath = path + "[" + std::to_string(i) + "]";
    // The variable is checked as if it were a plain label, whatever this proxy's namespace.
    std::string problem = dnsSuffixProblem(replaceAll(given, kNamespaceVariable, "namespace"));
    if (!problem.empty()) {
      errors.add(spath, quoted(given) + " " + problem);
      continue;
    }
    if (std::find(suffixes.begin(), suffixes.begin() + i, given) != suffixes.begin() + i) {
      errors.add(spath, quoted(given) + " is listed twice");
      continue;
    }
    bool names_namespace = given.find(kNamespaceVariable) != std::string::npos;
    // A proxy outside any namespace has no namespace to search.
    if (names_namespace && node_namespace.empty()) continue;
    std::string resolved = replaceAll(given, kNamespaceVariable, node_namespace);
    std::transform(resolved.begin(), resolved.end(), resolved.begin(), asciiLower);
    if (names_namespace) {
      problem = dnsSuffixProblem(resolved);
      if (!problem.empty()) {
        errors.add(spath, quoted(given) + " with the node namespace " + quoted(node_namespace) +
                              " gives " + quoted(resolved) + ", which " + problem);
        continue;
      }
    }
    // "%NAMESPACE%.svc" and "default.svc" on a proxy in "default": searched once.
    if (std::find(result.suffixes_.begin(), result.suffixes_.end(), resolved) ==
        result.suffixes_.end()) {
      result.suffixes_.push_back(std::move(resolved));
    }
  }
  return result;
}

bool HostSearchSuffixes::expandable(std::string_view name) const {
  if (name.empty() || name.size() > kMaxNameLength || name.back() == '.') return false;
  // "[::1]" or a bare IPv6 address; dotted digits are an IPv4 address (no top-level domain is
  // all digits).
  if (name.front() == '[' || name.find(':') != std::string_view::npos) return false;
  if (name.find_first_not_of("0123456789.") == std::string_view::npos) return false;
  for (const std::string& suffix : suffixes_) {
    if (name.size() == suffix.size() && equalsIgnoringAsciiCase(name, suffix)) return false;
    if (name.size() > suffix.size() && endsWithIgnoringAsciiCase(name, suffix) &&
        name[name.size() - suffix.size() - 1] == '.') {
      return false;
    }
  }
  return true;
}

}  // namespace remora::router
