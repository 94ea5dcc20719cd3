#include "source/common/tls/certificate_summary.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>

#include "source/common/tls/san_matcher.h"

namespace remora::tls {
namespace {

std::string nameText(const X509_NAME* name) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

std::time_t timeOf(const ASN1_TIME* time) {
  struct tm parts {};
  if (ASN1_TIME_to_tm(time, &parts) != 1) return 0;
  return timegm(&parts);
}

std::string jsonEscaped(const std::string& in) {
  std::string out;
  for (char c : in) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

std::string isoTime(std::time_t t) {
  char text[32];
  struct tm parts {};
  gmtime_r(&t, &parts);
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

}  // namespace

std::vector<CertificateSummary> summarizePem(const std::string& pem) {
  std::vector<CertificateSummary> out;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    CertificateSummary summary;
    summary.subject = nameText(X509_get_subject_name(cert));
    summary.issuer = nameText(X509_get_issuer_name(cert));
    if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
      char* hex = BN_bn2hex(serial);
      summary.serial = hex;
      OPENSSL_free(hex);
      BN_free(serial);
    }
    static const char* kPrefixes[] = {"", "EMAIL:", "DNS:", "URI:", "IP:"};
    for (auto& [type, value] : subjectAltNames(cert)) {
      summary.sans.push_back(kPrefixes[static_cast<int>(type)] + value);
    }
    summary.not_before = timeOf(X509_get0_notBefore(cert));
    summary.not_after = timeOf(X509_get0_notAfter(cert));
    out.push_back(std::move(summary));
    X509_free(cert);
  }
  ERR_clear_error();
  return out;
}

std::string certificateJson(const CertificateSummary& summary, std::time_t now) {
  std::string sans;
  for (const auto& san : summary.sans) {
    if (!sans.empty()) sans += ", ";
    sans += "\"" + jsonEscaped(san) + "\"";
  }
  long long left = static_cast<long long>(summary.not_after) - static_cast<long long>(now);
  return "{\"subject\": \"" + jsonEscaped(summary.subject) + "\", \"issuer\": \"" +
         jsonEscaped(summary.issuer) + "\", \"serial_number\": \"" + summary.serial +
         "\", \"subject_alt_names\": [" + sans + "], \"valid_from\": \"" +
         isoTime(summary.not_before) + "\", \"expiration_time\": \"" + isoTime(summary.not_after) +
         "\", \"seconds_until_expiration\": " + std::to_string(left) + "}";
}

}  // namespace remora::tls
