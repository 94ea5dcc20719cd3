#include "source/sidecar/capture_rules.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace remora::sidecar {
namespace {

constexpr const char* kInbound = "REMORA_INBOUND";
constexpr const char* kInRedirect = "REMORA_IN_REDIRECT";
constexpr const char* kOutput = "REMORA_OUTPUT";
constexpr const char* kRedirect = "REMORA_REDIRECT";

Command nat(std::initializer_list<std::string> args) {
  Command command = {"-t", "nat"};
  command.insert(command.end(), args);
  return command;
}

std::vector<std::string> split(const std::string& value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string::npos) comma = value.size();
    std::string item = value.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

bool parsePort(const std::string& text, uint16_t& port) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return false;
  }
  port = static_cast<uint16_t>(value);
  return true;
}

bool parsePorts(const std::string& flag, const std::string& value, std::vector<uint16_t>& out,
                std::vector<std::string>& errors) {
  out.clear();
  for (const auto& item : split(value)) {
    uint16_t port = 0;
    if (!parsePort(item, port)) {
      errors.push_back(flag + ": \"" + item + "\" is not a port (1..65535)");
      return false;
    }
    out.push_back(port);
  }
  return true;
}

bool parseCidrs(const std::string& flag, const std::string& value, bool star_allowed,
                std::vector<std::string>& out, std::vector<std::string>& errors) {
  out.clear();
  for (const auto& item : split(value)) {
    if (item == "*") {
      if (!star_allowed) {
        errors.push_back(flag + ": \"*\" is not allowed here");
        return false;
      }
      out.push_back(item);
      continue;
    }
    Family family;
    std::string error;
    if (!parseCidr(item, family, error)) {
      errors.push_back(flag + ": \"" + item + "\": " + error);
      return false;
    }
    out.push_back(item);
  }
  return true;
}

bool inFamily(const std::string& cidr, Family family) {
  Family f;
  std::string error;
  return parseCidr(cidr, f, error) && f == family;
}

}  // namespace

bool parseCidr(const std::string& cidr, Family& family, std::string& error) {
  size_t slash = cidr.find('/');
  std::string address = cidr.substr(0, slash);
  unsigned char buffer[16];
  unsigned max_prefix;
  if (inet_pton(AF_INET, address.c_str(), buffer) == 1) {
    family = Family::kIPv4;
    max_prefix = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), buffer) == 1) {
    family = Family::kIPv6;
    max_prefix = 128;
  } else {
    error = "not an IPv4 or IPv6 address";
    return false;
  }
  if (slash == std::string::npos) return true;
  std::string prefix = cidr.substr(slash + 1);
  unsigned length = 0;
  auto [end, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), length);
  if (prefix.empty() || ec != std::errc() || end != prefix.data() + prefix.size() ||
      length > max_prefix) {
    error = "prefix length must be 0.." + std::to_string(max_prefix);
    return false;
  }
  return true;
}

std::vector<uint16_t> privateProxyPorts(const CaptureOptions& options) {
  std::vector<uint16_t> ports = options.private_proxy_ports;
  ports.push_back(options.outbound_port);
  ports.push_back(options.inbound_port);
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  std::erase_if(ports, [&](uint16_t port) {
    return std::find(options.reachable_proxy_ports.begin(), options.reachable_proxy_ports.end(),
                     port) != options.reachable_proxy_ports.end();
  });
  return ports;
}

const char* inboundPassthroughSource(Family family) {
  return family == Family::kIPv4 ? "127.0.0.6/32" : "::6/128";
}

std::vector<Command> jumpRules() {
  return {nat({"PREROUTING", "-p", "tcp", "-j", kInbound}),
          nat({"OUTPUT", "-p", "tcp", "-j", kOutput})};
}

const std::vector<std::string>& chainNames() {
  static const std::vector<std::string> names = {kInbound, kInRedirect, kOutput, kRedirect};
  return names;
}

