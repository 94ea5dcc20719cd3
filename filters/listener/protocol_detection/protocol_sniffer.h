#pragma once

// Classifies the first bytes a client sent, without consuming them: a TLS ClientHello (with
// its SNI host name and ALPN list), an HTTP/1.x request line, the HTTP/2 connection preface,
// or something else (opaque). Pure functions over a byte prefix, so every case is unit-tested
// byte by byte.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace remora::filters::protocol_detection {

enum class Verdict {
  kNeedMoreData,  // the bytes so far fit more than one answer
  kTls,
  kHttp1,
  kHttp2,
  kOpaque,
};

struct SniffResult {
  Verdict verdict = Verdict::kNeedMoreData;
  // kTls: SNI (lower-cased) and ALPN protocols, when the ClientHello carried them.
  std::string server_name;
  std::vector<std::string> alpn;
  // kHttp1: "http/1.0" or "http/1.1".
  std::string http_version;
};

// Bytes worth peeking: a ClientHello of one full TLS record, or a long request line.
constexpr size_t kMaxSniffBytes = 16384 + 5;

// `bytes`: what the client sent so far (a prefix of its stream). `final`: no more bytes will
// be looked at (peer closed, the buffer is full, or time is up), so an undecided prefix gets
// its best answer instead of kNeedMoreData.
SniffResult sniff(std::string_view bytes, bool final);

}  // namespace remora::filters::protocol_detection
