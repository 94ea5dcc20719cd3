#include "source/common/tls/san_matcher.h"

#include <arpa/inet.h>
#include <openssl/x509v3.h>

#include <memory>

namespace remora::tls {
namespace {
using Proto = extensions::transport_sockets::tls::v1::SubjectAltNameMatcher;

std::string ipText(const ASN1_OCTET_STRING* ip) {
  char text[INET6_ADDRSTRLEN] = {};
  int length = ASN1_STRING_length(ip);
  const unsigned char* bytes = ASN1_STRING_get0_data(ip);
  if (length == 4) {
    inet_ntop(AF_INET, bytes, text, sizeof(text));
  } else if (length == 16) {
    inet_ntop(AF_INET6, bytes, text, sizeof(text));
  }
  return text;
}

std::string asn1Text(const ASN1_IA5STRING* value) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     ASN1_STRING_length(value));
}
}  // namespace

bool SanMatcher::fromProto(const Proto& proto, const std::string& path, config::Errors& errors,
                           SanMatcher& out) {
  switch (proto.san_type()) {
    case Proto::EMAIL:
      out.type_ = Type::kEmail;
      break;
    case Proto::DNS:
      out.type_ = Type::kDns;
      break;
    case Proto::URI:
      out.type_ = Type::kUri;
      break;
    case Proto::IP_ADDRESS:
      out.type_ = Type::kIp;
      break;
    default:
      errors.add(path + ".san_type", "must be EMAIL, DNS, URI or IP_ADDRESS");
      return false;
  }
  switch (proto.match_pattern_case()) {
    case Proto::kExact:
      out.kind_ = Kind::kExact;
      out.pattern_ = proto.exact();
      break;
    case Proto::kPrefix:
      out.kind_ = Kind::kPrefix;
      out.pattern_ = proto.prefix();
      break;
    case Proto::kSuffix:
      out.kind_ = Kind::kSuffix;
      out.pattern_ = proto.suffix();
      break;
    default:
      errors.add(path, "needs one of exact, prefix or suffix");
      return false;
  }
  if (out.pattern_.empty()) {
    errors.add(path, "the pattern must not be empty");
    return false;
  }
  return true;
}

bool SanMatcher::matches(Type type, const std::string& value) const {
  if (type_ != Type::kAny && type != type_) return false;
  switch (kind_) {
    case Kind::kExact:
      return value == pattern_;
    case Kind::kPrefix:
      return value.starts_with(pattern_);
    case Kind::kSuffix:
      return value.ends_with(pattern_);
  }
  return false;
}

std::string SanMatcher::describe() const {
  static const char* kTypes[] = {"any", "EMAIL", "DNS", "URI", "IP_ADDRESS"};
  static const char* kKinds[] = {"exact", "prefix", "suffix"};
  return std::string(kTypes[static_cast<int>(type_)]) + " " + kKinds[static_cast<int>(kind_)] +
         " \"" + pattern_ + "\"";
}

std::vector<std::pair<SanMatcher::Type, std::string>> subjectAltNames(X509* cert) {
  std::vector<std::pair<SanMatcher::Type, std::string>> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    switch (name->type) {
      case GEN_URI:
        out.emplace_back(SanMatcher::Type::kUri, asn1Text(name->d.uniformResourceIdentifier));
        break;
      case GEN_DNS:
        out.emplace_back(SanMatcher::Type::kDns, asn1Text(name->d.dNSName));
        break;
      case GEN_EMAIL:
        out.emplace_back(SanMatcher::Type::kEmail, asn1Text(name->d.rfc822Name));
        break;
      case GEN_IPADD:
        out.emplace_back(SanMatcher::Type::kIp, ipText(name->d.iPAddress));
        break;
      default:
        break;
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

bool matchesAnySan(X509* cert, const std::vector<SanMatcher>& matchers) {
  if (matchers.empty()) return true;
  for (const auto& [type, value] : subjectAltNames(cert)) {
    for (const auto& matcher : matchers) {
      if (matcher.matches(type, value)) return true;
    }
  }
  return false;
}

}  // namespace remora::tls
