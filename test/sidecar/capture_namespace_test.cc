// `remora iptables` for real, in a network namespace this test creates (root only): the rules
// redirect the application's outbound TCP to 15001 with the original destination recoverable
// (SO_ORIGINAL_DST), exempt the proxy's uid and loopback, leave other rules alone, change
// nothing when run twice, and `clean` restores the table.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

using std::chrono::seconds;

// Accepts on a port; answers each connection with "<port> <original destination>" and closes.
constexpr const char* kServer = R"(
import socket, struct, sys
port = int(sys.argv[1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(16)
while True:
    c, _ = s.accept()
    try:
        d = c.getsockopt(socket.SOL_IP, 80, 16)  # SO_ORIGINAL_DST
        dport, ip = struct.unpack("!2xH4s8x", d)
        ip = socket.inet_ntoa(ip)
    except OSError:  # not tracked by conntrack: the connection was not translated
        ip, dport = c.getsockname()
    c.sendall(("%d %s:%d\n" % (port, ip, dport)).encode())
    c.close()
)";

// Connects (optionally as another uid) and prints what the server said.
constexpr const char* kClient = R"(
import os, socket, sys
if len(sys.argv) > 3:
    os.setgid(int(sys.argv[3])); os.setuid(int(sys.argv[3]))
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
sys.stdout.write(c.recv(200).decode())
)";

class CaptureNamespaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::getuid() != 0) GTEST_SKIP() << "needs root (network namespaces, iptables)";
    for (const char* tool : {"/usr/sbin/ip", "/usr/sbin/iptables", "/usr/bin/python3"}) {
      if (access(tool, X_OK) != 0) GTEST_SKIP() << tool << " not installed";
    }
    ns_ = "remora-cap-" + std::to_string(::getpid());
    dir_ = makeTempDir();
    writeFile(dir_ + "/server.py", kServer);
    writeFile(dir_ + "/client.py", kClient);
    auto added = sh("ip netns add " + ns_);
    ASSERT_EQ(added.exit_code, 0) << added.output;
    created_ = true;
    // A pod-like namespace: loopback, one interface in the test range, a default route through
    // it (nothing is reachable beyond: the interface's peer is in the same namespace).
    for (const std::string& step :
         {"ip -n " + ns_ + " link set lo up",
          "ip -n " + ns_ + " link add d0 type veth peer name d1",
          "ip -n " + ns_ + " addr add 198.18.0.2/16 dev d0", "ip -n " + ns_ + " link set d0 up",
          "ip -n " + ns_ + " link set d1 up", "ip -n " + ns_ + " route add default dev d0"}) {
      auto result = sh(step);
      ASSERT_EQ(result.exit_code, 0) << step << ": " << result.output;
    }
  }

  void TearDown() override {
    for (pid_t pid : servers_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (created_) sh("ip netns del " + ns_);
  }

  CommandResult sh(const std::string& line) { return runCommand({"/bin/sh", "-c", line}); }
  CommandResult inNs(const std::string& line) { return sh("ip netns exec " + ns_ + " " + line); }
  std::string natTable() {
    // Rules only: counters and comments vary between runs.
    return inNs("iptables-save -t nat | grep -v '^#' | sed 's/\\[[0-9:]*\\]//'").output;
  }
  CommandResult capture(const std::string& args) {
    return inNs(remoraBinary() + " iptables " + args);
  }
  void startServer(int port) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::string script = dir_ + "/server.py";
      std::string port_text = std::to_string(port);
      ::execl("/usr/sbin/ip", "ip", "netns", "exec", ns_.c_str(), "/usr/bin/python3",
              script.c_str(), port_text.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    servers_.push_back(pid);
  }
  // What a client connecting to ip:port from inside the namespace hears.
  std::string connect(const std::string& ip, int port, int uid = -1) {
    std::string line = "/usr/bin/python3 " + dir_ + "/client.py " + ip + " " +
                       std::to_string(port) + (uid >= 0 ? " " + std::to_string(uid) : "");
    return inNs(line).output;
  }

  std::string ns_;
  std::string dir_;
  bool created_ = false;
  std::vector<pid_t> servers_;
};

TEST_F(CaptureNamespaceTest, RedirectsTheApplicationNotTheProxy) {
  ASSERT_EQ(inNs("iptables -t nat -A OUTPUT -p udp -j ACCEPT").exit_code, 0);
  const std::string before = natTable();

  auto first = capture("--no-ipv6");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const std::string installed = natTable();
  auto second = capture("--no-ipv6");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(natTable(), installed) << "running it twice changed the rules";
  EXPECT_NE(installed.find("-A OUTPUT -p udp -j ACCEPT"), std::string::npos) << installed;

  startServer(15001);
  startServer(15999);
  ASSERT_TRUE(
      waitFor([&] { return connect("127.0.0.1", 15001).rfind("15001 ", 0) == 0; }, seconds(10)));
  ASSERT_TRUE(
      waitFor([&] { return connect("127.0.0.1", 15999).rfind("15999 ", 0) == 0; }, seconds(10)));

  // The application's connections land on 15001, where the original destination is known.
  EXPECT_EQ(connect("198.19.0.7", 9080), "15001 198.19.0.7:9080\n");
  EXPECT_EQ(connect("198.18.0.2", 15999), "15001 198.18.0.2:15999\n");
  // The proxy's own (uid 1337) go where they were going: no loop.
  EXPECT_EQ(connect("198.18.0.2", 15999, 1337), "15999 198.18.0.2:15999\n");
  // Loopback is never captured.
  EXPECT_EQ(connect("127.0.0.1", 15999), "15999 127.0.0.1:15999\n");

  auto clean = capture("clean --no-ipv6");
  ASSERT_EQ(clean.exit_code, 0) << clean.output;
  EXPECT_EQ(natTable(), before);
  EXPECT_EQ(connect("198.18.0.2", 15999), "15999 198.18.0.2:15999\n");
  // Cleaning what is not there is fine.
  EXPECT_EQ(capture("clean --no-ipv6").exit_code, 0);
}

