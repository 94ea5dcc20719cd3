#pragma once

// Where the Kubernetes API server is and how pilot proves who it is: from inside a pod
// (--kubernetes: the service's environment variables and the mounted service-account files) or
// from a kubeconfig file (--kubeconfig: its current context). Everything is read once here;
// only the token file is read again later (see BearerToken).

#include <functional>
#include <string>

#include "source/common/crypto/result.h"

namespace remora::pilot::kubernetes {

inline constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

struct ClusterConnection {
  std::string host;  // DNS name or IP literal (no brackets); the TLS name checked
  int port = 443;
  std::string ca_pem;  // the cluster CA bundle the server's certificate must chain to
  // Credentials: a bearer token, from a file (re-read as it rotates) or inline; and/or a client
  // certificate. All may be empty (an anonymous client).
  std::string token_file;
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;  // secret
  std::string ns;              // the pod's namespace (in-cluster only)

  // "https://host:port", IPv6 in brackets, for messages.
  std::string url() const;
};

// In-cluster: KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT from `getenv` (the real
// environment when null), `<service_account_dir>/token` (kept as token_file), `ca.crt` and
// `namespace`. Errors name the variable or file: "KUBERNETES_SERVICE_HOST is not set (not
// running in a pod?)", "/var/run/.../ca.crt: No such file or directory".
crypto::Result<ClusterConnection> inClusterConnection(
    const std::string& service_account_dir = kServiceAccountDir,
    const std::function<const char*(const char*)>& getenv = nullptr);

// A kubeconfig file's current context: clusters[].cluster.server (https only),
// certificate-authority / certificate-authority-data, users[].user token / tokenFile,
// client-certificate(-data) / client-key(-data). Relative file paths are relative to the
// kubeconfig's folder, as kubectl reads them. Errors name the file and field:
// "/home/a/.kube/config: clusters[0].cluster.server: must start with https://".
crypto::Result<ClusterConnection> kubeconfigConnection(const std::string& path);

// Reads a whole file. Errors: "<path>: <strerror>".
crypto::Result<std::string> readFileText(const std::string& path);

}  // namespace remora::pilot::kubernetes
