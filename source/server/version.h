#pragma once

// The release version of Remora, printed by `remora --version` and reported by the admin
// server. Bump it when cutting a release.

namespace remora {

inline constexpr char kRemoraVersion[] = "0.1.0";

}  // namespace remora
