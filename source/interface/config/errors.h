#pragma once

// Config errors as values: each names the field path and the reason, e.g.
// `static_resources.clusters[1].connect_timeout: must be positive`.

#include <string>
#include <string_view>
#include <vector>

namespace remora::config {

class Errors {
 public:
  void add(std::string_view path, std::string_view reason) {
    std::string line(path);
    if (!line.empty()) line += ": ";
    line += reason;
    lines_.push_back(std::move(line));
  }
  bool empty() const { return lines_.empty(); }
  const std::vector<std::string>& lines() const { return lines_; }
  // All lines, one per line.
  std::string joined() const {
    std::string out;
    for (const auto& l : lines_) out += l + "\n";
    return out;
  }

 private:
  std::vector<std::string> lines_;
};

}  // namespace remora::config
