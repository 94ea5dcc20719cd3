#include "source/pilot/kubernetes/connection_config.h"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace remora::pilot::kubernetes {

using crypto::Error;

namespace {

// Splits "https://host[:port][/]" (host may be "[v6]"). Errors are completed by the caller.
crypto::Status parseServerUrl(const std::string& url, ClusterConnection& out) {
  static const std::string kScheme = "https://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) {
    return Error{"must start with https://"};
  }
  std::string rest = url.substr(kScheme.size());
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    if (rest.find_first_not_of('/', slash) != std::string::npos) {
      return Error{"a path after the host is not supported"};
    }
    rest.resize(slash);
  }
  std::string port_text;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) {
      return Error{"unterminated [IPv6] host"};
    }
    out.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') {
        return Error{"expected :PORT after ]"};
      }
      port_text = rest.substr(close + 2);
    }
  } else if (auto colon = rest.find(':'); colon != std::string::npos) {
    out.host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
  } else {
    out.host = rest;
  }
  if (out.host.empty()) {
    return Error{"no host"};
  }
  out.port = 443;
  if (!port_text.empty()) {
    char* end = nullptr;
    long port = std::strtol(port_text.c_str(), &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
      return Error{"bad port " + crypto::quoteForMessage(port_text, 16)};
    }
    out.port = static_cast<int>(port);
  }
  return {};
}

crypto::Result<std::string> decodeBase64(const std::string& text) {
  std::string compact;
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ') {
      compact += c;
    }
  }
  if (compact.size() % 4 != 0) {
    return Error{"not base64 (length is not a multiple of 4)"};
  }
  std::string out(compact.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(compact.data()),
                          static_cast<int>(compact.size()));
  if (n < 0) {
    return Error{"not base64"};
  }
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t padding = 0;
  for (size_t i = compact.size(); i > 0 && compact[i - 1] == '='; --i) {
    ++padding;
  }
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

// The entry of `list` (a kubeconfig's clusters/users/contexts) named `name`, with its index;
// false when there is none.
bool findNamed(const YAML::Node& list, const std::string& name, YAML::Node& entry, size_t& index) {
  if (!list.IsSequence()) {
    return false;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].IsMap() && list[i]["name"] && list[i]["name"].IsScalar() &&
        list[i]["name"].Scalar() == name) {
      index = i;
      entry = list[i];
      return true;
    }
  }
  return false;
}

std::string scalarOr(const YAML::Node& map, const char* key) {
  if (!map.IsMap() || !map[key] || !map[key].IsScalar()) {
    return "";
  }
  return map[key].Scalar();
}

}  // namespace

std::string ClusterConnection::url() const {
  bool v6 = host.find(':') != std::string::npos;
  return "https://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

crypto::Result<std::string> readFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{path + ": " + std::strerror(errno)};
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return Error{path + ": read error"};
  }
  return text.str();
}

crypto::Result<ClusterConnection> inClusterConnection(
    const std::string& service_account_dir, const std::function<const char*(const char*)>& getenv) {
  auto env = [&](const char* name) -> std::string {
    const char* value = getenv ? getenv(name) : std::getenv(name);
    return value ? value : "";
  };
  ClusterConnection out;
  out.host = env("KUBERNETES_SERVICE_HOST");
  if (out.host.empty()) {
    return Error{"KUBERNETES_SERVICE_HOST is not set (not running in a pod?)"};
  }
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  const std::string port = env("KUBERNETES_SERVICE_PORT");
  if (port.empty()) {
    return Error{"KUBERNETES_SERVICE_PORT is not set (not running in a pod?)"};
  }
  ClusterConnection parsed;
  std::string url_host = out.host.find(':') != std::string::npos ? "[" + out.host + "]" : out.host;
  if (auto status = parseServerUrl("https://" + url_host + ":" + port, parsed); !status.ok()) {
    return Error{"KUBERNETES_SERVICE_HOST/PORT: " + status.error()};
  }
  out.port = parsed.port;
  out.token_file = service_account_dir + "/token";
  // Read once now so a missing token is reported at start, not as 401s later.
  if (auto token = readFileText(out.token_file); !token.ok()) {
    return Error{token.error()};
  }
  auto ca = readFileText(service_account_dir + "/ca.crt");
  if (!ca.ok()) {
    return Error{ca.error()};
  }
  out.ca_pem = std::move(ca).value();
  auto ns = readFileText(service_account_dir + "/namespace");
  if (!ns.ok()) {
    return Error{ns.error()};
  }
  out.ns = ns.value();
  while (!out.ns.empty() && (out.ns.back() == '\n' || out.ns.back() == ' ')) {
    out.ns.pop_back();
  }
  return out;
}

