#include "source/pilot/analyze/analyze_command.h"

#include <cctype>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "source/pilot/analyze/analyzer.h"
#include "source/pilot/analyze/cluster_source.h"

namespace remora::pilot::analyze {
namespace {

constexpr int kUsageError = 2;

void usage(std::ostream& out) {
  out << "usage: remora-pilot analyze [--cluster-domain DOMAIN] [--trust-domain DOMAIN]\n"
         "                            [--root-namespace NS] [--sync-timeout DURATION]\n"
         "                            DIR | --kubernetes | --kubeconfig FILE\n"
         "  DIR                      folder of Kubernetes/Istio YAML, read as --manifests is\n"
         "  --kubernetes             the cluster's API server, from inside a pod\n"
         "  --kubeconfig FILE        the API server of FILE's current context\n"
         "  --sync-timeout DURATION  wait for the API server's first complete sync, default 30s\n"
         "  --cluster-domain DOMAIN  default cluster.local\n"
         "  --trust-domain DOMAIN    default cluster.local\n"
         "  --root-namespace NS      default istio-system\n"
         "Prints one line per problem: Error|Warning [CODE] (Kind namespace/name) message.\n"
         "Exit status: 0 no errors (warnings only), 1 errors, 2 usage error.\n";
}

// "30s", "500ms", "2m": a positive whole number of one unit. Nullopt otherwise.
std::optional<std::chrono::milliseconds> parseTimeout(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  if (digits == 0 || digits > 9) {
    return std::nullopt;
  }
  const long long count = std::stoll(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  const long long scale = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60'000 : 0;
  if (scale == 0 || count == 0) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(count * scale);
}

}  // namespace

int runAnalyzeCommand(int argc, char** argv, std::ostream& out, std::ostream& err) {
  TranslateOptions options;
  AnalyzedSource chosen;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(out);
      return 0;
    }
    if (arg.rfind("--", 0) != 0) {
      if (!chosen.dir.empty()) {
        err << "remora-pilot analyze: DIR given twice (\"" << chosen.dir << "\", \"" << arg
            << "\")\n";
        return kUsageError;
      }
      chosen.dir = arg;
      continue;
    }
    if (arg == "--kubernetes") {
      chosen.in_cluster = true;
      continue;
    }
    std::string sync_timeout;
    std::string* target = arg == "--cluster-domain"   ? &options.cluster_domain
                          : arg == "--trust-domain"   ? &options.trust_domain
                          : arg == "--root-namespace" ? &options.root_namespace
                          : arg == "--kubeconfig"     ? &chosen.kubeconfig
                          : arg == "--sync-timeout"   ? &sync_timeout
                                                      : nullptr;
    if (!target) {
      err << "remora-pilot analyze: unknown flag " << arg << "\n";
      usage(err);
      return kUsageError;
    }
    if (i + 1 >= argc || std::string(argv[i + 1]).empty()) {
      err << "remora-pilot analyze: " << arg << " needs a value\n";
      return kUsageError;
    }
    *target = argv[++i];
    if (target == &sync_timeout) {
      std::optional<std::chrono::milliseconds> parsed = parseTimeout(sync_timeout);
      if (!parsed) {
        err << "remora-pilot analyze: --sync-timeout: \"" << sync_timeout
            << "\" is not a duration (a positive number of ms, s or m: 500ms, 30s, 2m)\n";
        return kUsageError;
      }
      chosen.sync_timeout = *parsed;
    }
  }
  if (std::string conflict = chosen.conflict(); !conflict.empty()) {
    err << "remora-pilot analyze: " << conflict << "\n";
    usage(err);
    return kUsageError;
  }
  std::string error;
  std::unique_ptr<ConfigSource> source = openAnalyzedSource(chosen, error);
  if (!source) {
    err << "remora-pilot analyze: " << error << "\n";
    return kUsageError;
  }
  std::vector<Finding> findings = analyzeSource(*source, options);
  for (const auto& finding : findings) out << finding.line() << "\n";
  return hasErrors(findings) ? 1 : 0;
}

}  // namespace remora::pilot::analyze
