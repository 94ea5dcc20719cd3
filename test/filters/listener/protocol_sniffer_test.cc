// Byte-level cases of protocol detection: every verdict, every prefix of each input (a prefix
// is never decided wrongly, only "need more"), and malformed ClientHellos.

#include "filters/listener/protocol_detection/protocol_sniffer.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

using namespace std::string_literals;

namespace remora::filters::protocol_detection {
namespace {

std::string u8(uint32_t v) { return std::string(1, static_cast<char>(v & 0xff)); }
std::string u16(uint32_t v) { return u8(v >> 8) + u8(v); }
std::string u24(uint32_t v) { return u8(v >> 16) + u16(v); }

std::string extension(uint16_t type, const std::string& body) {
  return u16(type) + u16(static_cast<uint32_t>(body.size())) + body;
}

std::string sniExtension(const std::string& host) {
  std::string entry = u8(0) + u16(static_cast<uint32_t>(host.size())) + host;
  return extension(0, u16(static_cast<uint32_t>(entry.size())) + entry);
}

std::string alpnExtension(const std::vector<std::string>& protocols) {
  std::string list;
  for (const auto& p : protocols) list += u8(static_cast<uint32_t>(p.size())) + p;
  return extension(16, u16(static_cast<uint32_t>(list.size())) + list);
}

// A ClientHello handshake message (header included) as TLS 1.3 clients send it.
std::string clientHelloMessage(const std::string& extensions, size_t padding = 0) {
  std::string body = u16(0x0303) + std::string(32, 'r') + u8(32) + std::string(32, 's') + u16(4) +
                     u16(0x1301) + u16(0x1302) + u8(1) + u8(0);
  std::string ext = extensions;
  if (padding > 0) ext += extension(21, std::string(padding, '\0'));
  body += u16(static_cast<uint32_t>(ext.size())) + ext;
  return u8(1) + u24(static_cast<uint32_t>(body.size())) + body;
}

// The message in handshake records of at most `fragment` bytes each.
std::string records(const std::string& message, size_t fragment = 16384) {
  std::string out;
  for (size_t pos = 0; pos < message.size(); pos += fragment) {
    std::string part = message.substr(pos, fragment);
    out += u8(0x16) + u16(0x0301) + u16(static_cast<uint32_t>(part.size())) + part;
  }
  return out;
}

// Every strict prefix is undecided or agrees with the full answer.
void expectPrefixesConsistent(const std::string& bytes, Verdict full) {
  for (size_t n = 0; n < bytes.size(); ++n) {
    SniffResult r = sniff(std::string_view(bytes).substr(0, n), false);
    EXPECT_TRUE(r.verdict == Verdict::kNeedMoreData || r.verdict == full)
        << "prefix of " << n << " bytes decided early";
  }
}

TEST(ProtocolSnifferTest, TlsClientHelloWithSniAndAlpn) {
  std::string hello = records(
      clientHelloMessage(sniExtension("API.Example.COM") + alpnExtension({"h2", "http/1.1"})));
  SniffResult r = sniff(hello, false);
  ASSERT_EQ(r.verdict, Verdict::kTls);
  EXPECT_EQ(r.server_name, "api.example.com");
  EXPECT_EQ(r.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  expectPrefixesConsistent(hello, Verdict::kTls);
  // Bytes after the hello (none are sent in practice) do not change the answer.
  EXPECT_EQ(sniff(hello + "xyz", false).server_name, "api.example.com");
}

TEST(ProtocolSnifferTest, TlsWithoutExtensionsOrSni) {
  SniffResult r = sniff(records(clientHelloMessage("")), false);
  EXPECT_EQ(r.verdict, Verdict::kTls);
  EXPECT_EQ(r.server_name, "");
  EXPECT_TRUE(r.alpn.empty());
  r = sniff(records(clientHelloMessage(alpnExtension({"http/1.1"}))), false);
  EXPECT_EQ(r.verdict, Verdict::kTls);
  EXPECT_EQ(r.server_name, "");
  EXPECT_EQ(r.alpn, std::vector<std::string>{"http/1.1"});
}

TEST(ProtocolSnifferTest, ClientHelloSpanningRecords) {
  std::string hello = records(clientHelloMessage(sniExtension("split.example"), 3000), 1000);
  SniffResult r = sniff(hello, false);
  ASSERT_EQ(r.verdict, Verdict::kTls);
  EXPECT_EQ(r.server_name, "split.example");
  expectPrefixesConsistent(hello, Verdict::kTls);
}

TEST(ProtocolSnifferTest, TruncatedHelloIsUndecidedThenOpaqueWhenFinal) {
  std::string hello = records(clientHelloMessage(sniExtension("a.example")));
  std::string half = hello.substr(0, hello.size() / 2);
  EXPECT_EQ(sniff(half, false).verdict, Verdict::kNeedMoreData);
  EXPECT_EQ(sniff(half, true).verdict, Verdict::kOpaque);
}

TEST(ProtocolSnifferTest, MalformedTlsIsOpaque) {
  // Not a ClientHello (ServerHello type 2).
  std::string message = clientHelloMessage(sniExtension("a.example"));
  message[0] = 2;
  EXPECT_EQ(sniff(records(message), false).verdict, Verdict::kOpaque);
  // Record version not 3.x.
  std::string bad = records(clientHelloMessage(""));
  bad[1] = 0x05;
  EXPECT_EQ(sniff(bad, false).verdict, Verdict::kOpaque);
  // Handshake length larger than its fields: the body runs out.
  std::string body_short = u8(1) + u24(10) + std::string(10, '\0');
  EXPECT_EQ(sniff(records(body_short), false).verdict, Verdict::kOpaque);
  // Zero-length record.
  EXPECT_EQ(sniff(u8(0x16) + u16(0x0301) + u16(0), false).verdict, Verdict::kOpaque);
  // SNI extension whose inner length overruns: still TLS, no name.
  std::string broken_sni = extension(0, u16(50) + u8(0) + u16(3) + "abc");
  SniffResult r = sniff(records(clientHelloMessage(broken_sni)), false);
  EXPECT_EQ(r.verdict, Verdict::kTls);
  EXPECT_EQ(r.server_name, "");
}

TEST(ProtocolSnifferTest, Http1RequestLines) {
  for (std::string line : std::vector<std::string>{
           "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "POST /api?x=1 HTTP/1.1\r\n",
           "OPTIONS * HTTP/1.1\r\n", "CONNECT example.com:443 HTTP/1.1\r\n",
           "PROPFIND /dav HTTP/1.1\r\n", "GET http://a.example/x HTTP/1.1\r\n"}) {
    SniffResult r = sniff(line, false);
    EXPECT_EQ(r.verdict, Verdict::kHttp1) << line;
    EXPECT_EQ(r.http_version, "http/1.1") << line;
    expectPrefixesConsistent(line, Verdict::kHttp1);
  }
  SniffResult r = sniff("GET / HTTP/1.0\r\n", false);
  EXPECT_EQ(r.verdict, Verdict::kHttp1);
  EXPECT_EQ(r.http_version, "http/1.0");
}

TEST(ProtocolSnifferTest, Http2Preface) {
  std::string preface = std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + "\0\0\0\4"s;
  EXPECT_EQ(sniff(preface, false).verdict, Verdict::kHttp2);
  expectPrefixesConsistent(preface, Verdict::kHttp2);
  EXPECT_EQ(sniff("PRI * HTTP/2.0\r\n", true).verdict, Verdict::kOpaque);
}

TEST(ProtocolSnifferTest, OpaqueBytes) {
  // Redis RESP, a MySQL-like binary greeting, lower-case "method", SSH banner, control bytes.
  for (std::string bytes : std::vector<std::string>{
           "*1\r\n$4\r\nPING\r\n", std::string("\x4a\0\0\0\x0a", 5), "get / HTTP/1.1\r\n",
           "SSH-2.0-OpenSSH_9.2\r\n", "GET /\x01 HTTP/1.1\r\n", "GET  / HTTP/1.1\r\n",
           "GET / HTTP/2.0\r\n", "GET / SIP/2.0\r\n", "HELLO WORLD FOO\r\n"}) {
    EXPECT_EQ(sniff(bytes, false).verdict, Verdict::kOpaque) << bytes;
  }
  // An over-long "method" is not waited for.
  EXPECT_EQ(sniff(std::string(40, 'A'), false).verdict, Verdict::kOpaque);
}

TEST(ProtocolSnifferTest, UndecidedPrefixesAndFinal) {
  EXPECT_EQ(sniff("", false).verdict, Verdict::kNeedMoreData);
  EXPECT_EQ(sniff("", true).verdict, Verdict::kOpaque);
  EXPECT_EQ(sniff("GET /index", false).verdict, Verdict::kNeedMoreData);
  EXPECT_EQ(sniff("GET /index", true).verdict, Verdict::kOpaque);
  EXPECT_EQ(sniff("GET / HTTP/1.", false).verdict, Verdict::kNeedMoreData);
  // A request target that fills the whole peek buffer still counts as HTTP.
  std::string long_target = "GET /" + std::string(kMaxSniffBytes, 'a');
  long_target.resize(kMaxSniffBytes);
  EXPECT_EQ(sniff(long_target, true).verdict, Verdict::kHttp1);
}

}  // namespace
}  // namespace remora::filters::protocol_detection