std::vector<Command> installCommands(const CaptureOptions& o, Family family) {
  std::vector<Command> out;
  for (const auto& chain : chainNames()) out.push_back(nat({"-N", chain}));
  out.push_back(nat({"-A", kInRedirect, "-p", "tcp", "-j", "REDIRECT", "--to-ports",
                     std::to_string(o.inbound_port)}));
  out.push_back(nat({"-A", kRedirect, "-p", "tcp", "-j", "REDIRECT", "--to-ports",
                     std::to_string(o.outbound_port)}));

  // Inbound: everything arriving for the pod except readiness. The proxy's other ports are
  // redirected too, before any exclusion: a connection from another pod straight to 15001 or
  // 15006 would otherwise be served by the proxy as if the pod had made it (its identity, its
  // original destination: itself). At 15006 the inbound listener refuses them.
  for (uint16_t port : o.reachable_proxy_ports) {
    out.push_back(
        nat({"-A", kInbound, "-p", "tcp", "--dport", std::to_string(port), "-j", "RETURN"}));
  }
  for (uint16_t port : privateProxyPorts(o)) {
    out.push_back(
        nat({"-A", kInbound, "-p", "tcp", "--dport", std::to_string(port), "-j", kInRedirect}));
  }
  for (uint16_t port : o.exclude_inbound_ports) {
    out.push_back(
        nat({"-A", kInbound, "-p", "tcp", "--dport", std::to_string(port), "-j", "RETURN"}));
  }
  if (o.all_inbound_ports) {
    out.push_back(nat({"-A", kInbound, "-p", "tcp", "-j", kInRedirect}));
  } else {
    for (uint16_t port : o.include_inbound_ports) {
      out.push_back(
          nat({"-A", kInbound, "-p", "tcp", "--dport", std::to_string(port), "-j", kInRedirect}));
    }
  }

  // Outbound: what the application sends; the proxy's own traffic goes out as it is.
  out.push_back(nat(
      {"-A", kOutput, "-m", "owner", "--uid-owner", std::to_string(o.proxy_uid), "-j", "RETURN"}));
  if (o.proxy_gid >= 0) {
    out.push_back(nat({"-A", kOutput, "-m", "owner", "--gid-owner", std::to_string(o.proxy_gid),
                       "-j", "RETURN"}));
  }
  // The inbound passthrough's connections to the application (from 127.0.0.6 to the pod IP,
  // over lo) are the proxy's too; this holds even if the proxy's uid were misconfigured.
  out.push_back(
      nat({"-A", kOutput, "-s", inboundPassthroughSource(family), "-o", "lo", "-j", "RETURN"}));
  const char* loopback = family == Family::kIPv4 ? "127.0.0.1/32" : "::1/128";
  out.push_back(nat({"-A", kOutput, "-d", loopback, "-j", "RETURN"}));
  for (const auto& cidr : o.exclude_outbound_cidrs) {
    if (inFamily(cidr, family)) out.push_back(nat({"-A", kOutput, "-d", cidr, "-j", "RETURN"}));
  }
  for (uint16_t port : o.exclude_outbound_ports) {
    out.push_back(
        nat({"-A", kOutput, "-p", "tcp", "--dport", std::to_string(port), "-j", "RETURN"}));
  }
  for (uint16_t port : o.include_outbound_ports) {
    out.push_back(
        nat({"-A", kOutput, "-p", "tcp", "--dport", std::to_string(port), "-j", kRedirect}));
  }
  for (const auto& cidr : o.include_outbound_cidrs) {
    if (cidr == "*") {
      out.push_back(nat({"-A", kOutput, "-j", kRedirect}));
    } else if (inFamily(cidr, family)) {
      out.push_back(nat({"-A", kOutput, "-d", cidr, "-j", kRedirect}));
    }
  }

  // Last, the jumps: the chains are complete before any packet can reach them.
  for (auto jump : jumpRules()) {
    jump.insert(jump.begin() + 2, "-A");
    out.push_back(std::move(jump));
  }
  return out;
}

std::string captureUsage() {
  return R"(Usage: remora iptables [clean] [flags]

Installs (or with `clean` removes) the nat-table rules that capture a pod's TCP traffic for its
sidecar. Run it in the pod's network namespace as root (an init container). Running it again
replaces the rules; nothing outside the REMORA_* chains is touched.

Flags:
  --dry-run                        print the iptables commands instead of running them
  --proxy-uid UID                  the proxy's uid; its traffic is not captured (1337)
  --proxy-gid GID                  also exempt this gid
  --outbound-port PORT             where outbound TCP goes (15001)
  --inbound-port PORT              where inbound TCP goes (15006)
  --include-outbound-cidrs LIST    destinations to capture, comma separated; * = all (*)
  --exclude-outbound-cidrs LIST    destinations never captured
  --include-outbound-ports LIST    ports captured whatever the destination
  --exclude-outbound-ports LIST    ports never captured
  --include-inbound-ports LIST     inbound ports to capture; * = all (*)
  --exclude-inbound-ports LIST     inbound ports never captured (not the proxy's ports)
  --reachable-proxy-ports LIST     the proxy's ports other pods may connect to directly,
                                   never captured (15021, readiness)
  --private-proxy-ports LIST       the proxy's other ports besides the outbound and inbound
                                   ones (15000,15020,15053): from outside the pod they are
                                   redirected to the inbound port, which refuses them
  --no-ipv6                        IPv4 rules only (default: also ip6tables)

Inbound, only the reachable proxy ports and --exclude-inbound-ports are left alone; the
proxy's other ports always go to the inbound listener, which refuses them. Outbound, loopback
destinations and the inbound passthrough's source (127.0.0.6, ::6 on lo) are never captured.
)";
}

