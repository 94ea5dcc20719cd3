#include "filters/listener/protocol_detection/protocol_sniffer.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>

namespace remora::filters::protocol_detection {
namespace {

constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr uint8_t kHandshakeRecord = 0x16;
constexpr uint8_t kClientHello = 0x01;
constexpr uint16_t kExtServerName = 0;
constexpr uint16_t kExtAlpn = 16;
// Longest method we wait for; real ones are far shorter (PROPFIND, MKCALENDAR).
constexpr size_t kMaxMethod = 24;

SniffResult only(Verdict verdict) {
  SniffResult result;
  result.verdict = verdict;
  return result;
}

SniffResult http1(const char* version) {
  SniffResult result = only(Verdict::kHttp1);
  result.http_version = version;
  return result;
}

// Reads big-endian fields from a byte range; any read past the end marks it failed.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool ok() const { return ok_; }
  size_t remaining() const { return data_.size() - pos_; }
  uint32_t read(size_t n) {
    if (remaining() < n) {
      ok_ = false;
      pos_ = data_.size();
      return 0;
    }
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(data_[pos_++]);
    return v;
  }
  std::string_view take(size_t n) {
    if (remaining() < n) {
      ok_ = false;
      pos_ = data_.size();
      return {};
    }
    std::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// The handshake message bytes carried by the leading handshake records of `bytes` (a
// ClientHello may span records). nullopt: more bytes are needed; "" when malformed.
std::optional<std::string> handshakeMessage(std::string_view bytes, bool final) {
  std::string message;
  size_t pos = 0;
  std::optional<size_t> wanted;  // whole handshake message length, header included
  while (!wanted || message.size() < *wanted) {
    if (bytes.size() - pos < 5) return final ? std::optional<std::string>("") : std::nullopt;
    if (static_cast<uint8_t>(bytes[pos]) != kHandshakeRecord) return std::string();
    size_t length =
        (static_cast<uint8_t>(bytes[pos + 3]) << 8) | static_cast<uint8_t>(bytes[pos + 4]);
    if (length == 0 || length > 16384 + 2048) return std::string();
    if (bytes.size() - pos - 5 < length) {
      return final ? std::optional<std::string>("") : std::nullopt;
    }
    message.append(bytes.substr(pos + 5, length));
    pos += 5 + length;
    if (!wanted && message.size() >= 4) {
      wanted = 4 + ((static_cast<uint8_t>(message[1]) << 16) |
                    (static_cast<uint8_t>(message[2]) << 8) | static_cast<uint8_t>(message[3]));
    }
  }
  message.resize(*wanted);
  return message;
}

void parseServerName(std::string_view ext, SniffResult& result) {
  Reader r(ext);
  Reader list(r.take(r.read(2)));
  while (list.ok() && list.remaining() > 0) {
    uint32_t type = list.read(1);
    std::string_view name = list.take(list.read(2));
    if (!list.ok()) return;
    if (type == 0) {  // host_name
      result.server_name.assign(name);
      std::transform(result.server_name.begin(), result.server_name.end(),
                     result.server_name.begin(), [](unsigned char c) { return std::tolower(c); });
      return;
    }
  }
}

void parseAlpn(std::string_view ext, SniffResult& result) {
  Reader r(ext);
  Reader list(r.take(r.read(2)));
  while (list.ok() && list.remaining() > 0) {
    std::string_view protocol = list.take(list.read(1));
    if (!list.ok() || protocol.empty()) return;
    result.alpn.emplace_back(protocol);
  }
}

SniffResult sniffTls(std::string_view bytes, bool final) {
  SniffResult result;
  // Record header: type, version major 3, minor 0..4.
  if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[1]) != 0x03) return only(Verdict::kOpaque);
  if (bytes.size() >= 3 && static_cast<uint8_t>(bytes[2]) > 0x04) return only(Verdict::kOpaque);
  auto message = handshakeMessage(bytes, final);
  if (!message) return result;  // need more
  if (message->empty() || static_cast<uint8_t>((*message)[0]) != kClientHello) {
    return only(Verdict::kOpaque);
  }
  Reader r(std::string_view(*message).substr(4));
  r.read(2);          // client_version
  r.take(32);         // random
  r.take(r.read(1));  // session id
  r.take(r.read(2));  // cipher suites
  r.take(r.read(1));  // compression methods
  if (!r.ok()) return only(Verdict::kOpaque);
  result.verdict = Verdict::kTls;
  if (r.remaining() == 0) return result;  // no extensions: still TLS
  Reader extensions(r.take(r.read(2)));
  while (extensions.ok() && extensions.remaining() > 0) {
    uint32_t type = extensions.read(2);
    std::string_view body = extensions.take(extensions.read(2));
    if (!extensions.ok()) break;
    if (type == kExtServerName) parseServerName(body, result);
    if (type == kExtAlpn) parseAlpn(body, result);
  }
  return result;
}

bool isMethodChar(char c) { return (c >= 'A' && c <= 'Z') || c == '-' || c == '_'; }

SniffResult sniffHttp1(std::string_view bytes, bool final) {
  SniffResult undecided;
  SniffResult opaque = only(Verdict::kOpaque);
  size_t space = bytes.find(' ');
  std::string_view method = bytes.substr(0, space);
  if (method.size() > kMaxMethod) return opaque;
  if (!std::all_of(method.begin(), method.end(), isMethodChar)) return opaque;
  if (space == std::string_view::npos) return final ? opaque : undecided;
  if (method.empty()) return opaque;
  // Request target: visible ASCII up to the next space.
  size_t target_end = space + 1;
  while (target_end < bytes.size() && bytes[target_end] != ' ') {
    unsigned char c = static_cast<unsigned char>(bytes[target_end]);
    if (c <= 0x20 || c >= 0x7f) return opaque;
    ++target_end;
  }
  if (target_end == bytes.size()) {
    // A very long target that filled the buffer still looks like HTTP.
    if (final && bytes.size() >= kMaxSniffBytes) return http1("http/1.1");
    return final ? opaque : undecided;
  }
  if (target_end == space + 1) return opaque;  // empty target
  std::string_view version = bytes.substr(target_end + 1);
  for (std::string_view candidate : {"HTTP/1.1\r\n", "HTTP/1.0\r\n"}) {
    if (version.size() >= candidate.size()) {
      if (version.substr(0, candidate.size()) == candidate) {
        return http1(candidate.substr(0, 8) == "HTTP/1.1" ? "http/1.1" : "http/1.0");
      }
    } else if (candidate.substr(0, version.size()) == version) {
      return final ? opaque : undecided;
    }
  }
  return opaque;
}

}  // namespace

SniffResult sniff(std::string_view bytes, bool final) {
  if (bytes.empty()) return final ? only(Verdict::kOpaque) : SniffResult{};
  if (static_cast<uint8_t>(bytes[0]) == kHandshakeRecord) return sniffTls(bytes, final);
  size_t n = std::min(bytes.size(), kH2Preface.size());
  if (bytes.substr(0, n) == kH2Preface.substr(0, n)) {
    if (n == kH2Preface.size()) return only(Verdict::kHttp2);
    // "PRI " is also a valid HTTP/1 method prefix, but only the preface follows it in practice.
    if (!final) return {};
  }
  return sniffHttp1(bytes, final);
}

}  // namespace remora::filters::protocol_detection
