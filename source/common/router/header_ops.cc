#include "source/common/router/header_ops.h"

#include <algorithm>

namespace remora::router {
namespace {
std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}
}  // namespace

HeaderOps::HeaderOps(
    const google::protobuf::RepeatedPtrField<config::route::v1::HeaderValueOption>& add,
    const google::protobuf::RepeatedPtrField<std::string>& remove) {
  for (const auto& option : add) {
    auto entry = std::make_pair(lower(option.header().key()), option.header().value());
    (option.append() ? append_ : set_).push_back(std::move(entry));
  }
  for (const auto& name : remove) remove_.push_back(lower(name));
}

void HeaderOps::apply(http::HeaderMap& headers) const {
  for (const auto& name : remove_) headers.remove(name);
  for (const auto& [name, value] : set_) headers.set(name, value);
  for (const auto& [name, value] : append_) headers.add(name, value);
}

}  // namespace remora::router
