#pragma once

// Telling whether a watched file changed without reading it: a replaced file (rename over it,
// as editors and Kubernetes volume updates do) has another inode, an edited one another size,
// modification or status-change time.

#include <sys/stat.h>

namespace remora::common {

inline bool sameFileVersion(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

}  // namespace remora::common
