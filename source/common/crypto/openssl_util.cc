#include "source/common/crypto/openssl_util.h"

#include <climits>
#include <cstdio>

#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

namespace remora::crypto {

OpenSslErrorScope::OpenSslErrorScope() { ERR_set_mark(); }

OpenSslErrorScope::~OpenSslErrorScope() { ERR_pop_to_mark(); }

std::string withOpenSslReason(std::string message) {
  const unsigned long code = ERR_peek_last_error();
  if (code == 0) {
    return message;
  }
  // The reason alone ("bad end line") reads better in our messages than the full
  // "error:0480006C:PEM routines::no start line" form.
  const char* reason = ERR_reason_error_string(code);
  if (reason != nullptr) {
    return message + ": " + reason;
  }
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof(buffer));
  return message + ": " + buffer;
}

bool lastErrorIsPemNoStartLine() {
  const unsigned long code = ERR_peek_last_error();
  return ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE;
}

Result<BioPtr> readOnlyBio(std::string_view data) {
  if (data.size() > static_cast<size_t>(INT_MAX)) {
    return Error{"input of " + std::to_string(data.size()) + " bytes is too large"};
  }
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) {
    return Error{"out of memory allocating a BIO"};
  }
  return bio;
}

Result<BioPtr> writableBio() {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) {
    return Error{"out of memory allocating a BIO"};
  }
  return bio;
}

std::string bioContents(BIO* bio) {
  BUF_MEM* memory = nullptr;
  BIO_get_mem_ptr(bio, &memory);
  if (memory == nullptr || memory->data == nullptr) {
    return {};
  }
  std::string contents(memory->data, memory->length);
  OPENSSL_cleanse(memory->data, memory->length);
  return contents;
}

Result<std::vector<X509Ptr>> readCertificatesPem(std::string_view pem, std::string_view what) {
  OpenSslErrorScope errors;
  auto bio = readOnlyBio(pem);
  if (!bio.ok()) {
    return Error{std::string(what) + ": " + bio.error()};
  }
  std::vector<X509Ptr> certs;
  while (true) {
    X509Ptr cert(PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr));
    if (cert) {
      certs.push_back(std::move(cert));
      continue;
    }
    // "No start line" after at least one certificate is the normal end of input; anything
    // else (a truncated block, bad base64, undecodable DER) is a malformed certificate.
    if (lastErrorIsPemNoStartLine()) {
      if (certs.empty()) {
        return Error{std::string(what) + ": no certificate found"};
      }
      return certs;
    }
    return Error{withOpenSslReason(std::string(what) + ": malformed certificate #" +
                                   std::to_string(certs.size() + 1))};
  }
}

Result<X509Ptr> readOneCertificatePem(std::string_view pem, std::string_view what) {
  auto certs = readCertificatesPem(pem, what);
  if (!certs.ok()) {
    return Error{certs.error()};
  }
  if (certs->size() != 1) {
    return Error{std::string(what) + ": expected one certificate, found " +
                 std::to_string(certs->size())};
  }
  return std::move(certs->front());
}

Result<std::string> certificateToPem(X509* cert) {
  OpenSslErrorScope errors;
  auto bio = writableBio();
  if (!bio.ok()) {
    return Error{bio.error()};
  }
  if (PEM_write_bio_X509(bio->get(), cert) != 1) {
    return Error{withOpenSslReason("cannot encode certificate as PEM")};
  }
  return bioContents(bio->get());
}

std::string certificateDer(X509* cert) {
  OpenSslErrorScope errors;
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert, &der);
  if (length <= 0 || der == nullptr) {
    return {};
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

Result<std::chrono::system_clock::time_point> asn1TimeToTimePoint(const ASN1_TIME* time) {
  OpenSslErrorScope errors;
  // ASN1_TIME_to_tm(nullptr) would mean "now"; never what a caller passing a field wants.
  if (time == nullptr) {
    return Error{"missing time"};
  }
  struct tm fields {};
  if (ASN1_TIME_to_tm(time, &fields) != 1) {
    return Error{withOpenSslReason("malformed ASN.1 time")};
  }
  // Calendar arithmetic with <chrono> rather than timegm(), which is not standard C++ and
  // depends on the C library's handling of the TZ environment.
  using namespace std::chrono;
  const year_month_day date{year{fields.tm_year + 1900},
                            month{static_cast<unsigned>(fields.tm_mon + 1)},
                            day{static_cast<unsigned>(fields.tm_mday)}};
  if (!date.ok()) {
    return Error{"malformed ASN.1 time: invalid date"};
  }
  return system_clock::time_point(sys_days{date} + hours{fields.tm_hour} + minutes{fields.tm_min} +
                                  seconds{fields.tm_sec});
}

Status setAsn1Time(ASN1_TIME* time, std::chrono::system_clock::time_point when) {
  OpenSslErrorScope errors;
  if (ASN1_TIME_set(time, std::chrono::system_clock::to_time_t(when)) == nullptr) {
    return Error{withOpenSslReason("cannot set certificate time")};
  }
  return {};
}

std::string formatTime(std::chrono::system_clock::time_point when) {
  using namespace std::chrono;
  const sys_days day = floor<days>(when);
  const year_month_day date(day);
  const hh_mm_ss<seconds> time(floor<seconds>(when - day));
  char text[40];
  std::snprintf(text, sizeof(text), "%04d-%02u-%02uT%02ld:%02ld:%02lldZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<long>(time.hours().count()),
                static_cast<long>(time.minutes().count()),
                static_cast<long long>(time.seconds().count()));
  return text;
}

std::string nameToString(const X509_NAME* name) {
  OpenSslErrorScope errors;
  auto bio = writableBio();
  if (!bio.ok() || name == nullptr) {
    return {};
  }
  // XN_FLAG_RFC2253 without the flag that escapes UTF-8 as \XX keeps names readable.
  if (X509_NAME_print_ex(bio->get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
    return {};
  }
  return bioContents(bio->get());
}

}  // namespace remora::crypto