crypto::Result<ClusterConnection> kubeconfigConnection(const std::string& path) {
  auto text = readFileText(path);
  if (!text.ok()) {
    return Error{text.error()};
  }
  YAML::Node root;
  try {
    root = YAML::Load(text.value());
  } catch (const YAML::Exception& e) {
    return Error{path + ": not YAML: " + e.what()};
  }
  auto fail = [&](const std::string& field, const std::string& what) {
    return Error{path + ": " + field + ": " + what};
  };
  const std::string dir = path.find('/') == std::string::npos
                              ? std::string(".")
                              : path.substr(0, path.rfind('/') == 0 ? 1 : path.rfind('/'));
  auto resolve = [&](const std::string& file) {
    return (file.empty() || file[0] == '/') ? file : dir + "/" + file;
  };
  // A field given as a file or inline base64 ("<field>" / "<field>-data").
  auto fileOrData = [&](const YAML::Node& map, const std::string& where, const std::string& key,
                        std::string& out) -> crypto::Status {
    std::string data = scalarOr(map, (key + "-data").c_str());
    std::string file = scalarOr(map, key.c_str());
    if (!data.empty()) {
      auto decoded = decodeBase64(data);
      if (!decoded.ok()) {
        return fail(where + "." + key + "-data", decoded.error());
      }
      out = std::move(decoded).value();
    } else if (!file.empty()) {
      auto content = readFileText(resolve(file));
      if (!content.ok()) {
        return fail(where + "." + key, content.error());
      }
      out = std::move(content).value();
    }
    return {};
  };

  const std::string context_name = scalarOr(root, "current-context");
  if (context_name.empty()) {
    return fail("current-context", "not set");
  }
  size_t context_index = 0;
  YAML::Node context;
  if (!findNamed(root["contexts"], context_name, context, context_index)) {
    return fail("contexts", "no context named " + crypto::quoteForMessage(context_name));
  }
  const std::string context_field = "contexts[" + std::to_string(context_index) + "].context";
  const std::string cluster_name = scalarOr(context["context"], "cluster");
  const std::string user_name = scalarOr(context["context"], "user");
  if (cluster_name.empty()) {
    return fail(context_field + ".cluster", "not set");
  }

  ClusterConnection out;
  size_t cluster_index = 0;
  YAML::Node cluster;
  if (!findNamed(root["clusters"], cluster_name, cluster, cluster_index)) {
    return fail("clusters", "no cluster named " + crypto::quoteForMessage(cluster_name));
  }
  const std::string cluster_field = "clusters[" + std::to_string(cluster_index) + "].cluster";
  if (auto status = parseServerUrl(scalarOr(cluster["cluster"], "server"), out); !status.ok()) {
    return fail(cluster_field + ".server", status.error());
  }
  if (scalarOr(cluster["cluster"], "insecure-skip-tls-verify") == "true") {
    return fail(cluster_field + ".insecure-skip-tls-verify",
                "not supported: pilot always verifies the API server");
  }
  if (auto status =
          fileOrData(cluster["cluster"], cluster_field, "certificate-authority", out.ca_pem);
      !status.ok()) {
    return Error{status.error()};
  }
  if (out.ca_pem.empty()) {
    return fail(cluster_field + ".certificate-authority", "not set (pilot needs the cluster CA)");
  }

  if (!user_name.empty()) {
    size_t user_index = 0;
    YAML::Node user;
    if (!findNamed(root["users"], user_name, user, user_index)) {
      return fail("users", "no user named " + crypto::quoteForMessage(user_name));
    }
    const std::string user_field = "users[" + std::to_string(user_index) + "].user";
    const YAML::Node& fields = user["user"];
    out.token = scalarOr(fields, "token");
    if (std::string file = scalarOr(fields, "tokenFile"); !file.empty()) {
      out.token_file = resolve(file);
      if (auto token = readFileText(out.token_file); !token.ok()) {
        return fail(user_field + ".tokenFile", token.error());
      }
    }
    if (auto status = fileOrData(fields, user_field, "client-certificate", out.client_cert_pem);
        !status.ok()) {
      return Error{status.error()};
    }
    if (auto status = fileOrData(fields, user_field, "client-key", out.client_key_pem);
        !status.ok()) {
      return Error{status.error()};
    }
    if (out.client_cert_pem.empty() != out.client_key_pem.empty()) {
      return fail(user_field, "client-certificate and client-key must be given together");
    }
  }
  return out;
}

}  // namespace remora::pilot::kubernetes
