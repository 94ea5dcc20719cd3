#include "test/e2e/mini_cluster/mini_cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "test/integration/test_net.h"

namespace remora::test::e2e {
namespace {

constexpr const char* kGateway = "198.18.0.1";
// Pilot's plaintext discovery port (--listen): sidecars use discovery over TLS on 15012, and
// nothing needs a port that would serve any node's configuration to anyone.
constexpr const char* kPilotPlaintextListen = "off";

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void writeAtomically(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp~";
  std::ofstream(tmp) << content;
  ::chmod(tmp.c_str(), 0644);
  std::rename(tmp.c_str(), path.c_str());
}

bool selects(const std::map<std::string, std::string>& selector,
             const std::map<std::string, std::string>& labels) {
  if (selector.empty()) return false;
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

std::string labelsYaml(const std::map<std::string, std::string>& labels) {
  std::string out = "{";
  for (const auto& [key, value] : labels) out += (out.size() > 1 ? ", " : "") + key + ": " + value;
  return out + "}";
}

pid_t spawnProcess(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

void killAndReap(pid_t pid) {
  if (pid <= 0) return;
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace

bool MiniCluster::sh(const std::string& command, std::string& error) {
  auto result = runCommand({"/bin/sh", "-c", command});
  if (result.exit_code != 0) {
    error = command + ": " + result.output;
    return false;
  }
  return true;
}

bool MiniCluster::start(const std::vector<std::string>& pilot_args, std::string& error) {
  // Unique per cluster, short enough for interface names (15 characters): links of a
  // namespace deleted a moment ago may still be going away.
  static int clusters = 0;
  tag_ = "r" + std::to_string(::getpid() % 100000) + "c" + std::to_string(++clusters);
  bridge_ = tag_ + "br";
  dir_ = "/tmp/remora-e2e-" + tag_;
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_ + "/manifests");
  ::chmod(dir_.c_str(), 0755);
  remora_ = dir_ + "/remora";
  std::filesystem::copy_file(remoraBinary(), remora_);
  ::chmod(remora_.c_str(), 0755);
  manifests_ = dir_ + "/manifests";
  auto routes = runCommand({"/bin/sh", "-c", "ip -4 route show 198.18.0.0/16"});
  if (!routes.output.empty()) {
    error = "198.18.0.0/16 is already routed on this machine (" + routes.output +
            "): another mini-cluster running, or a leftover bridge";
    return false;
  }
  if (!sh("ip link add " + bridge_ + " type bridge && ip addr add " + kGateway + "/16 dev " +
              bridge_ + " && ip link set " + bridge_ + " up",
          error)) {
    return false;
  }
  bridge_created_ = true;
  // Bridged pod-to-pod traffic may pass the root namespace's FORWARD chain (br_netfilter):
  // let it through even where that chain drops by default.
  forward_rule_ = sh("iptables -I FORWARD -i " + bridge_ + " -o " + bridge_ + " -j ACCEPT", error);
  writeManifests();
  // The key the "API server" signs service-account tokens with; pilot trusts its public half.
  if (!sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + dir_ +
              "/token-signer.key 2>&1 && openssl pkey -in " + dir_ +
              "/token-signer.key -pubout -out " + dir_ + "/token-signer.pub 2>&1",
          error)) {
    return false;
  }
  std::vector<std::string> argv = {"source/pilot/remora-pilot",
                                   "--manifests",
                                   manifests_,
                                   "--listen",
                                   kPilotPlaintextListen,
                                   "--monitoring",
                                   std::string(kGateway) + ":15014",
                                   "--ca-listen",
                                   std::string(kGateway) + ":15012",
                                   "--ca-dir",
                                   dir_ + "/ca",
                                   "--root-cert-out",
                                   dir_ + "/root-cert.pem",
                                   "--token-public-key",
                                   dir_ + "/token-signer.pub"};
  for (const auto& a : pilot_args) argv.push_back(a);
  pilot_pid_ = spawnProcess(argv, dir_ + "/pilot.log");
  if (!waitFor(
          [&] {
            return httpRequest(std::string(kGateway) + ":15014", "GET", "/debug/syncz").status ==
                   200;
          },
          std::chrono::seconds(10)) ||
      !waitFor([&] { return std::filesystem::exists(dir_ + "/root-cert.pem"); },
               std::chrono::seconds(10))) {
    error = "pilot did not start: " + pilotLog();
    return false;
  }
  return true;
}

MiniCluster::~MiniCluster() {
  for (auto& [name, pod] : pods_) {
    killAndReap(pod->sidecar_pid);
    for (pid_t pid : pod->apps) killAndReap(pid);
    runCommand({"/bin/sh", "-c", "ip netns del " + pod->netns + " 2>/dev/null"});
    std::filesystem::remove_all("/etc/netns/" + pod->netns);
  }
  killAndReap(pilot_pid_);
  std::string ignored;
  if (forward_rule_)
    sh("iptables -D FORWARD -i " + bridge_ + " -o " + bridge_ + " -j ACCEPT", ignored);
  if (bridge_created_) sh("ip link del " + bridge_, ignored);
  if (!dir_.empty() && std::getenv("REMORA_KEEP_E2E") == nullptr) std::filesystem::remove_all(dir_);
}

std::string MiniCluster::pilotLog() const { return readText(dir_ + "/pilot.log"); }

std::string MiniCluster::hostsFile() const {
  std::string out = "127.0.0.1 localhost\n::1 localhost\n";
  for (const auto& s : services_) {
    out += s.cluster_ip + " " + s.name + " " + s.name + ".default " + s.name + ".default.svc " +
           s.name + ".default.svc.cluster.local\n";
  }
  for (const auto& name : pod_order_) out += pods_.at(name)->ip + " " + name + "\n";
  return out;
}

void MiniCluster::writeManifests() {
  std::string yaml;
  for (const auto& s : services_) {
    yaml += "apiVersion: v1\nkind: Service\nmetadata: {name: " + s.name +
            ", namespace: default}\nspec:\n  clusterIP: " + s.cluster_ip +
            "\n  selector: " + labelsYaml(s.selector) + "\n  ports:\n";
    for (const auto& p : s.ports) {
      yaml += "  - {name: " + p.name + ", port: " + std::to_string(p.port) + "}\n";
    }
    yaml += "---\napiVersion: v1\nkind: Endpoints\nmetadata: {name: " + s.name +
            ", namespace: default}\nsubsets:";
    std::string ready, not_ready;
    for (const auto& name : pod_order_) {
      const Pod& pod = *pods_.at(name);
      if (!selects(s.selector, pod.labels)) continue;
      (pod.ready ? ready : not_ready) +=
          "  - {ip: " + pod.ip + ", targetRef: {kind: Pod, name: " + name + "}}\n";
    }
    if (ready.empty() && not_ready.empty()) {
      yaml += " []\n";
    } else {
      yaml += "\n- ports:\n";
      for (const auto& p : s.ports) {
        yaml += "  - {name: " + p.name + ", port: " + std::to_string(p.port) + "}\n";
      }
      if (!ready.empty()) yaml += "  addresses:\n" + ready;
      if (!not_ready.empty()) yaml += "  notReadyAddresses:\n" + not_ready;
    }
    yaml += "---\n";
  }
  for (const auto& name : pod_order_) {
    const Pod& pod = *pods_.at(name);
    // A pod without a sidecar says so, as Istio's injector annotation does: callers then do
    // not use mutual TLS to it.
    yaml += "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name +
            ", namespace: default, labels: " + labelsYaml(pod.labels) +
            (pod.sidecar ? "" : ", annotations: {sidecar.istio.io/inject: \"false\"}") +
            "}\nspec: {serviceAccountName: " + pod.service_account +
            "}\nstatus: {podIP: " + pod.ip + "}\n---\n";
  }
  writeAtomically(manifests_ + "/cluster.yaml", yaml);
}

void MiniCluster::setPodReady(const std::string& name, bool ready) {
  pods_.at(name)->ready = ready;
  writeManifests();
}

void MiniCluster::writeManifest(const std::string& file, const std::string& yaml) {
  if (yaml.empty()) {
    std::filesystem::remove(manifests_ + "/" + file);
  } else {
    writeAtomically(manifests_ + "/" + file, yaml);
  }
}

bool MiniCluster::addPod(const std::string& name, const std::string& ip,
                         std::map<std::string, std::string> labels, bool sidecar,
                         std::string& error) {
  auto pod = std::make_unique<Pod>();
  pod->name = name;
  pod->ip = ip;
  pod->netns = tag_ + "-" + name;
  pod->labels = std::move(labels);
  pod->sidecar = sidecar;
  // Bookinfo's convention: each app runs as its own service account.
  auto app = pod->labels.find("app");
  pod->service_account = app != pod->labels.end() ? app->second : "default";
  std::string host_end = tag_ + "v" + std::to_string(pods_.size());
  std::string pod_end = host_end + "p";
  pod->bridge_port = host_end;
  const std::string ns = pod->netns;
  Pod& ref = *pod;
  pods_[name] = std::move(pod);
  pod_order_.push_back(name);
  if (!sh("ip netns add " + ns, error)) return false;
  std::filesystem::create_directories("/etc/netns/" + ns);
  writeAtomically("/etc/netns/" + ns + "/resolv.conf",
                  "search default.svc.cluster.local svc.cluster.local cluster.local\n"
                  "nameserver 198.18.0.1\noptions ndots:5\n");
  if (!sh("ip link add " + host_end + " type veth peer name " + pod_end + " && ip link set " +
              pod_end + " netns " + ns + " && ip link set " + host_end + " master " + bridge_ +
              " && ip link set " + host_end + " up && ip -n " + ns + " link set " + pod_end +
              " name eth0 && ip -n " + ns + " addr add " + ip + "/16 dev eth0 && ip -n " + ns +
              " link set eth0 up && ip -n " + ns + " link set lo up && ip -n " + ns +
              " route add 198.19.0.0/16 via " + kGateway,
          error)) {
    return false;
  }
  // Every pod's hosts file knows every service and pod so far.
  for (const auto& other : pod_order_) {
    writeAtomically("/etc/netns/" + pods_.at(other)->netns + "/hosts", hostsFile());
  }
  writeManifests();
  if (!sidecar) return true;
  auto capture = exec(name, {remora_, "iptables"});
  if (capture.exit_code != 0) {
    error = "remora iptables: " + capture.output;
    return false;
  }
  // The pod's projected service-account token, signed by the "API server" key pilot trusts.
  auto token =
      runCommand({"source/pilot/remora-pilot", "mint-token", "--key", dir_ + "/token-signer.key",
                  "--namespace", "default", "--service-account", ref.service_account});
  if (token.exit_code != 0) {
    error = "mint-token: " + token.output;
    return false;
  }
  writeAtomically(dir_ + "/" + name + ".token", token.output);
  std::string bootstrap =
      "node:\n  id: sidecar~" + ip + "~" + name +
      ".default~default.svc.cluster.local\n"
      "  cluster: " +
      name + "\n  namespace: default\n  workload: " + name +
      "\n  service_account: " + ref.service_account +
      "\nworkload_identity:\n"
      "  ca_address: {socket_address: {address: " +
      std::string(kGateway) +
      ", port_value: 15012}}\n"
      "  root_cert_file: " +
      dir_ +
      "/root-cert.pem\n"
      "  token_file: " +
      dir_ + "/" + name + ".token\n" +
      (certificate_ttl_.empty() ? "" : "  certificate_ttl: " + certificate_ttl_ + "\n") +
      "admin:\n"
      "  address: {socket_address: {address: 127.0.0.1, port_value: 15000}}\n"
      "  readiness_address: {socket_address: {address: 0.0.0.0, port_value: 15021}}\n"
      "dynamic_resources:\n"
      "  ads_config:\n    api_type: DELTA_GRPC\n"
      "    address: {socket_address: {address: 198.18.0.1, port_value: 15012}}\n"
      "    workload_identity_tls: {}\n"
      "  cds_config: {ads: {}}\n  lds_config: {ads: {}}\n";
  std::string path = dir_ + "/" + name + ".bootstrap.yaml";
  writeAtomically(path, bootstrap);
  ref.sidecar_log = dir_ + "/" + name + ".sidecar.log";
  std::vector<std::string> argv = {"/usr/sbin/ip", "netns", "exec", ns};
  if (sidecar_file_limit_ > 0) {
    // prlimit execs the rest: the sidecar's pid stays the one spawned here.
    std::string limit = std::to_string(sidecar_file_limit_);
    argv.insert(argv.end(), {"/usr/bin/prlimit", "--nofile=" + limit + ":" + limit});
  }
  argv.insert(argv.end(),
              {"/usr/bin/setpriv", "--reuid=1337", "--regid=1337", "--clear-groups", remora_, "-c",
               path, "--concurrency", "1", "--drain-time-s", "5", "--min-drain-time-s", "1"});
  ref.sidecar_pid = spawnProcess(argv, ref.sidecar_log);
  if (!waitFor([&] { return httpRequest(ref.readiness(), "GET", "/healthz/ready").status == 200; },
               std::chrono::seconds(15))) {
    error = "sidecar of " + name + " not ready: " + readText(ref.sidecar_log);
    return false;
  }
  return true;
}

pid_t MiniCluster::spawnRoot(const std::vector<std::string>& argv, const std::string& log) {
  return spawnProcess(argv, log);
}

void MiniCluster::stopProcess(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGINT);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

CommandResult MiniCluster::exec(const std::string& pod, const std::vector<std::string>& argv) {
  std::vector<std::string> full = {"/usr/sbin/ip", "netns", "exec", pods_.at(pod)->netns};
  for (const auto& a : argv) full.push_back(a);
  return runCommand(full);
}

std::string MiniCluster::httpGet(const std::string& pod, const std::string& url,
                                 const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {"/usr/bin/curl", "-s", "-m",           "5", "-o",
                                   "/dev/stdout",   "-w", "%{http_code} "};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  // curl prints the body first, then the -w text: put the status in front.
  std::string out = exec(pod, argv).output;
  if (out.size() < 4) return out;
  std::string status = out.substr(out.size() - 4, 3);
  std::string body = out.substr(0, out.size() - 4);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return status + " " + body;
}

pid_t MiniCluster::spawn(const std::string& pod, const std::vector<std::string>& argv,
                         const std::string& log) {
  std::vector<std::string> full = {"/usr/sbin/ip", "netns", "exec", pods_.at(pod)->netns};
  for (const auto& a : argv) full.push_back(a);
  pid_t pid = spawnProcess(full, log);
  pods_.at(pod)->apps.push_back(pid);
  return pid;
}

pid_t MiniCluster::runNginx(const std::string& pod, uint16_t port, const std::string& body,
                            const NginxOptions& options) {
  std::string base = dir_ + "/" + pod + "-nginx" + std::to_string(port);
  std::filesystem::create_directories(base);
  // $request is the request line exactly as it arrived (nginx's own normalization only
  // affects location matching), which is what the hostile-pod tests check.
  std::string access_log = options.record_requests
                               ? "  log_format recorded '$remote_addr|$request|$http_host|"
                                 "$http_x_forwarded_client_cert';\n  access_log " +
                                     base + "/requests.log recorded;\n"
                               : "  access_log off;\n";
  std::string listen = options.bind_address.empty()
                           ? std::to_string(port)
                           : options.bind_address + ":" + std::to_string(port);
  std::string conf = "daemon off;\nmaster_process off;\nworker_processes 1;\npid " + base +
                     "/nginx.pid;\nerror_log " + base +
                     "/error.log;\n"
                     "events { worker_connections 4096; }\n"
                     "http {\n" +
                     access_log + "  client_body_temp_path " + base +
                     "/body;\n"
                     "  proxy_temp_path " +
                     base + "/proxy;\n  fastcgi_temp_path " + base +
                     "/fastcgi;\n  uwsgi_temp_path " + base + "/uwsgi;\n  scgi_temp_path " + base +
                     "/scgi;\n  keepalive_requests 100000;\n"
                     "  server {\n    listen " +
                     listen + ";\n    location / { default_type text/plain; return 200 \"" + body +
                     "\\n\"; }\n  }\n}\n";
  writeAtomically(base + "/nginx.conf", conf);
  pid_t pid = spawn(pod, {"/usr/sbin/nginx", "-c", base + "/nginx.conf", "-e", base + "/error.log"},
                    base + "/out.log");
  std::string ip = pods_.at(pod)->ip;
  // Ready when it answers on its own loopback.
  waitFor([&] {
    return exec(pod, {"/usr/bin/curl", "-s", "-o", "/dev/null", "-m", "1",
                      "http://127.0.0.1:" + std::to_string(port) + "/"})
               .exit_code == 0;
  });
  return pid;
}

std::string MiniCluster::requestLog(const std::string& pod, uint16_t port) const {
  return readText(dir_ + "/" + pod + "-nginx" + std::to_string(port) + "/requests.log");
}

pid_t MiniCluster::runEcho(const std::string& pod, uint16_t port) {
  pid_t pid = spawn(
      pod,
      {"/usr/bin/socat", "TCP-LISTEN:" + std::to_string(port) + ",fork,reuseaddr", "EXEC:/bin/cat"},
      dir_ + "/" + pod + "-echo.log");
  waitFor([&] {
    return exec(pod, {"/bin/sh", "-c", "ss -ltn | grep -q ':" + std::to_string(port) + " '"})
               .exit_code == 0;
  });
  return pid;
}

std::string MiniCluster::adminGet(const std::string& pod, const std::string& path) {
  // As root in the pod: loopback destinations are never captured.
  auto result = exec(pod, {"/usr/bin/curl", "-s", "-m", "5", "http://127.0.0.1:15000" + path});
  return result.exit_code == 0 ? result.output : "";
}

bool MiniCluster::waitForConfig(const std::string& pod, const std::string& text,
                                std::chrono::milliseconds timeout) {
  return waitFor([&] { return adminGet(pod, "/config_dump").find(text) != std::string::npos; },
                 timeout);
}

double MiniCluster::metric(const std::string& pod, const std::string& name,
                           const std::string& label_text) {
  std::istringstream lines(metricLines(pod, label_text));
  std::string line;
  double sum = 0;
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) != 0) continue;
    char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

std::string MiniCluster::metricLines(const std::string& pod, const std::string& text) {
  std::istringstream lines(adminGet(pod, "/stats/prometheus"));
  std::string line;
  std::string out;
  while (std::getline(lines, line)) {
    if (line[0] != '#' && line.find(text) != std::string::npos) out += line + "\n";
  }
  return out;
}

}  // namespace remora::test::e2e
