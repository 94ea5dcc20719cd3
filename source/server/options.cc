#include "source/server/options.h"

#include <charconv>
#include <limits>
#include <optional>
#include <sstream>
#include <string_view>

#include "source/common/common/logger.h"
#include "source/server/version.h"

namespace remora::server {
namespace {

constexpr uint32_t kMaxConcurrency = 1024;

enum class FlagId {
  kConfigPath,
  kConfigYaml,
  kMode,
  kConcurrency,
  kLogLevel,
  kDrainTime,
  kMinDrainTime,
  kAdminAddressPath,
  kMaxDownstreamConnections,
  kHelp,
  kVersion
};

struct Flag {
  FlagId id;
  std::string_view long_name;   // with the leading "--"
  std::string_view short_name;  // "-c", or empty
  std::string_view metavar;     // empty for flags without a value
  std::string_view help;
};

// One table drives both parsing and --help, so the two cannot disagree.
constexpr Flag kFlags[] = {
    {FlagId::kConfigPath, "--config-path", "-c", "FILE", "bootstrap config file (YAML or JSON)"},
    {FlagId::kConfigYaml, "--config-yaml", "", "TEXT", "bootstrap config given inline as YAML"},
    {FlagId::kMode, "--mode", "", "serve|validate",
     "serve traffic (default), or only check the config and exit"},
    {FlagId::kConcurrency, "--concurrency", "", "N",
     "worker threads, 1..1024 (default: the container's CPU limit)"},
    {FlagId::kLogLevel, "--log-level", "-l", "LEVEL",
     "trace|debug|info|warn|error|critical|off (default: info)"},
    {FlagId::kDrainTime, "--drain-time-s", "", "N",
     "on shutdown, seconds open connections may take to finish (default: 5)"},
    {FlagId::kMinDrainTime, "--min-drain-time-s", "", "N",
     "on shutdown, seconds to keep serving even with nothing open (default: 0)"},
    {FlagId::kAdminAddressPath, "--admin-address-path", "", "FILE",
     "write the bound admin address (IP:PORT) to FILE"},
    {FlagId::kMaxDownstreamConnections, "--max-downstream-connections", "", "N",
     "downstream connections open at once over all listeners, 0 for no limit (default: the "
     "bootstrap's max_downstream_connections, else derived from the descriptor limit)"},
    {FlagId::kHelp, "--help", "-h", "", "print this help and exit"},
    {FlagId::kVersion, "--version", "", "", "print the version and exit"},
};

const Flag* findFlag(std::string_view name) {
  for (const Flag& flag : kFlags) {
    if (name == flag.long_name || (!flag.short_name.empty() && name == flag.short_name)) {
      return &flag;
    }
  }
  return nullptr;
}

// True if `arg` would be parsed as a flag, so "-c --mode validate" reports a missing value
// instead of reading "--mode" as a file name. Values that start with "--" need "--flag=value".
bool looksLikeFlag(std::string_view arg) {
  return (arg.size() > 2 && arg.starts_with("--")) || (arg.size() == 2 && findFlag(arg));
}

// Decimal digits only: no sign, no spaces, no trailing garbage.
std::optional<uint32_t> parseUint32(std::string_view text, uint32_t min, uint32_t max) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(value);
}

std::string assignNonEmpty(std::string_view value, std::string& field) {
  if (value.empty()) return "value must not be empty";
  field = value;
  return "";
}

// Stores `value` for `flag`. Returns an error message, or an empty string on success.
std::string applyValue(const Flag& flag, std::string_view value, Options& options) {
  auto quoted = [&] { return "\"" + std::string(value) + "\""; };
  switch (flag.id) {
    case FlagId::kConfigPath:
      return assignNonEmpty(value, options.config_path);
    case FlagId::kConfigYaml:
      return assignNonEmpty(value, options.config_yaml);
    case FlagId::kAdminAddressPath:
      return assignNonEmpty(value, options.admin_address_path);
    case FlagId::kMode:
      if (value == "serve") {
        options.mode = Mode::kServe;
      } else if (value == "validate") {
        options.mode = Mode::kValidate;
      } else {
        return "expected serve or validate, got " + quoted();
      }
      return "";
    case FlagId::kConcurrency:
      if (auto n = parseUint32(value, 1, kMaxConcurrency)) {
        options.concurrency = *n;
        return "";
      }
      return "expected an integer from 1 to " + std::to_string(kMaxConcurrency) + ", got " +
             quoted();
    case FlagId::kDrainTime:
      if (auto n = parseUint32(value, 0, std::numeric_limits<uint32_t>::max())) {
        options.drain_time_s = *n;
        return "";
      }
      return "expected a whole number of seconds, got " + quoted();
    case FlagId::kMinDrainTime:
      if (auto n = parseUint32(value, 0, std::numeric_limits<uint32_t>::max())) {
        options.min_drain_time_s = *n;
        return "";
      }
      return "expected a whole number of seconds, got " + quoted();
    case FlagId::kMaxDownstreamConnections:
      if (auto n = parseUint32(value, 0, std::numeric_limits<uint32_t>::max())) {
        options.max_downstream_connections = *n;
        return "";
      }
      return "expected a whole number of connections, got " + quoted();
    case FlagId::kLogLevel:
      if (auto level = log::parseLevel(value)) {
        options.log_level = log::levelName(*level);
        return "";
      }
      return "expected trace, debug, info, warn, warning, error, critical or off, got " + quoted();
    case FlagId::kHelp:
      options.show_help = true;
      return "";
    case FlagId::kVersion:
      options.show_version = true;
      return "";
  }
  return "unhandled flag";
}

}  // namespace

