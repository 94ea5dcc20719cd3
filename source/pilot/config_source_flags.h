#pragma once

// Which config source pilot reads, from its flags: `--manifests DIR` (a folder, the default
// for development), `--kubernetes` (the API server, from inside a pod) or `--kubeconfig FILE`
// (the API server of the file's current context). Exactly one.

#include <memory>
#include <string>

#include "source/pilot/config_source.h"
#include "source/pilot/kubernetes/connection_config.h"

namespace remora::pilot {

struct SourceFlags {
  std::string manifests;    // --manifests DIR
  bool in_cluster = false;  // --kubernetes
  std::string kubeconfig;   // --kubeconfig FILE

  // Takes `flag` (with `value` when it needs one) when it selects the source. `takes_value`
  // tells whether `value` was used (--kubernetes has none).
  bool parse(const std::string& flag, const std::string& value, bool& takes_value);
  // Whether `flag` names a source flag that takes no value.
  static bool isSwitch(const std::string& flag) { return flag == "--kubernetes"; }
  // "" when exactly one source is chosen, else what is wrong, naming the flags.
  std::string conflict() const;
};

// Opens the chosen source and, for the API server, starts listing and watching it (the first
// complete sync follows; see ConfigSource::synced). Nullptr with `error` naming the flag and
// what is wrong ("--kubeconfig: /x/config: No such file or directory", "--manifests: folder
// \"/x\" does not exist"): pilot exits 2 then. An API server that cannot be reached yet is not
// an error: pilot stays not ready and keeps trying. For the API server, `connection` (when not
// null) receives where it is and pilot's credentials, for pilot's own writes and reviews.
std::unique_ptr<ConfigSource> openConfigSource(const SourceFlags& flags, std::string& error,
                                               kubernetes::ClusterConnection* connection = nullptr);

}  // namespace remora::pilot
