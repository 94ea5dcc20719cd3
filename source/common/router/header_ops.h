#pragma once

// Header additions and removals configured at route-config, virtual-host or route level.

#include <string>
#include <utility>
#include <vector>

#include "remora/config/route/v1/route.pb.h"
#include "source/interface/http/header_map.h"

namespace remora::router {

class HeaderOps {
 public:
  HeaderOps() = default;
  HeaderOps(const google::protobuf::RepeatedPtrField<config::route::v1::HeaderValueOption>& add,
            const google::protobuf::RepeatedPtrField<std::string>& remove);
  // Removes first, then sets or appends.
  void apply(http::HeaderMap& headers) const;
  bool empty() const { return set_.empty() && append_.empty() && remove_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> set_;
  std::vector<std::pair<std::string, std::string>> append_;
  std::vector<std::string> remove_;
};

}  // namespace remora::router
