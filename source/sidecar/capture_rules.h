#pragma once

// Traffic capture for a sidecar (what `remora iptables` installs in the pod's network namespace,
// as an init container would): nat-table rules that send the pod's outbound TCP to the proxy's
// outbound listener and inbound TCP to its inbound listener, in chains of their own so nothing
// else in the table is touched.
//
//   PREROUTING -p tcp -> REMORA_INBOUND:    the proxy ports other pods may reach (readiness)
//                                           RETURN; the proxy's other ports -> REMORA_IN_REDIRECT
//                                           (whatever the include list says: the inbound
//                                           listener refuses them); excluded ports RETURN; the
//                                           included ports (default all) -> REMORA_IN_REDIRECT
//   OUTPUT -p tcp     -> REMORA_OUTPUT:     the proxy's own uid/gid, the inbound passthrough's
//                                           source 127.0.0.6 on lo, loopback destinations and
//                                           excluded CIDRs and ports RETURN; included ports and
//                                           CIDRs (default all) -> REMORA_REDIRECT
//   REMORA_IN_REDIRECT: REDIRECT to the inbound port (15006)
//   REMORA_REDIRECT:    REDIRECT to the outbound port (15001)
//
// Pure functions: this file builds and checks the rules; capture_main.cc runs them.

#include <cstdint>
#include <string>
#include <vector>

namespace remora::sidecar {

enum class Family { kIPv4, kIPv6 };

struct CaptureOptions {
  uint16_t outbound_port = 15001;
  uint16_t inbound_port = 15006;
  // Traffic of the proxy itself (it runs under this uid) is never captured: no loop.
  uint32_t proxy_uid = 1337;
  int64_t proxy_gid = -1;  // also exempt when >= 0
  // "*" means every destination.
  std::vector<std::string> include_outbound_cidrs = {"*"};
  std::vector<std::string> exclude_outbound_cidrs;
  // Redirected whatever the destination address.
  std::vector<uint16_t> include_outbound_ports;
  std::vector<uint16_t> exclude_outbound_ports;
  bool all_inbound_ports = true;  // else only include_inbound_ports
  std::vector<uint16_t> include_inbound_ports;
  std::vector<uint16_t> exclude_inbound_ports;
  // The proxy's ports that other pods may connect to directly (readiness): never captured.
  // A port listed here must be one the proxy listens on, or capture would leave it open to
  // whatever else binds it.
  std::vector<uint16_t> reachable_proxy_ports = {15021};
  // The proxy's other ports besides the two capture ports (admin 15000, 15020, DNS 15053):
  // connections from outside the pod to them are redirected to the inbound port, whose
  // listener refuses them, never handed to the proxy port itself.
  std::vector<uint16_t> private_proxy_ports = {15000, 15020, 15053};
  bool ipv6 = true;  // also install the rules with ip6tables
};

// The proxy's ports that capture sends to the inbound port when they come from outside the
// pod: the outbound and inbound ports and `private_proxy_ports`, sorted, without the reachable
// ones.
std::vector<uint16_t> privateProxyPorts(const CaptureOptions& options);

// The source address of the proxy's inbound passthrough connections to the application (as
// Istio's 127.0.0.6; on IPv6 ::6): its OUTPUT on lo is never captured.
const char* inboundPassthroughSource(Family family);

// One iptables invocation, without the program name (e.g. {"-t", "nat", "-N", "X"}).
using Command = std::vector<std::string>;

// Rules for one family, to run after removeCommands(). Addresses of the other family in the
// CIDR lists are skipped.
std::vector<Command> installCommands(const CaptureOptions& options, Family family);

// Jumps from the built-in chains into ours: removed while present (each may have been added
// more than once by other tools' retries).
std::vector<Command> jumpRules();
// Our chains, flushed then deleted; absent ones are fine.
const std::vector<std::string>& chainNames();

enum class CaptureMode { kInstall, kClean };
struct CaptureRequest {
  CaptureMode mode = CaptureMode::kInstall;
  bool dry_run = false;
  CaptureOptions options;
};

// Parses `remora iptables [clean] [flags]` (argv after "iptables"). Returns false with one
// line per problem in `errors`, each naming the flag and the bad value.
bool parseCaptureArgs(const std::vector<std::string>& args, CaptureRequest& request,
                      std::vector<std::string>& errors);

// Usage text of the subcommand.
std::string captureUsage();

// Whether `cidr` is "a.b.c.d[/n]" or an IPv6 address with an optional prefix; `family` set.
bool parseCidr(const std::string& cidr, Family& family, std::string& error);

}  // namespace remora::sidecar
