// remora-pilot: reads Kubernetes and Istio-style objects from a folder of manifests or from the
// Kubernetes API server, watches them, and serves the translated configuration to every
// connected proxy over the aggregated discovery stream.
//
//   remora-pilot --manifests DIR|--kubernetes|--kubeconfig FILE [--listen 127.0.0.1:15010|off]
//   [--monitoring 127.0.0.1:15014]
//                [--outbound-address 0.0.0.0:15001] [--cluster-domain cluster.local]
//                [--ca-listen 127.0.0.1:15012] [--ca-dir DIR] [--root-cert-out FILE] ...
//   remora-pilot mint-token --key KEY --namespace NS --service-account SA
//   remora-pilot analyze DIR|--kubernetes|--kubeconfig FILE

#include <grpcpp/grpcpp.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <tuple>

#include "source/common/common/logger.h"
#include "source/pilot/ads_server.h"
#include "source/pilot/analyze/analyze_command.h"
#include "source/pilot/ca/ca_roots.h"
#include "source/pilot/ca/pilot_ca.h"
#include "source/pilot/ca/token_minter.h"
#include "source/pilot/config_pipeline.h"
#include "source/pilot/config_source_flags.h"
#include "source/pilot/discovery_listen.h"
#include "source/pilot/kubernetes_config_source.h"
#include "source/pilot/kubernetes_replicas.h"
#include "source/pilot/monitor.h"
#include "source/pilot/request_normalization.h"
#include "source/pilot/xds_auth/auth_failures.h"
#include "source/pilot/xds_auth/stream_authenticator.h"

