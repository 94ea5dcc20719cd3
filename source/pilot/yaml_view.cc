#include "source/pilot/yaml_view.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <type_traits>

namespace remora::pilot {
namespace {

// A plain decimal integer reads the same under yaml-cpp's stream conversion and from_chars;
// everything else (hex, octal, signs, spaces, overflow, floats, bools) goes to yaml-cpp itself,
// so its rules hold exactly without being rewritten here.
template <class T>
bool plainDecimal(std::string_view text, T& out) {
  if (text.empty() || text.size() > 18) return false;
  size_t start = std::is_signed_v<T> && text[0] == '-' ? 1 : 0;
  if (start == text.size() || text[start] < '1' || text[start] > '9') {
    return text == "0" ? (out = 0, true) : false;
  }
  for (size_t i = start; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

template <class T>
T convertScalar(const YamlView& view) {
  if (!view.isScalar()) throw YAML::TypedBadConversion<T>(YAML::Mark::null_mark());
  std::string_view text = view.text();
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    T value;
    if (plainDecimal(text, value)) return value;
  }
  try {
    return YAML::Node(std::string(text)).as<T>();
  } catch (const YAML::BadConversion&) {
    // yaml-cpp's message would carry the position of the temporary node: none.
    throw YAML::TypedBadConversion<T>(YAML::Mark::null_mark());
  }
}

}  // namespace

YamlView YamlView::operator[](std::string_view key) const {
  if (!document_) return {};
  auto found = document_->find(node_, key);
  return found ? YamlView(document_, *found) : YamlView();
}

YamlView YamlView::operator[](size_t index) const {
  if (!isSequence() || index >= size()) return {};
  return YamlView(document_, document_->element(node_, index));
}

YamlEntry YamlView::Iterator::operator*() const {
  YamlEntry entry;
  if (document_->type(container_) == CompactDocument::Type::kMap) {
    entry.first = YamlView(document_, document_->entryKey(container_, position_));
    entry.second = YamlView(document_, document_->entryValue(container_, position_));
  } else {
    static_cast<YamlView&>(entry) = YamlView(document_, document_->element(container_, position_));
  }
  return entry;
}

template <>
std::string YamlView::as<std::string>() const {
  if (isNull()) return "null";  // yaml-cpp's reading of a null
  if (!isScalar()) throw YAML::TypedBadConversion<std::string>(YAML::Mark::null_mark());
  return str();
}

template <>
bool YamlView::as<bool>() const {
  if (isScalar()) {
    // The common spellings first; yaml-cpp decides the rest.
    if (text() == "true") return true;
    if (text() == "false") return false;
  }
  return convertScalar<bool>(*this);
}

template <>
int YamlView::as<int>() const {
  return convertScalar<int>(*this);
}
template <>
unsigned YamlView::as<unsigned>() const {
  return convertScalar<unsigned>(*this);
}
template <>
long YamlView::as<long>() const {
  return convertScalar<long>(*this);
}
template <>
unsigned long YamlView::as<unsigned long>() const {
  return convertScalar<unsigned long>(*this);
}
template <>
long long YamlView::as<long long>() const {
  return convertScalar<long long>(*this);
}
template <>
unsigned long long YamlView::as<unsigned long long>() const {
  return convertScalar<unsigned long long>(*this);
}
template <>
double YamlView::as<double>() const {
  return convertScalar<double>(*this);
}

}  // namespace remora::pilot
