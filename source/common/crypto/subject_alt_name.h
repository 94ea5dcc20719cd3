#pragma once

// Subject alternative names: reading them out of certificates and CSRs into typed values, and
// building the URI-only SAN extension that carries a SPIFFE ID.

#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509v3.h>

#include "source/common/crypto/openssl_ptr.h"
#include "source/common/crypto/result.h"

namespace remora::crypto {

enum class SanType { kUri, kDns, kIp, kEmail, kOther };

struct SubjectAltName {
  SanType type;
  // URI, DNS name and email as encoded (bytes copied verbatim); IP in text form ("10.0.0.1",
  // "2001:db8::1"); kOther a short description of the name's kind ("otherName", "dirName",
  // "registeredID", "x400Address", "ediPartyName").
  std::string value;

  bool operator==(const SubjectAltName&) const = default;
};

// "URI", "DNS", "IP", "email" or "other", for messages and admin pages.
std::string_view sanTypeName(SanType type);

// The names in `names` (may be null: no names), in order.
std::vector<SubjectAltName> sansFromGeneralNames(const GENERAL_NAMES* names);

// The values of the SANs of `type` in `sans`, in order.
std::vector<std::string> sanValuesOfType(const std::vector<SubjectAltName>& sans, SanType type);

// A subjectAltName extension holding exactly one URI, `uri` (not validated here), marked
// critical if `critical`. Errors: encoding or allocation failure.
Result<X509ExtensionPtr> uriSanExtension(std::string_view uri, bool critical);

// A subjectAltName extension holding `names` in order, marked critical if `critical`. URI,
// DNS and email values are encoded byte for byte (not validated here); IP values are parsed
// from text ("10.0.0.1", "2001:db8::1"). Errors: no names, a kOther name, an IP address that
// does not parse (quoted), encoding or allocation failure.
Result<X509ExtensionPtr> sanExtension(const std::vector<SubjectAltName>& names, bool critical);

}  // namespace remora::crypto
