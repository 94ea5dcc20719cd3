#include "source/common/crypto/subject_alt_name.h"

#include <arpa/inet.h>

#include <climits>

#include "source/common/crypto/openssl_util.h"

namespace remora::crypto {
namespace {

std::string asn1StringBytes(const ASN1_STRING* string) {
  if (string == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(string)),
                     static_cast<size_t>(ASN1_STRING_length(string)));
}

// The 4- or 16-byte iPAddress in text form. Other lengths (a name constraint's address/mask,
// which should never appear in a SAN) are shown as hex so nothing is silently dropped.
std::string ipToString(const ASN1_OCTET_STRING* address) {
  const std::string bytes = asn1StringBytes(address);
  char text[INET6_ADDRSTRLEN] = {};
  if (bytes.size() == 4 && inet_ntop(AF_INET, bytes.data(), text, sizeof(text)) != nullptr) {
    return text;
  }
  if (bytes.size() == 16 && inet_ntop(AF_INET6, bytes.data(), text, sizeof(text)) != nullptr) {
    return text;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex = "invalid IP address 0x";
  for (const char c : bytes) {
    hex += kHex[(static_cast<unsigned char>(c) >> 4) & 0xf];
    hex += kHex[static_cast<unsigned char>(c) & 0xf];
  }
  return hex;
}

std::string_view otherKindName(int type) {
  switch (type) {
    case GEN_OTHERNAME:
      return "otherName";
    case GEN_X400:
      return "x400Address";
    case GEN_DIRNAME:
      return "dirName";
    case GEN_EDIPARTY:
      return "ediPartyName";
    case GEN_RID:
      return "registeredID";
    default:
      return "unknown";
  }
}

using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, OpenSslDeleter<GENERAL_NAME_free>>;

// One SAN as a GENERAL_NAME.
Result<GeneralNamePtr> generalName(const SubjectAltName& san) {
  GeneralNamePtr name(GENERAL_NAME_new());
  if (!name) {
    return Error{"out of memory building subjectAltName"};
  }
  if (san.type == SanType::kIp) {
    unsigned char bytes[16];
    int length = 0;
    if (inet_pton(AF_INET, san.value.c_str(), bytes) == 1) {
      length = 4;
    } else if (inet_pton(AF_INET6, san.value.c_str(), bytes) == 1) {
      length = 16;
    } else {
      return Error{"subjectAltName IP " + quoteForMessage(san.value) + " is not an IP address"};
    }
    ASN1_OCTET_STRING* address = ASN1_OCTET_STRING_new();
    if (address == nullptr || ASN1_OCTET_STRING_set(address, bytes, length) != 1) {
      ASN1_OCTET_STRING_free(address);
      return Error{"out of memory building subjectAltName"};
    }
    GENERAL_NAME_set0_value(name.get(), GEN_IPADD, address);  // `name` now owns `address`
    return name;
  }
  int type = 0;
  switch (san.type) {
    case SanType::kUri:
      type = GEN_URI;
      break;
    case SanType::kDns:
      type = GEN_DNS;
      break;
    case SanType::kEmail:
      type = GEN_EMAIL;
      break;
    default:
      return Error{"subjectAltName: cannot encode a name of type " +
                   std::string(sanTypeName(san.type))};
  }
  if (san.value.size() > static_cast<size_t>(INT_MAX)) {
    return Error{"subjectAltName " + std::string(sanTypeName(san.type)) + " is too long"};
  }
  ASN1_IA5STRING* value = ASN1_IA5STRING_new();
  if (value == nullptr ||
      ASN1_STRING_set(value, san.value.data(), static_cast<int>(san.value.size())) != 1) {
    ASN1_IA5STRING_free(value);
    return Error{
        withOpenSslReason("cannot encode subjectAltName " + std::string(sanTypeName(san.type)))};
  }
  GENERAL_NAME_set0_value(name.get(), type, value);  // `name` now owns `value`
  return name;
}

}  // namespace

std::string_view sanTypeName(SanType type) {
  switch (type) {
    case SanType::kUri:
      return "URI";
    case SanType::kDns:
      return "DNS";
    case SanType::kIp:
      return "IP";
    case SanType::kEmail:
      return "email";
    case SanType::kOther:
      return "other";
  }
  return "other";
}

std::vector<SubjectAltName> sansFromGeneralNames(const GENERAL_NAMES* names) {
  std::vector<SubjectAltName> sans;
  if (names == nullptr) {
    return sans;
  }
  const int count = sk_GENERAL_NAME_num(names);
  for (int i = 0; i < count; ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    switch (name->type) {
      case GEN_URI:
        sans.push_back({SanType::kUri, asn1StringBytes(name->d.uniformResourceIdentifier)});
        break;
      case GEN_DNS:
        sans.push_back({SanType::kDns, asn1StringBytes(name->d.dNSName)});
        break;
      case GEN_EMAIL:
        sans.push_back({SanType::kEmail, asn1StringBytes(name->d.rfc822Name)});
        break;
      case GEN_IPADD:
        sans.push_back({SanType::kIp, ipToString(name->d.iPAddress)});
        break;
      default:
        sans.push_back({SanType::kOther, std::string(otherKindName(name->type))});
        break;
    }
  }
  return sans;
}

std::vector<std::string> sanValuesOfType(const std::vector<SubjectAltName>& sans, SanType type) {
  std::vector<std::string> values;
  for (const SubjectAltName& san : sans) {
    if (san.type == type) {
      values.push_back(san.value);
    }
  }
  return values;
}

Result<X509ExtensionPtr> uriSanExtension(std::string_view uri, bool critical) {
  return sanExtension({{SanType::kUri, std::string(uri)}}, critical);
}

Result<X509ExtensionPtr> sanExtension(const std::vector<SubjectAltName>& sans, bool critical) {
  OpenSslErrorScope errors;
  if (sans.empty()) {
    return Error{"subjectAltName needs at least one name"};
  }
  // Built from GENERAL_NAME objects rather than a "URI:..." config string, so no character in
  // a name can be read as config syntax (a comma starting a second name, say).
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) {
    return Error{"out of memory building subjectAltName"};
  }
  for (const SubjectAltName& san : sans) {
    auto name = generalName(san);
    if (!name.ok()) {
      return Error{name.error()};
    }
    if (sk_GENERAL_NAME_push(names.get(), name->get()) == 0) {
      return Error{"out of memory building subjectAltName"};
    }
    name->release();  // `names` owns it now
  }
  X509ExtensionPtr extension(X509V3_EXT_i2d(NID_subject_alt_name, critical ? 1 : 0, names.get()));
  if (!extension) {
    return Error{withOpenSslReason("cannot encode subjectAltName extension")};
  }
  return extension;
}

}  // namespace remora::crypto