namespace {

using namespace remora::pilot;

constexpr auto kDebounce = std::chrono::milliseconds(100);
volatile sig_atomic_t g_stop = 0;

void onSignal(int) { g_stop = 1; }

bool splitAddress(const std::string& text, std::string& ip, uint16_t& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  ip = text.substr(0, colon);
  try {
    int p = std::stoi(text.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return !ip.empty();
}

void usage(std::ostream& out) {
  out << "usage: remora-pilot --manifests DIR|--kubernetes|--kubeconfig FILE\n"
         "                    [--listen IP:PORT|off] [--monitoring IP:PORT]\n"
         "                    [--outbound-address IP:PORT] [--inbound-port PORT]\n"
         "                    [--outbound-traffic-policy ALLOW_ANY|REGISTRY_ONLY]\n"
         "                    [--access-log PATH] [--cluster-domain DOMAIN]\n"
         "                    [--trust-domain DOMAIN] [--root-namespace NS]\n"
         "                    [--path-normalization MODE]\n"
         "                    [--path-with-escaped-slashes-action ACTION]\n"
         "  --manifests DIR          folder of Kubernetes/Istio YAML (*.yaml, *.yml, *.json,\n"
         "                           subfolders too), watched; for development\n"
         "  --kubernetes             list and watch the Kubernetes API server from inside a\n"
         "                           pod (service account token, ca.crt, namespace)\n"
         "  --kubeconfig FILE        list and watch the API server of FILE's current context\n"
         "                           (one of --manifests, --kubernetes, --kubeconfig is\n"
         "                           required; /ready answers 200 only after the first\n"
         "                           complete sync)\n"
         "  --listen IP:PORT|off     plaintext discovery (gRPC), for local development: it\n"
         "                           serves any node to anyone who can reach it; default\n"
         "                           127.0.0.1:15010. Proxies in a mesh use the CA's TLS port,\n"
         "                           which serves only the node their certificate proves\n"
         "  --monitoring IP:PORT     /debug/syncz, /debug/config_errors, /metrics; default\n"
         "                           127.0.0.1:15014\n"
         "  --outbound-address IP:PORT  the proxies' outbound listener; default 0.0.0.0:15001\n"
         "  --inbound-port PORT      the proxies' inbound listener port; default 15006\n"
         "  --outbound-traffic-policy MODE  mesh-wide default for traffic to destinations\n"
         "                           outside the registry; a Sidecar object overrides it per\n"
         "                           namespace or workload; default ALLOW_ANY\n"
         "  --access-log PATH        proxies log each HTTP request there (/dev/stdout, a file)\n"
         "  --cluster-domain DOMAIN  default cluster.local\n"
         "  --trust-domain DOMAIN    SPIFFE trust domain of workload identities; default\n"
         "                           cluster.local\n"
         "  --root-namespace NS      mesh-wide policy lives there; default istio-system\n"
         "  --path-normalization MODE  request paths of every proxy's HTTP traffic: NONE,\n"
         "                           BASE, MERGE_SLASHES or DECODE_AND_MERGE_SLASHES; default\n"
         "                           the proxy's (BASE)\n"
         "  --path-with-escaped-slashes-action ACTION  %2F and %5C in paths: KEEP_UNCHANGED,\n"
         "                           REJECT_REQUEST, UNESCAPE_AND_REDIRECT or\n"
         "                           UNESCAPE_AND_FORWARD; default the proxy's (REJECT_REQUEST,\n"
         "                           UNESCAPE_AND_FORWARD with DECODE_AND_MERGE_SLASHES)\n"
      << ca::kCaUsage
      << "Replicas (--kubernetes/--kubeconfig only; the CA checks tokens with TokenReview):\n"
      << kReplicaUsage
      << "Other commands:\n"
         "  remora-pilot analyze DIR|--kubernetes|--kubeconfig FILE   check the configuration\n"
         "                           as pilot would, one line per problem; exit 1 on errors\n"
         "  remora-pilot mint-token --key KEY --namespace NS --service-account SA\n"
         "                           a service-account token for tests and development\n";
}

// The mesh's roots as --root-cert-out holds them: one PEM certificate per root.
std::string rootsPem(const ca::PilotCa& authority) {
  std::string pem;
  for (const std::string& root : ca::trustBundle(authority.authority())) pem += root;
  return pem;
}

void reload(ConfigPipeline& pipeline, const ConfigSource& source, SnapshotCache& cache) {
  ConfigPipeline::Result result = pipeline.reload();
  REMORA_LOG(info,
             "%zu objects from %s translated in %lld us (source %lld, checks %lld, translation "
             "%lld); pushing",
             result.objects, source.describe().c_str(), static_cast<long long>(result.took.count()),
             static_cast<long long>(result.source_took.count()),
             static_cast<long long>(result.guard_took.count()),
             static_cast<long long>(result.translate_took.count()));
  cache.update(result.translator, std::move(result.errors), result.took);
}

}  // namespace

int main(int argc, char** argv) {
  // Pilot's big allocations are short-lived (a proxy's first configuration is one response of
  // up to ~15 MB): from the heap, glibc keeps their freed memory (its mmap threshold rises to
  // the largest block freed), and pilot's resident memory grew by gigabytes while 1,000
  // proxies connected. Blocks of 256 KiB and more are mapped and unmapped instead, and the
  // callback threads share few arenas.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_ARENA_MAX, 2);
  if (argc > 1 && std::string(argv[1]) == "mint-token") {
    return ca::runMintTokenCommand(argc - 2, argv + 2, std::cout, std::cerr);
  }
  if (argc > 1 && std::string(argv[1]) == "analyze") {
    return analyze::runAnalyzeCommand(argc - 2, argv + 2, std::cout, std::cerr);
  }
  SourceFlags source_flags;
  std::string listen = kDefaultPlaintextListen;
  std::string monitoring = "127.0.0.1:15014";
  std::string outbound = "0.0.0.0:15001";
  TranslateOptions options;
  ca::CaOptions ca_options;
  ReplicaOptions replica_options;
  std::string replica_flag;  // the last leader-election flag given (folder mode refuses them)
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      usage(std::cout);
      return 0;
    }
    if (SourceFlags::isSwitch(flag)) {
      bool takes_value = false;
      source_flags.parse(flag, "", takes_value);
      continue;
    }
    if (i + 1 >= argc) {
      std::cerr << "remora-pilot: " << flag << " needs a value\n";
      usage(std::cerr);
      return 1;
    }
    std::string value = argv[++i];
    if (bool takes_value; source_flags.parse(flag, value, takes_value))
      continue;
    else if (flag == "--listen")
      listen = value;
    else if (flag == "--monitoring")
      monitoring = value;
    else if (flag == "--outbound-address")
      outbound = value;
    else if (flag == "--cluster-domain")
      options.cluster_domain = value;
    else if (flag == "--access-log")
      options.access_log = value;
    else if (flag == "--trust-domain")
      options.trust_domain = value;
    else if (flag == "--root-namespace")
      options.root_namespace = value;
    else if (flag == "--outbound-traffic-policy") {
      if (value != "ALLOW_ANY" && value != "REGISTRY_ONLY") {
        std::cerr << "remora-pilot: --outbound-traffic-policy must be ALLOW_ANY or REGISTRY_ONLY, "
                     "not \""
                  << value << "\"\n";
        return 1;
      }
      options.outbound_policy = value;
    } else if (flag == "--inbound-port") {
      char* end = nullptr;
      unsigned long port = std::strtoul(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0' || port == 0 || port > 65535) {
        std::cerr << "remora-pilot: --inbound-port must be 1..65535, not \"" << value << "\"\n";
        return 1;
      }
      options.inbound_port = static_cast<uint32_t>(port);
    } else if (std::string normalization_error;
               parseRequestNormalizationFlag(flag, value, options, normalization_error)) {
      if (!normalization_error.empty()) {
        std::cerr << "remora-pilot: " << normalization_error << "\n";
        return 1;
      }
    } else if (std::string ca_error; ca::parseCaFlag(flag, value, ca_options, ca_error)) {
      if (!ca_error.empty()) {
        std::cerr << "remora-pilot: " << ca_error << "\n";
        return 1;
      }
    } else if (std::string replica_error;
               parseReplicaFlag(flag, value, replica_options, replica_error)) {
      if (!replica_error.empty()) {
        std::cerr << "remora-pilot: " << replica_error << "\n";
        return 1;
      }
      replica_flag = flag;
    } else {
      std::cerr << "remora-pilot: unknown flag " << flag << "\n";
      usage(std::cerr);
      return 1;
    }
  }
  if (std::string error = requestNormalizationConflict(options); !error.empty()) {
    std::cerr << "remora-pilot: " << error << "\n";
    return 1;
  }
  if (std::string conflict = source_flags.conflict(); !conflict.empty()) {
    std::cerr << "remora-pilot: " << conflict << "\n";
    usage(std::cerr);
    return 1;
  }
  std::string monitoring_ip;
  uint16_t monitoring_port;
  uint16_t outbound_port;
  std::string listen_ip;
  uint16_t listen_port;
  for (const auto& [flag, value, ok] :
       {std::tuple{"--outbound-address", outbound,
                   splitAddress(outbound, options.outbound_address, outbound_port)},
        std::tuple{"--monitoring", monitoring,
                   splitAddress(monitoring, monitoring_ip, monitoring_port)},
        std::tuple{
            "--listen", listen,
            !plaintextDiscoveryEnabled(listen) || splitAddress(listen, listen_ip, listen_port)}}) {
    if (!ok) {
      std::cerr << "remora-pilot: " << flag << ": \"" << value << "\" is not IP:PORT\n";
      return 1;
    }
  }
  options.outbound_port = outbound_port;

