#pragma once

// Changing a host's health. Every change bumps a process-wide generation number, so load
// balancers on every worker notice at their next pick (one atomic load) and rebuild their
// candidate sets, instead of scanning every host's flags on every pick.

#include <cstdint>

#include "source/interface/upstream/cluster.h"

namespace remora::upstream {

// Sets or clears `flag` on `host`; returns whether anything changed.
bool setHealthFlag(const Host& host, Host::HealthFlag flag, bool set);
// Increases whenever any host's health changes.
uint64_t healthGeneration();

}  // namespace remora::upstream
