#include "source/common/common/logger.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace remora::log {
namespace {
std::atomic<Level> g_level{Level::info};
constexpr std::string_view kNames[] = {"trace", "debug",    "info", "warn",
                                       "error", "critical", "off"};
}  // namespace

std::optional<Level> parseLevel(std::string_view name) {
  if (name == "warning") return Level::warn;
  for (int i = 0; i <= static_cast<int>(Level::off); ++i) {
    if (kNames[i] == name) return static_cast<Level>(i);
  }
  return std::nullopt;
}

std::string_view levelName(Level level) { return kNames[static_cast<int>(level)]; }

void setLevel(Level level) { g_level.store(level, std::memory_order_relaxed); }
Level level() { return g_level.load(std::memory_order_relaxed); }

void write(Level level, const char* format, ...) {
  char line[2048];
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc;
  gmtime_r(&now.tv_sec, &utc);
  char thread_name[16] = "?";
  pthread_getname_np(pthread_self(), thread_name, sizeof(thread_name));
  int n = std::snprintf(line, sizeof(line), "[%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ][%s][%s] ",
                        utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                        utc.tm_sec, now.tv_nsec / 1000000, levelName(level).data(), thread_name);
  va_list args;
  va_start(args, format);
  int m = std::vsnprintf(line + n, sizeof(line) - n - 1, format, args);
  va_end(args);
  size_t len = n + (m < 0 ? 0 : std::min<size_t>(m, sizeof(line) - n - 2));
  line[len++] = '\n';
  // One write(2) per line keeps lines from different threads whole.
  ssize_t ignored = ::write(STDERR_FILENO, line, len);
  (void)ignored;
}

}  // namespace remora::log
