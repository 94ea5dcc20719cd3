#include "filters/listener/original_dst/original_dst.h"

#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "remora/extensions/filters/listener/original_dst/v1/original_dst.pb.h"
#include "source/common/config/registry.h"
#include "source/interface/config/filter_factory.h"

namespace remora::filters::original_dst {

std::optional<network::Address> originalDestination(int fd, int family) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  int rc = family == AF_INET6 ? getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &len)
                              : getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &len);
  if (rc != 0) return std::nullopt;
  return network::Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

network::ListenerFilterStatus OriginalDstFilter::onAccept(
    network::ListenerFilterCallbacks& callbacks) {
  auto& socket = callbacks.socket();
  auto original = originalDestination(socket.fd(), socket.localAddress().family());
  if (original && !(*original == socket.localAddress())) socket.restoreLocalAddress(*original);
  return network::ListenerFilterStatus::kContinue;
}

namespace {

class OriginalDstConfigFactory : public config::ListenerFilterConfigFactory {
 public:
  std::string name() const override { return "remora.filters.listener.original_dst"; }
  std::unique_ptr<google::protobuf::Message> createEmptyConfig() const override {
    return std::make_unique<extensions::filters::listener::original_dst::v1::OriginalDst>();
  }
  network::ListenerFilterFactoryCb createFilterFactory(const google::protobuf::Message&,
                                                       const std::string&, config::FactoryContext&,
                                                       config::Errors&) const override {
    return [] { return std::make_unique<OriginalDstFilter>(); };
  }
};

const config::RegisterFactory<OriginalDstConfigFactory, config::ListenerFilterConfigFactory>
    registered;

}  // namespace
}  // namespace remora::filters::original_dst
