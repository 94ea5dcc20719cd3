#pragma once

// Small OpenSSL plumbing shared by the rest of the library: keeping OpenSSL's thread-local
// error queue clean, moving bytes in and out of memory BIOs, reading PEM certificates, and
// converting ASN.1 times and names.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

#include "source/common/crypto/openssl_ptr.h"
#include "source/common/crypto/result.h"

namespace remora::crypto {

// Discards, on destruction, every error OpenSSL queued on this thread since construction,
// keeping errors that were already queued. The proxy's TLS code inspects the same thread-local
// queue (SSL_get_error), so errors left behind by a failed certificate parse would be blamed on
// an unrelated connection. Every function that calls OpenSSL opens one of these first and
// builds its error message before returning.
class OpenSslErrorScope {
 public:
  OpenSslErrorScope();
  ~OpenSslErrorScope();
  OpenSslErrorScope(const OpenSslErrorScope&) = delete;
  OpenSslErrorScope& operator=(const OpenSslErrorScope&) = delete;
};

// `message`, followed by ": <reason>" when OpenSSL queued an error explaining the failure.
// Does not remove anything from the queue.
std::string withOpenSslReason(std::string message);

// Whether the most recent queued error is PEM's "no start line", i.e. the input held no PEM
// block of the requested kind (as opposed to a malformed one).
bool lastErrorIsPemNoStartLine();

// A read-only memory BIO over `data`, which must outlive the BIO. Errors: data larger than
// 2 GiB (OpenSSL lengths are int), allocation failure.
Result<BioPtr> readOnlyBio(std::string_view data);

// An empty, writable memory BIO. Errors: allocation failure.
Result<BioPtr> writableBio();

// Everything written to the memory BIO `bio` so far, copied out. The BIO's buffer is
// cleansed afterwards because it may have held a private key.
std::string bioContents(BIO* bio);

// All certificates in the PEM text (one or more), in order. Text outside PEM blocks is
// ignored. Errors are prefixed with `what` (e.g. "certificate PEM: no certificate found",
// or a malformed/truncated block).
Result<std::vector<X509Ptr>> readCertificatesPem(std::string_view pem, std::string_view what);

// Exactly one certificate; more than one is an error ("<what>: expected one certificate,
// found N").
Result<X509Ptr> readOneCertificatePem(std::string_view pem, std::string_view what);

// The certificate as PEM. Errors: encoding or allocation failure.
Result<std::string> certificateToPem(X509* cert);

// The certificate's DER encoding, for comparing certificates byte for byte; empty on failure.
std::string certificateDer(X509* cert);

// The ASN.1 time (UTCTime or GeneralizedTime) as a time point, to the second.
// Errors: malformed time.
Result<std::chrono::system_clock::time_point> asn1TimeToTimePoint(const ASN1_TIME* time);

// Sets `time` to `when` (UTCTime up to 2049, GeneralizedTime after, as RFC 5280 requires).
Status setAsn1Time(ASN1_TIME* time, std::chrono::system_clock::time_point when);

// `when` as "2026-01-31T12:00:00Z" (UTC, to the second), for messages.
std::string formatTime(std::chrono::system_clock::time_point when);

// The name in RFC 2253 form ("CN=root,O=remora"); empty for an empty name.
std::string nameToString(const X509_NAME* name);

}  // namespace remora::crypto