ParseOutcome parseOptions(int argc, const char* const* argv, Options& options, std::ostream& out,
                          std::ostream& err) {
  auto fail = [&err](std::string_view what, std::string_view message) {
    err << "remora: " << what << ": " << message << "\n"
        << "Try 'remora --help' for the list of flags.\n";
    return ParseOutcome::kError;
  };

  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    std::string_view name = arg;
    std::optional<std::string_view> inline_value;
    if (arg.size() > 2 && arg.starts_with("--")) {
      if (size_t eq = arg.find('='); eq != std::string_view::npos) {
        name = arg.substr(0, eq);
        inline_value = arg.substr(eq + 1);
      }
    } else if (!(arg.size() == 2 && arg[0] == '-' && arg[1] != '-')) {
      return fail(arg, "unexpected argument; remora takes only flags");
    }

    const Flag* flag = findFlag(name);
    if (flag == nullptr) return fail(name, "unknown flag");

    std::string_view value;
    if (!flag->metavar.empty()) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < argc && !looksLikeFlag(argv[i + 1])) {
        value = argv[++i];
      } else {
        return fail(name, "missing value (" + std::string(flag->metavar) + ")");
      }
    } else if (inline_value) {
      return fail(name, "takes no value");
    }
    if (std::string error = applyValue(*flag, value, options); !error.empty()) {
      return fail(name, error);
    }
  }

  if (options.show_help) {
    out << usageText();
    return ParseOutcome::kExitSuccess;
  }
  if (options.show_version) {
    out << "remora " << kRemoraVersion << "\n";
    return ParseOutcome::kExitSuccess;
  }
  if (options.config_path.empty() && options.config_yaml.empty()) {
    return fail("--config-path", "no config given; pass -c FILE or --config-yaml TEXT");
  }
  if (!options.config_path.empty() && !options.config_yaml.empty()) {
    return fail("--config-yaml", "give only one of --config-path and --config-yaml");
  }
  if (options.min_drain_time_s > options.drain_time_s) {
    return fail("--min-drain-time-s", std::to_string(options.min_drain_time_s) +
                                          " is longer than --drain-time-s (" +
                                          std::to_string(options.drain_time_s) + ")");
  }
  return ParseOutcome::kOk;
}

std::string usageText() {
  std::ostringstream text;
  text << "Usage: remora (-c FILE | --config-yaml TEXT) [flags]\n\n"
       << "Remora " << kRemoraVersion << ", a service-mesh sidecar proxy.\n\n"
       << "Flags:\n";
  for (const Flag& flag : kFlags) {
    std::string names = flag.short_name.empty() ? "    " : std::string(flag.short_name) + ", ";
    names += flag.long_name;
    if (!flag.metavar.empty()) names += " " + std::string(flag.metavar);
    text << "  " << names;
    // Align help text in one column; overlong names get their help on the next line.
    constexpr size_t kColumn = 38;
    if (names.size() + 2 < kColumn) {
      text << std::string(kColumn - 2 - names.size(), ' ');
    } else {
      text << "\n" << std::string(kColumn, ' ');
    }
    text << flag.help << "\n";
  }
  text << "\nValues go as \"--flag value\" or \"--flag=value\"; use the second form for values\n"
       << "that start with \"--\".\n";
  return text.str();
}

}  // namespace remora::server
