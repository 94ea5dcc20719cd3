#include "test/common/network/fake_dns_server.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace remora::network::test {

FakeDnsServer::FakeDnsServer() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t len = sizeof(address);
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &len);
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeDnsServer::~FakeDnsServer() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

void FakeDnsServer::add(const std::string& name, const std::string& ip, uint32_t ttl) {
  std::lock_guard<std::mutex> guard(lock_);
  records_[name].emplace_back(ip, ttl);
}

void FakeDnsServer::clear(const std::string& name) {
  std::lock_guard<std::mutex> guard(lock_);
  records_.erase(name);
}

void FakeDnsServer::drop(const std::string& name) {
  std::lock_guard<std::mutex> guard(lock_);
  drop_[name] = true;
}

std::vector<std::string> FakeDnsServer::queries() const {
  std::lock_guard<std::mutex> guard(lock_);
  return queries_;
}

void FakeDnsServer::serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    char buffer[1500];
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    ssize_t n =
        ::recvfrom(fd_, buffer, sizeof(buffer), 0, reinterpret_cast<sockaddr*>(&peer), &len);
    if (n < 12) continue;
    std::string response = answer(std::string(buffer, static_cast<size_t>(n)));
    if (response.empty()) continue;
    ::sendto(fd_, response.data(), response.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
  }
}

std::string FakeDnsServer::answer(const std::string& query) {
  // Question: labels from offset 12, then QTYPE and QCLASS.
  size_t at = 12;
  std::string name;
  while (at < query.size() && query[at] != 0) {
    size_t length = static_cast<uint8_t>(query[at]);
    if (!name.empty()) name += '.';
    name += query.substr(at + 1, length);
    at += length + 1;
  }
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t question_end = at + 5;
  if (question_end > query.size()) return "";
  uint16_t qtype = static_cast<uint16_t>((static_cast<uint8_t>(query[at + 1]) << 8) |
                                         static_cast<uint8_t>(query[at + 2]));
  std::vector<std::pair<std::string, uint32_t>> matches;
  bool known;
  {
    std::lock_guard<std::mutex> guard(lock_);
    queries_.push_back(name + (qtype == 28 ? "/AAAA" : "/A"));
    if (drop_.count(name)) return "";
    auto it = records_.find(name);
    known = it != records_.end();
    if (known) {
      for (const auto& [ip, ttl] : it->second) {
        bool v6 = ip.find(':') != std::string::npos;
        if ((qtype == 28) == v6) matches.emplace_back(ip, ttl);
      }
    }
  }
  std::string out = query.substr(0, question_end);
  out[2] = static_cast<char>(0x84 | (query[2] & 0x01));  // response, authoritative, RD echoed
  out[3] = static_cast<char>(known ? 0x00 : 0x03);       // NOERROR or NXDOMAIN
  out[6] = static_cast<char>(matches.size() >> 8);
  out[7] = static_cast<char>(matches.size() & 0xff);
  out[8] = out[9] = out[10] = out[11] = 0;
  for (const auto& [ip, ttl] : matches) {
    bool v6 = ip.find(':') != std::string::npos;
    unsigned char data[16];
    inet_pton(v6 ? AF_INET6 : AF_INET, ip.c_str(), data);
    out += std::string("\xc0\x0c", 2);  // pointer to the question's name
    out += static_cast<char>(0);
    out += static_cast<char>(v6 ? 28 : 1);
    out += std::string("\x00\x01", 2);
    out += static_cast<char>(ttl >> 24);
    out += static_cast<char>((ttl >> 16) & 0xff);
    out += static_cast<char>((ttl >> 8) & 0xff);
    out += static_cast<char>(ttl & 0xff);
    out += static_cast<char>(0);
    out += static_cast<char>(v6 ? 16 : 4);
    out.append(reinterpret_cast<char*>(data), v6 ? 16 : 4);
  }
  return out;
}

}  // namespace remora::network::test
