#include "source/pilot/analyze/analyze_command.h"

#include <memory>
#include <string>

#include "source/pilot/analyze/analyzer.h"
#include "source/pilot/folder_source.h"

namespace remora::pilot::analyze {
namespace {

constexpr int kUsageError = 2;

void usage(std::ostream& out) {
  out << "usage: remora-pilot analyze [--cluster-domain DOMAIN] [--trust-domain DOMAIN]\n"
         "                            [--root-namespace NS] DIR\n"
         "  DIR                      folder of Kubernetes/Istio YAML, read as --manifests is\n"
         "  --cluster-domain DOMAIN  default cluster.local\n"
         "  --trust-domain DOMAIN    default cluster.local\n"
         "  --root-namespace NS      default istio-system\n"
         "Prints one line per problem: Error|Warning [CODE] (Kind namespace/name) message.\n"
         "Exit status: 0 no errors (warnings only), 1 errors, 2 usage error.\n";
}

}  // namespace

int runAnalyzeCommand(int argc, char** argv, std::ostream& out, std::ostream& err) {
  TranslateOptions options;
  std::string dir;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(out);
      return 0;
    }
    if (arg.rfind("--", 0) != 0) {
      if (!dir.empty()) {
        err << "remora-pilot analyze: DIR given twice (\"" << dir << "\", \"" << arg << "\")\n";
        return kUsageError;
      }
      dir = arg;
      continue;
    }
    std::string* target = arg == "--cluster-domain"   ? &options.cluster_domain
                          : arg == "--trust-domain"   ? &options.trust_domain
                          : arg == "--root-namespace" ? &options.root_namespace
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
  }
  if (dir.empty()) {
    err << "remora-pilot analyze: DIR (the manifest folder) is required\n";
    usage(err);
    return kUsageError;
  }
  std::string error;
  std::unique_ptr<ConfigSource> source = FolderSource::open(dir, error);
  if (!source) {
    err << "remora-pilot analyze: DIR: " << error << "\n";
    return kUsageError;
  }
  std::vector<Finding> findings = analyzeSource(*source, options);
  for (const auto& finding : findings) out << finding.line() << "\n";
  return hasErrors(findings) ? 1 : 0;
}

}  // namespace remora::pilot::analyze