  if (!replica_flag.empty() && !source_flags.manifests.empty()) {
    std::cerr << "remora-pilot: " << replica_flag
              << " needs --kubernetes or --kubeconfig (the folder source runs one replica)\n";
    return 1;
  }
  // A folder that is not there, or an API server pilot cannot even address, would serve an
  // empty mesh: refuse to start (exit 2). A server that does not answer yet is retried.
  std::string source_error;
  kubernetes::ClusterConnection connection;
  std::unique_ptr<ConfigSource> source = openConfigSource(source_flags, source_error, &connection);
  if (!source) {
    std::cerr << "remora-pilot: " << source_error << "\n";
    return 2;
  }
  // The Kubernetes mode runs as replicas: the CA asks the API server about callers' tokens,
  // and the elected leader writes the trust bundle ConfigMaps.
  auto* kubernetes_source = dynamic_cast<KubernetesConfigSource*>(source.get());
  std::unique_ptr<KubernetesReplicas> replicas;
  if (kubernetes_source) {
    auto created =
        KubernetesReplicas::create(connection, replica_options, ca_options.token_audience);
    if (!created.ok()) {
      std::cerr << "remora-pilot: " << created.error() << "\n";
      return 2;
    }
    replicas = std::move(created).value();
    ca_options.token_authenticator = replicas->authenticator();
  }
  SnapshotCache cache;
  ConfigIssues config_issues;
  ConfigPipeline pipeline(*source, options, config_issues);
  // Until the source is complete nothing is pushed (proxies wait) and /ready answers 503.
  if (source->synced()) {
    reload(pipeline, *source, cache);
    if (replicas) replicas->setNamespaces(kubernetes_source->namespaceNames());
  } else {
    REMORA_LOG(info, "waiting for the first complete sync of %s", source->describe().c_str());
  }

