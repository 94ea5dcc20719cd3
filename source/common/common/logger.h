#pragma once

// Process-wide leveled logging to stderr, one line per call, safe from any thread.
// Usage: REMORA_LOG(info, "listener %s bound to %s", name.c_str(), addr.c_str());

#include <atomic>
#include <optional>
#include <string_view>

namespace remora::log {

enum class Level { trace = 0, debug, info, warn, error, critical, off };

// Parses "trace".."critical", "off" (also "warning"); nullopt for anything else.
std::optional<Level> parseLevel(std::string_view name);
std::string_view levelName(Level level);

void setLevel(Level level);
Level level();
inline bool enabled(Level l) { return l >= level(); }

// printf-style; prefer the macro, which skips argument evaluation when the level is off.
void write(Level level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace remora::log

#define REMORA_LOG(LEVEL, ...)                                        \
  do {                                                                \
    if (::remora::log::enabled(::remora::log::Level::LEVEL)) {        \
      ::remora::log::write(::remora::log::Level::LEVEL, __VA_ARGS__); \
    }                                                                 \
  } while (0)
