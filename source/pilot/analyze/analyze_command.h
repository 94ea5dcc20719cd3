#pragma once

// `remora-pilot analyze [flags] DIR|--kubernetes|--kubeconfig FILE`: prints one line per
// finding (analyzer.h) to `out` and returns the exit status: 0 when there is no error
// (warnings only, or nothing: then nothing is printed), 1 when there are errors, 2 for a usage
// error (a missing or unreadable folder or kubeconfig, none or several of DIR, --kubernetes and
// --kubeconfig, an API server without a complete sync within --sync-timeout, a flag without
// its value, an unknown flag), explained on `err` with the flag named.

#include <ostream>

namespace remora::pilot::analyze {

// `argc`/`argv`: the arguments after "analyze".
int runAnalyzeCommand(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace remora::pilot::analyze
