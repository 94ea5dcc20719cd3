#include "source/common/config/bootstrap_loader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "source/common/config/message_loader.h"

namespace remora::config {

bool parseBootstrap(std::string_view text, bootstrap::v1::Bootstrap& out, Errors& errors) {
  return parseMessage(text, out, errors);
}

bool loadBootstrapFile(const std::string& path, bootstrap::v1::Bootstrap& out, Errors& errors) {
  struct stat info;
  if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    errors.add(path, "cannot read: it is a directory");
    return false;
  }
  std::ifstream in(path);
  if (!in) {
    errors.add(path, std::string("cannot read: ") + std::strerror(errno));
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  return parseBootstrap(text.str(), out, errors);
}

}  // namespace remora::config
