// The evdns-based resolver against a fake DNS server on loopback: records and TTLs, address
// families, failures, search domains with ndots, cancellation, literals.

#include "source/common/network/dns_resolver.h"

#include <fstream>

#include "gtest/gtest.h"
#include "test/common/network/fake_dns_server.h"
#include "test/common/network/test_utils.h"

namespace remora::network {
namespace {

using Family = DnsResolver::Family;
using Status = DnsResolver::Status;
using test::runUntil;

class DnsResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/remora-dns-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    std::string path = std::string(dir) + "/resolv.conf";
    std::ofstream(path) << "nameserver 127.0.0.1:" << server_.port()
                        << "\nsearch default.svc.cluster.local svc.cluster.local cluster.local\n"
                           "options ndots:5\n";
    DnsResolver::Options options;
    options.resolv_conf = path;
    options.timeout = std::chrono::milliseconds(200);
    options.attempts = 1;
    resolver_ = std::make_unique<DnsResolver>(dispatcher_, options);
    ASSERT_EQ(resolver_->setupError(), "");
  }

  struct Result {
    bool done = false;
    Status status = Status::kFailure;
    std::string message;
    std::vector<std::string> ips;
    std::vector<int64_t> ttls;
  };
  Result resolve(const std::string& name, Family family) {
    Result result;
    auto query = resolver_->resolve(name, family,
                                    [&](Status status, const std::string& message, auto records) {
                                      result.done = true;
                                      result.status = status;
                                      result.message = message;
                                      for (auto& r : records) {
                                        result.ips.push_back(r.ip);
                                        result.ttls.push_back(r.ttl.count());
                                      }
                                    });
    EXPECT_TRUE(runUntil(dispatcher_, [&] { return result.done; })) << name;
    return result;
  }

  event::LibeventDispatcher dispatcher_{"main"};
  test::FakeDnsServer server_;
  std::unique_ptr<DnsResolver> resolver_;
};

TEST_F(DnsResolverTest, EveryARecordWithItsTtl) {
  server_.add("web.example.com", "198.18.0.1", 30);
  server_.add("web.example.com", "198.18.0.2", 30);
  auto result = resolve("web.example.com.", Family::kV4Only);
  EXPECT_EQ(result.status, Status::kSuccess);
  EXPECT_EQ(result.ips, (std::vector<std::string>{"198.18.0.1", "198.18.0.2"}));
  EXPECT_EQ(result.ttls, (std::vector<int64_t>{30, 30}));
}

TEST_F(DnsResolverTest, AddressFamilies) {
  server_.add("dual.example.com", "198.18.0.3", 10);
  server_.add("dual.example.com", "2001:db8::3", 20);
  server_.add("v6.example.com", "2001:db8::4", 20);
  EXPECT_EQ(resolve("dual.example.com.", Family::kV6Only).ips,
            (std::vector<std::string>{"2001:db8::3"}));
  auto all = resolve("dual.example.com.", Family::kAll);
  std::sort(all.ips.begin(), all.ips.end());
  EXPECT_EQ(all.ips, (std::vector<std::string>{"198.18.0.3", "2001:db8::3"}));
  // Auto: IPv4 when there is any, else IPv6.
  EXPECT_EQ(resolve("dual.example.com.", Family::kAuto).ips,
            (std::vector<std::string>{"198.18.0.3"}));
  EXPECT_EQ(resolve("v6.example.com.", Family::kAuto).ips,
            (std::vector<std::string>{"2001:db8::4"}));
}

TEST_F(DnsResolverTest, FailuresAreReported) {
  auto missing = resolve("missing.example.com.", Family::kV4Only);
  EXPECT_EQ(missing.status, Status::kNoSuchName);
  EXPECT_FALSE(missing.message.empty());
  server_.drop("slow.example.com");
  auto slow = resolve("slow.example.com.", Family::kV4Only);
  EXPECT_EQ(slow.status, Status::kTimeout) << slow.message;
}

TEST_F(DnsResolverTest, ShortNamesUseTheSearchDomainsLikeAPod) {
  server_.add("reviews.default.svc.cluster.local", "198.19.0.10", 5);
  auto result = resolve("reviews", Family::kV4Only);
  EXPECT_EQ(result.status, Status::kSuccess);
  EXPECT_EQ(result.ips, (std::vector<std::string>{"198.19.0.10"}));
  EXPECT_EQ(server_.queries().front(), "reviews.default.svc.cluster.local/A");
  // Fewer dots than ndots: the search list is walked before the name as is.
  server_.add("ratings.prod.svc.cluster.local", "198.19.0.11", 5);
  EXPECT_EQ(resolve("ratings.prod", Family::kV4Only).ips,
            (std::vector<std::string>{"198.19.0.11"}));
  // A trailing dot is absolute: no search domain is tried.
  size_t before = server_.queries().size();
  EXPECT_EQ(resolve("reviews.", Family::kV4Only).status, Status::kNoSuchName);
  auto queries = server_.queries();
  ASSERT_EQ(queries.size(), before + 1);
  EXPECT_EQ(queries.back(), "reviews/A");
}

TEST_F(DnsResolverTest, CancelledQueriesNeverCallBack) {
  server_.drop("hang.example.com");
  bool called = false;
  auto query = resolver_->resolve("hang.example.com.", Family::kV4Only,
                                  [&](Status, const std::string&, auto) { called = true; });
  query->cancel();
  query.reset();
  runUntil(
      dispatcher_, [] { return false; }, std::chrono::milliseconds(400));
  EXPECT_FALSE(called);
}

TEST_F(DnsResolverTest, LiteralsNeedNoQuery) {
  auto result = resolve("198.18.0.9", Family::kAuto);
  EXPECT_EQ(result.status, Status::kSuccess);
  EXPECT_EQ(result.ips, (std::vector<std::string>{"198.18.0.9"}));
  EXPECT_TRUE(server_.queries().empty());
}

}  // namespace
}  // namespace remora::network
