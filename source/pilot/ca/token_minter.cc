#include "source/pilot/ca/token_minter.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "source/pilot/ca/base64url.h"
#include "source/pilot/ca/ca_options.h"
#include "source/pilot/ca/jws.h"

namespace remora::pilot::ca {

using crypto::Error;
using google::protobuf::Struct;

namespace {

// base64url(SHA-256(SubjectPublicKeyInfo DER)), the key id Kubernetes puts in its tokens.
std::string keyId(const crypto::KeyPair& key) {
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key.get(), &der);
  if (length <= 0) return "";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  const bool ok = EVP_Digest(der, static_cast<size_t>(length), digest, &digest_length, EVP_sha256(),
                             nullptr) == 1;
  OPENSSL_free(der);
  return ok ? base64UrlEncode(std::string(reinterpret_cast<char*>(digest), digest_length)) : "";
}

void setString(Struct& object, const std::string& name, const std::string& value) {
  (*object.mutable_fields())[name].set_string_value(value);
}

void setNumber(Struct& object, const std::string& name, int64_t value) {
  (*object.mutable_fields())[name].set_number_value(static_cast<double>(value));
}

}  // namespace

crypto::Result<std::string> mintServiceAccountToken(const crypto::KeyPair& key,
                                                    const MintOptions& options,
                                                    std::chrono::system_clock::time_point now) {
  if (options.ns.empty() || options.service_account.empty()) {
    return Error{"a namespace and a service account are required"};
  }
  if (options.ttl <= std::chrono::seconds(0)) {
    return Error{"the token lifetime must be positive"};
  }
  Struct header;
  setString(header, "typ", "JWT");
  if (std::string kid = keyId(key); !kid.empty()) setString(header, "kid", kid);

  const int64_t issued =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  Struct claims;
  (*claims.mutable_fields())["aud"].mutable_list_value()->add_values()->set_string_value(
      options.audience);
  setString(claims, "iss", options.issuer);
  setString(claims, "sub", "system:serviceaccount:" + options.ns + ":" + options.service_account);
  setNumber(claims, "iat", issued);
  setNumber(claims, "nbf", issued);
  setNumber(claims, "exp", issued + options.ttl.count());
  Struct& kubernetes = *(*claims.mutable_fields())["kubernetes.io"].mutable_struct_value();
  setString(kubernetes, "namespace", options.ns);
  Struct& account = *(*kubernetes.mutable_fields())["serviceaccount"].mutable_struct_value();
  setString(account, "name", options.service_account);
  return signCompactJws(std::move(header), toJson(claims), key);
}

int runMintTokenCommand(int argc, char** args, std::ostream& out, std::ostream& err) {
  const char kUsage[] =
      "usage: remora-pilot mint-token --key PRIVATE_KEY_PEM --namespace NS --service-account SA\n"
      "                               [--audience istio-ca] [--issuer ISS] [--ttl 1h]\n";
  MintOptions options;
  std::string key_path;
  for (int i = 0; i < argc; i += 2) {
    const std::string flag = args[i];
    if (flag == "--help" || flag == "-h") {
      out << kUsage;
      return 0;
    }
    if (i + 1 >= argc) {
      err << "remora-pilot mint-token: " << flag << " needs a value\n" << kUsage;
      return 1;
    }
    const std::string value = args[i + 1];
    if (flag == "--key") {
      key_path = value;
    } else if (flag == "--namespace") {
      options.ns = value;
    } else if (flag == "--service-account") {
      options.service_account = value;
    } else if (flag == "--audience") {
      options.audience = value;
    } else if (flag == "--issuer") {
      options.issuer = value;
    } else if (flag == "--ttl") {
      auto ttl = parseDuration(value);
      if (!ttl.ok()) {
        err << "remora-pilot mint-token: --ttl: " << ttl.error() << "\n";
        return 1;
      }
      options.ttl = *ttl;
    } else {
      err << "remora-pilot mint-token: unknown flag " << flag << "\n" << kUsage;
      return 1;
    }
  }
  if (key_path.empty() || options.ns.empty() || options.service_account.empty()) {
    err << "remora-pilot mint-token: --key, --namespace and --service-account are required\n"
        << kUsage;
    return 1;
  }
  std::ifstream in(key_path, std::ios::binary);
  if (!in) {
    err << "remora-pilot mint-token: cannot read " << key_path << "\n";
    return 1;
  }
  std::string pem{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto key = crypto::KeyPair::fromPem(pem);
  std::fill(pem.begin(), pem.end(), '\0');  // the private key need not linger in memory
  if (!key.ok()) {
    err << "remora-pilot mint-token: " << key_path << ": " << key.error() << "\n";
    return 1;
  }
  auto token = mintServiceAccountToken(*key, options, std::chrono::system_clock::now());
  if (!token.ok()) {
    err << "remora-pilot mint-token: " << token.error() << "\n";
    return 1;
  }
  out << *token << "\n";
  return 0;
}

}  // namespace remora::pilot::ca