bool parseCaptureArgs(const std::vector<std::string>& args, CaptureRequest& request,
                      std::vector<std::string>& errors) {
  CaptureOptions& o = request.options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "clean" && i == 0) {
      request.mode = CaptureMode::kClean;
      continue;
    }
    if (arg == "--dry-run") {
      request.dry_run = true;
      continue;
    }
    if (arg == "--no-ipv6") {
      o.ipv6 = false;
      continue;
    }
    // Flags with a value: --flag VALUE or --flag=VALUE.
    std::string flag = arg;
    std::string value;
    size_t eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else if (arg.rfind("--", 0) == 0) {
      if (i + 1 >= args.size()) {
        errors.push_back(flag + ": needs a value");
        return false;
      }
      value = args[++i];
    } else {
      errors.push_back("unexpected argument \"" + arg + "\"");
      continue;
    }
    if (flag == "--proxy-uid" || flag == "--proxy-gid") {
      unsigned id = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), id);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
        errors.push_back(flag + ": \"" + value + "\" is not a numeric id");
        continue;
      }
      if (flag == "--proxy-uid") {
        o.proxy_uid = id;
      } else {
        o.proxy_gid = id;
      }
    } else if (flag == "--outbound-port" || flag == "--inbound-port") {
      uint16_t port = 0;
      if (!parsePort(value, port)) {
        errors.push_back(flag + ": \"" + value + "\" is not a port (1..65535)");
        continue;
      }
      (flag == "--outbound-port" ? o.outbound_port : o.inbound_port) = port;
    } else if (flag == "--include-outbound-cidrs") {
      parseCidrs(flag, value, true, o.include_outbound_cidrs, errors);
    } else if (flag == "--exclude-outbound-cidrs") {
      parseCidrs(flag, value, false, o.exclude_outbound_cidrs, errors);
    } else if (flag == "--include-outbound-ports") {
      parsePorts(flag, value, o.include_outbound_ports, errors);
    } else if (flag == "--exclude-outbound-ports") {
      parsePorts(flag, value, o.exclude_outbound_ports, errors);
    } else if (flag == "--include-inbound-ports") {
      o.all_inbound_ports = split(value) == std::vector<std::string>{"*"};
      if (!o.all_inbound_ports) parsePorts(flag, value, o.include_inbound_ports, errors);
    } else if (flag == "--exclude-inbound-ports") {
      parsePorts(flag, value, o.exclude_inbound_ports, errors);
    } else if (flag == "--reachable-proxy-ports") {
      parsePorts(flag, value, o.reachable_proxy_ports, errors);
    } else if (flag == "--private-proxy-ports") {
      parsePorts(flag, value, o.private_proxy_ports, errors);
    } else {
      errors.push_back("unknown flag \"" + flag + "\"");
    }
  }
  if (o.outbound_port == o.inbound_port) {
    errors.push_back("--outbound-port and --inbound-port must differ");
  }
  // Leaving a capture port reachable would let other pods use the proxy as the pod itself.
  for (uint16_t port : {o.outbound_port, o.inbound_port}) {
    for (const auto* list : {&o.exclude_inbound_ports, &o.reachable_proxy_ports}) {
      if (std::find(list->begin(), list->end(), port) == list->end()) continue;
      errors.push_back(std::string(list == &o.exclude_inbound_ports ? "--exclude-inbound-ports"
                                                                    : "--reachable-proxy-ports") +
                       ": " + std::to_string(port) +
                       " is a capture port of the proxy; other pods must not reach it");
    }
  }
  return errors.empty();
}

}  // namespace remora::sidecar