  if (!plaintextDiscoveryEnabled(listen) && !ca_options.enabled()) {
    std::cerr << "remora-pilot: --listen off and --ca-listen off leave no discovery port\n";
    return 1;
  }
  AdsService service(cache);
  std::unique_ptr<grpc::Server> server;
  int bound_port = 0;
  if (plaintextDiscoveryEnabled(listen)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &bound_port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
    if (!server || bound_port == 0) {
      std::cerr << "remora-pilot: cannot listen on " << listen << "\n";
      return 1;
    }
    if (!loopbackOnly(listen)) {
      REMORA_LOG(warn,
                 "plaintext discovery on %s serves any node's configuration "
                 "to anyone who can reach it (local development only; --listen off)",
                 listen.c_str());
    }
  }
  // Discovery on the CA's TLS port: only the node the client certificate proves.
  xds_auth::AuthFailures auth_failures;
  xds_auth::StreamAuthenticator authenticator(
      options.trust_domain,
      [&cache](const std::string& ns, const std::string& pod) {
        return cache.podServiceAccount(ns, pod);
      },
      auth_failures);
  AdsService secure_service(cache, &authenticator);
  // Before the monitoring server, which may report on it.
  std::unique_ptr<ca::PilotCa> certificate_authority;
  if (ca_options.enabled()) {
    auto started = ca::PilotCa::start(ca_options, options.trust_domain, {&secure_service});
    if (!started.ok()) {
      std::cerr << "remora-pilot: certificate authority: " << started.error() << "\n";
      return 1;
    }
    certificate_authority = std::move(*started);
    REMORA_LOG(info,
               "serving certificates on %s:%u, trust domain %s; discovery over TLS "
               "there (client certificate required)",
               certificate_authority->ip().c_str(), certificate_authority->port(),
               options.trust_domain.c_str());
  }
  MonitorServer monitor(
      cache,
      [&certificate_authority, &auth_failures, &config_issues, &replicas] {
        return (certificate_authority ? certificate_authority->metrics() : std::string()) +
               auth_failures.render() + config_issues.metrics() +
               (replicas ? replicas->metrics() : std::string());
      },
      [&config_issues] { return config_issues.page(); });
  if (replicas) {
    monitor.addPage("/debug/leader", [&replicas] { return replicas->leaderPage(); });
  }
  monitor.setReadiness([&cache] { return cache.generation() > 0; });
  std::string error;
  if (!monitor.start(monitoring_ip, monitoring_port, error)) {
    std::cerr << "remora-pilot: monitoring: " << error << "\n";
    return 1;
  }
  const std::string plaintext =
      server ? "plaintext discovery on " + listen_ip + ":" + std::to_string(bound_port)
             : std::string("plaintext discovery off");
  REMORA_LOG(info, "serving %s, monitoring on %s:%u, config from %s", plaintext.c_str(),
             monitoring_ip.c_str(), monitor.port(), source->describe().c_str());

  signal(SIGTERM, onSignal);
  signal(SIGINT, onSignal);
  if (replicas) {
    if (certificate_authority) replicas->setBundle(rootsPem(*certificate_authority));
    replicas->start();
  }
  // Any change of the source starts a debounced reload.
  bool pending = false;
  auto last_event = std::chrono::steady_clock::now();
  auto last_ca_tick = std::chrono::steady_clock::now();
  while (!g_stop) {
    if (source->waitForChange(std::chrono::milliseconds(20))) {
      pending = true;
      last_event = std::chrono::steady_clock::now();
    }
    if (pending && std::chrono::steady_clock::now() - last_event >= kDebounce && source->synced()) {
      pending = false;
      reload(pipeline, *source, cache);
      if (replicas) replicas->setNamespaces(kubernetes_source->namespaceNames());
    }
    // The CA's roots are polled, not watched: a Kubernetes Secret mount swaps a symlink,
    // which inotify on the folder does not report reliably.
    if (certificate_authority &&
        std::chrono::steady_clock::now() - last_ca_tick >= std::chrono::seconds(1)) {
      last_ca_tick = std::chrono::steady_clock::now();
      certificate_authority->tick(std::chrono::system_clock::now());
      // A root rotation changes the bundle: the leader rewrites the ConfigMaps.
      if (replicas) replicas->setBundle(rootsPem(*certificate_authority));
    }
  }
  REMORA_LOG(info, "shutting down");
  // First, so that another replica takes the lease over at its next retry.
  if (replicas) replicas->stop();
  if (server) server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  if (certificate_authority) certificate_authority->stop();
  return 0;
}
