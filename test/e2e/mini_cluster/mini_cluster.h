#pragma once

// A Kubernetes-like mini-cluster made of network namespaces, for end-to-end tests of sidecar
// mode (root only). Layout:
//
//   root namespace: bridge with 198.18.0.1/16, remora-pilot on 198.18.0.1:15012 (CA and
//     discovery over TLS; sidecars present their workload certificates; no plaintext port)
//   each pod: a network namespace joined to the bridge by a veth pair, its own IP in
//     198.18.0.0/16, a route to the service ClusterIP range 198.19.0.0/16 through the bridge
//     address, and nothing else (no default route: no way off the machine);
//   a pod with a sidecar: `remora iptables` capture rules, and remora running as uid 1337
//     with a bootstrap naming the pod (node.workload) and pilot as its control plane.
//
// Names resolve through a hosts file per pod (/etc/netns/<ns>/hosts, which `ip netns exec`
// mounts over /etc/hosts) listing every service's ClusterIP under all the names a pod may
// use; /etc/netns/<ns>/resolv.conf carries the cluster search domains. Pilot gets the
// Service, Endpoints and Pod manifests the harness writes from what it created.
//
// One mini-cluster per machine at a time (it owns 198.18.0.0/16 in the root namespace): the
// Bazel target is tagged exclusive.

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "test/integration/proxy_process.h"

namespace remora::test::e2e {

struct ServicePort {
  std::string name;  // its prefix is the protocol hint (http, tcp, ...)
  uint16_t port = 0;
};

struct Service {
  std::string name;
  std::string cluster_ip;  // in 198.19.0.0/16
  std::map<std::string, std::string> selector;
  std::vector<ServicePort> ports;
};

class MiniCluster {
 public:
  struct Pod {
    std::string name;
    std::string ip;
    std::string netns;
    std::map<std::string, std::string> labels;
    bool sidecar = false;
    std::string service_account;  // its `app` label, else "default"
    // The root-namespace end of its veth pair: its port on the bridge (capture point for what
    // goes to and from the pod).
    std::string bridge_port;
    bool ready = true;  // false: listed under notReadyAddresses (a terminating pod)
    pid_t sidecar_pid = -1;
    std::string sidecar_log;
    std::vector<pid_t> apps;
    // host:port of the sidecar's readiness (15021), reachable from the root namespace (never
    // captured). Its admin (15000) is bound to 127.0.0.1 in the pod: see adminGet().
    std::string readiness() const { return ip + ":15021"; }
  };

  MiniCluster() = default;
  ~MiniCluster();
  MiniCluster(const MiniCluster&) = delete;
  MiniCluster& operator=(const MiniCluster&) = delete;

  // Workload certificates are asked for with this lifetime (e.g. "20s"; default: the CA's).
  // Set before adding pods.
  void setCertificateTtl(std::string ttl) { certificate_ttl_ = std::move(ttl); }
  // Sidecars started from now on get this many file descriptors (RLIMIT_NOFILE, soft and
  // hard; 0: the harness's own limit).
  void setSidecarFileLimit(int limit) { sidecar_file_limit_ = limit; }

  // Creates the bridge and starts pilot (with `pilot_args` added) with its CA on 15012 and a
  // token-signing key whose tokens it trusts. False with `error` set.
  bool start(const std::vector<std::string>& pilot_args, std::string& error);

  // The services pilot and the hosts files know; call before adding pods.
  void addService(const Service& service) { services_.push_back(service); }
  // Creates a pod (and with `sidecar`, its capture rules and proxy, then waits until the
  // proxy is ready). Rewrites the manifests so pilot knows it.
  bool addPod(const std::string& name, const std::string& ip,
              std::map<std::string, std::string> labels, bool sidecar, std::string& error);
  Pod& pod(const std::string& name) { return *pods_.at(name); }
  // What Kubernetes does when a pod starts terminating: its address moves to
  // notReadyAddresses in the Endpoints (pilot stops sending traffic there).
  void setPodReady(const std::string& name, bool ready);

  // One HTTP request with curl from a pod (`extra`: more curl arguments before the URL):
  // "<status> <body>" with the body's trailing newlines removed, "000 " when it failed.
  std::string httpGet(const std::string& pod, const std::string& url,
                      const std::vector<std::string>& extra = {});
  // Runs a command in a pod's namespace (as root, so it is captured) and waits for it.
  CommandResult exec(const std::string& pod, const std::vector<std::string>& argv);
  // Starts a long-running process in a pod's namespace; its output goes to `log`.
  pid_t spawn(const std::string& pod, const std::vector<std::string>& argv, const std::string& log);
  struct NginxOptions {
    // The address nginx listens on ("" = all of the pod's addresses), e.g. "127.0.0.1" for an
    // application meant to be private to its pod.
    std::string bind_address;
    // Record every request it gets (requestLog()).
    bool record_requests = false;
  };
  // Starts nginx in a pod answering every request on `port` with `body`.
  pid_t runNginx(const std::string& pod, uint16_t port, const std::string& body,
                 const NginxOptions& options);
  pid_t runNginx(const std::string& pod, uint16_t port, const std::string& body) {
    return runNginx(pod, port, body, NginxOptions{});
  }
  // What a recording nginx (NginxOptions::record_requests) received so far, one line per
  // request as the application saw it: `client address|request line|Host|x-forwarded-client-cert`.
  std::string requestLog(const std::string& pod, uint16_t port) const;
  // Starts a TCP echo server (socat) in a pod on `port`.
  pid_t runEcho(const std::string& pod, uint16_t port);

  // Adds or replaces a manifest file (pilot picks it up); "" removes it.
  void writeManifest(const std::string& file, const std::string& yaml);
  // The body of GET `path` on a sidecar's admin, read from inside the pod (admin listens on
  // 127.0.0.1 there); "" when it does not answer.
  std::string adminGet(const std::string& pod, const std::string& path);
  // Waits until the sidecar's /config_dump contains `text` (a pushed change arrived).
  bool waitForConfig(const std::string& pod, const std::string& text,
                     std::chrono::milliseconds timeout);
  // Sum of the samples of `metric` whose labels contain `label_text` in a sidecar's metrics.
  double metric(const std::string& pod, const std::string& metric,
                const std::string& label_text = "");

  // The lines of a sidecar's metrics containing `text` (for failure messages).
  std::string metricLines(const std::string& pod, const std::string& text);

  const std::string& dir() const { return dir_; }
  // The bridge every pod is joined to.
  const std::string& bridge() const { return bridge_; }
  // Starts a process in the root namespace (e.g. tcpdump on the bridge); output to `log`. The
  // caller stops it (stopProcess).
  pid_t spawnRoot(const std::vector<std::string>& argv, const std::string& log);
  // SIGINT, then waits for it to exit (SIGKILL after 5 s).
  void stopProcess(pid_t pid);
  std::string pilotLog() const;

 private:
  bool sh(const std::string& command, std::string& error);
  void writeManifests();
  std::string hostsFile() const;

  std::string tag_;  // unique per test process: names of namespaces and links
  std::string bridge_;
  std::string dir_;     // world-readable: the proxies (uid 1337) read their files here
  std::string remora_;  // a copy of the proxy binary uid 1337 may execute
  std::string manifests_;
  std::string certificate_ttl_;
  int sidecar_file_limit_ = 0;
  pid_t pilot_pid_ = -1;
  bool bridge_created_ = false;
  bool forward_rule_ = false;
  std::vector<Service> services_;
  std::map<std::string, std::unique_ptr<Pod>> pods_;
  std::vector<std::string> pod_order_;
};

}  // namespace remora::test::e2e
