#pragma once

// Random version-4 UUIDs (x-request-id), from a per-thread generator seeded once from the OS.

#include <string>

namespace remora {

// "xxxxxxxx-xxxx-4xxx-Yxxx-xxxxxxxxxxxx" with Y in 8..b. Safe from any thread.
std::string uuid4();
// The same, written to out[0..36) without allocating.
void writeUuid4(char* out);

}  // namespace remora
