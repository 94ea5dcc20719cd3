#pragma once

// Restores the original destination of a socket redirected by netfilter (SO_ORIGINAL_DST for
// IPv4, IP6T_SO_ORIGINAL_DST for IPv6). Never stops the chain: the answer is immediate.

#include <optional>

#include "source/interface/network/address.h"
#include "source/interface/network/listener_filter.h"

namespace remora::filters::original_dst {

// The pre-NAT destination of an accepted socket; nullopt when the kernel has none for it
// (not redirected, or conntrack not loaded).
std::optional<network::Address> originalDestination(int fd, int family);

class OriginalDstFilter : public network::ListenerFilter {
 public:
  network::ListenerFilterStatus onAccept(network::ListenerFilterCallbacks& callbacks) override;
};

}  // namespace remora::filters::original_dst