TEST_F(CaptureNamespaceTest, ExcludedDestinationsAndPortsAreNotCaptured) {
  auto result = capture(
      "--no-ipv6 --exclude-outbound-cidrs 198.18.0.0/24 "
      "--exclude-outbound-ports 9443");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  startServer(15001);
  ASSERT_TRUE(
      waitFor([&] { return connect("127.0.0.1", 15001).rfind("15001 ", 0) == 0; }, seconds(10)));
  EXPECT_EQ(connect("198.19.0.7", 9080), "15001 198.19.0.7:9080\n");
  // 198.18.0.2 is excluded: the connection goes to the address itself, where nothing listens.
  EXPECT_EQ(connect("198.18.0.2", 9080).find("15001"), std::string::npos);
  EXPECT_EQ(connect("198.19.0.7", 9443).find("15001"), std::string::npos);
}

// The proxy itself on IPv6: `remora iptables` with ip6tables redirects the application's
// connection to [fd00:1::2]:8080 to the proxy's [::]:15001, whose original_dst filter reads
// IP6T_SO_ORIGINAL_DST so the chain for fd00:1::/64 port 8080 matches and tcp_proxy's
// ORIGINAL_DST cluster connects (as uid 1337, not captured) to the echo server there.
TEST_F(CaptureNamespaceTest, ProxyRecoversIpv6OriginalDestination) {
  for (const char* tool : {"/usr/bin/socat", "/usr/bin/setpriv", "/usr/sbin/ip6tables"}) {
    if (access(tool, X_OK) != 0) GTEST_SKIP() << tool << " not installed";
  }
  ASSERT_EQ(inNs("ip addr add fd00:1::2/64 dev d0 nodad").exit_code, 0);
  ASSERT_EQ(inNs("ip -6 route add default dev d0").exit_code, 0);
  auto installed = capture("");
  ASSERT_EQ(installed.exit_code, 0) << installed.output;
  ASSERT_NE(inNs("ip6tables-save -t nat").output.find("REMORA_REDIRECT"), std::string::npos);

  // uid 1337 cannot read the test's runfiles: binary and bootstrap go to a world-readable place.
  std::string shared = "/tmp/remora-cap6-" + std::to_string(::getpid());
  ASSERT_EQ(sh("rm -rf " + shared + " && mkdir -m 755 " + shared + " && cp " + remoraBinary() +
               " " + shared + "/remora && chmod 755 " + shared + "/remora")
                .exit_code,
            0);
  writeFile(shared + "/bootstrap.yaml", R"(
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: outbound
    address: {socket_address: {address: "::", port_value: 15001}}
    listener_filters:
    - name: remora.filters.listener.original_dst
      typed_config: {"@type": type.googleapis.com/remora.extensions.filters.listener.original_dst.v1.OriginalDst}
    filter_chains:
    - filter_chain_match:
        destination_port: 8080
        prefix_ranges: [{address_prefix: "fd00:1::", prefix_len: 64}]
      filters:
      - name: remora.filters.network.tcp_proxy
        typed_config: {"@type": type.googleapis.com/remora.extensions.filters.network.tcp_proxy.v1.TcpProxy, stat_prefix: v6, cluster: passthrough}
  clusters:
  - {name: passthrough, type: ORIGINAL_DST, connect_timeout: 2s}
)");
  ASSERT_EQ(sh("chmod 644 " + shared + "/bootstrap.yaml").exit_code, 0);
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"/usr/sbin/ip", "netns", "exec", ns_, "/usr/bin/socat",
                                 "TCP6-LISTEN:8080,fork,reuseaddr", "EXEC:/bin/cat"},
        std::vector<std::string>{"/usr/sbin/ip", "netns", "exec", ns_, "/usr/bin/setpriv",
                                 "--reuid=1337", "--regid=1337", "--clear-groups",
                                 shared + "/remora", "-c", shared + "/bootstrap.yaml",
                                 "--concurrency", "1"}}) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    servers_.push_back(pid);
  }
  auto echo = [&] {
    return inNs("sh -c \"printf hello6 | /usr/bin/socat -t 2 - 'TCP6:[fd00:1::2]:8080'\"").output;
  };
  EXPECT_TRUE(waitFor([&] { return echo() == "hello6"; }, seconds(10))) << echo();
  sh("rm -rf " + shared);
}

}  // namespace
}  // namespace remora::test
