#include "source/pilot/kubernetes/bearer_token.h"

#include "source/pilot/kubernetes/connection_config.h"

namespace remora::pilot::kubernetes {

BearerToken::BearerToken(std::string token_file, std::string static_token,
                         std::chrono::milliseconds refresh_interval)
    : token_file_(std::move(token_file)),
      refresh_interval_(refresh_interval),
      token_(std::move(static_token)) {}

std::string BearerToken::current() {
  std::lock_guard lock(mutex_);
  if (!token_file_.empty() && Clock::now() >= next_read_) {
    if (auto text = readFileText(token_file_); text.ok()) {
      std::string token = text.value();
      size_t first = token.find_first_not_of(" \t\r\n");
      size_t last = token.find_last_not_of(" \t\r\n");
      token_ = first == std::string::npos ? "" : token.substr(first, last - first + 1);
    }
    next_read_ = Clock::now() + refresh_interval_;
  }
  return token_;
}

void BearerToken::invalidate() {
  std::lock_guard lock(mutex_);
  next_read_ = Clock::time_point();
}

}  // namespace remora::pilot::kubernetes
