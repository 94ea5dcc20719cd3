#include "source/common/tls/san_matcher.h"

#include <openssl/x509v3.h>

#include "source/common/crypto/subject_alt_name.h"

namespace remora::tls {
namespace {
using Proto = extensions::transport_sockets::tls::v1::SubjectAltNameMatcher;

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
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  std::vector<std::pair<SanMatcher::Type, std::string>> out;
  for (auto& san : crypto::sansFromGeneralNames(names)) {
    switch (san.type) {
      case crypto::SanType::kUri:
        out.emplace_back(SanMatcher::Type::kUri, std::move(san.value));
        break;
      case crypto::SanType::kDns:
        out.emplace_back(SanMatcher::Type::kDns, std::move(san.value));
        break;
      case crypto::SanType::kEmail:
        out.emplace_back(SanMatcher::Type::kEmail, std::move(san.value));
        break;
      case crypto::SanType::kIp:
        out.emplace_back(SanMatcher::Type::kIp, std::move(san.value));
        break;
      case crypto::SanType::kOther:
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
