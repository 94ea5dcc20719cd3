#pragma once

// What can still be read of a manifest file that does not parse as a whole and has no last
// good version (pilot started with it broken, or it is new): each document (between `---`
// lines) on its own. A document that parses gives its objects; one that does not gives, when
// its kind and name can be made out, an object marked `unreadable` so that the config guard
// applies that object's last good version or, for a security object, its strictest reading
// (config_guard.h) instead of silently leaving it out.

#include <string>
#include <vector>

#include "source/pilot/manifests.h"

namespace remora::pilot {

// Appends the objects of `text` (the content of `file`) to `objects` and the problems of
// documents without a kind or name to `errors`.
void salvageManifests(const std::string& file, const std::string& text,
                      std::vector<Object>& objects, std::vector<ManifestError>& errors);

}  // namespace remora::pilot
