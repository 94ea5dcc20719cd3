#pragma once

// The bearer token sent to the API server. A token file (a projected service-account token)
// is rotated by the kubelet while pilot runs, so it is read again every `refresh_interval` and
// right after the server answered 401. Thread-safe: every reflector thread shares one.

#include <chrono>
#include <mutex>
#include <string>

namespace remora::pilot::kubernetes {

class BearerToken {
 public:
  using Clock = std::chrono::steady_clock;

  // `token_file` empty: `static_token` always (possibly empty: no Authorization header).
  BearerToken(std::string token_file, std::string static_token,
              std::chrono::milliseconds refresh_interval = std::chrono::seconds(60));

  // The token to send now (surrounding whitespace removed). A file that cannot be read keeps
  // the last token read: better an old token, answered 401, than none.
  std::string current();

  // The server said 401: the next current() reads the file again.
  void invalidate();

 private:
  const std::string token_file_;
  const std::chrono::milliseconds refresh_interval_;
  std::mutex mutex_;
  std::string token_;
  Clock::time_point next_read_;  // epoch: read on first use
};

}  // namespace remora::pilot::kubernetes
