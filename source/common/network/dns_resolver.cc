#include "source/common/network/dns_resolver.h"

#include <arpa/inet.h>
#include <event2/dns.h>

#include <algorithm>

namespace remora::network {

class DnsResolver::QueryImpl : public DnsResolver::Query {
 public:
  QueryImpl(DnsResolver& resolver, std::string name, Family family, Callback callback)
      : resolver_(resolver),
        name_(std::move(name)),
        family_(family),
        callback_(std::move(callback)) {
    // A trailing dot makes the name absolute: no search domain (evdns itself would still
    // walk the search list).
    if (name_.size() > 1 && name_.back() == '.') {
      name_.pop_back();
      flags_ = DNS_QUERY_NO_SEARCH;
    }
  }
  ~QueryImpl() override { cancel(); }

  void start() {
    if (family_ == Family::kV6Only) {
      send(true);
    } else {
      send(false);
      // Both at once for kAll; kAuto asks for AAAA only when A finds nothing.
      if (family_ == Family::kAll) send(true);
    }
  }

  void cancel() override {
    cancelled_ = true;
    for (auto*& request : requests_) {
      // evdns calls back with DNS_ERR_CANCEL; onAnswer ignores it.
      if (request != nullptr) evdns_cancel_request(resolver_.base_, request);
      request = nullptr;
    }
  }

 private:
  struct Pending {
    QueryImpl* query;
    bool v6;
  };

  void send(bool v6) {
    auto* pending = new Pending{this, v6};
    ++outstanding_;
    evdns_request* request = v6 ? evdns_base_resolve_ipv6(resolver_.base_, name_.c_str(), flags_,
                                                          &QueryImpl::onAnswer, pending)
                                : evdns_base_resolve_ipv4(resolver_.base_, name_.c_str(), flags_,
                                                          &QueryImpl::onAnswer, pending);
    requests_[v6 ? 1 : 0] = request;
    if (request == nullptr) {
      // Refused before sending (no nameserver): reported from the loop, not from here.
      delete pending;
      --outstanding_;
      last_status_ = Status::kFailure;
      last_message_ = "no usable nameserver";
      resolver_.dispatcher_.post([alive = std::weak_ptr<bool>(alive_), this] {
        if (!alive.expired()) maybeFinish();
      });
    }
  }

  static void onAnswer(int result, char type, int count, int ttl, void* addresses, void* arg) {
    auto* pending = static_cast<Pending*>(arg);
    QueryImpl* self = pending->query;
    bool v6 = pending->v6;
    delete pending;
    if (result == DNS_ERR_CANCEL) return;
    self->requests_[v6 ? 1 : 0] = nullptr;
    --self->outstanding_;
    if (self->cancelled_) return;
    if (result == DNS_ERR_NONE) {
      char text[INET6_ADDRSTRLEN];
      for (int i = 0; i < count; ++i) {
        const void* address =
            type == DNS_IPv4_A
                ? static_cast<const void*>(static_cast<uint32_t*>(addresses) + i)
                : static_cast<const void*>(static_cast<uint8_t*>(addresses) + 16 * i);
        if (inet_ntop(type == DNS_IPv4_A ? AF_INET : AF_INET6, address, text, sizeof(text))) {
          self->records_.push_back(Record{text, std::chrono::seconds(std::max(ttl, 0))});
        }
      }
    } else {
      self->last_status_ = result == DNS_ERR_NOTEXIST  ? Status::kNoSuchName
                           : result == DNS_ERR_TIMEOUT ? Status::kTimeout
                                                       : Status::kFailure;
      self->last_message_ = evdns_err_to_string(result);
    }
    if (!v6 && self->family_ == Family::kAuto && self->records_.empty()) {
      self->send(true);
      return;
    }
    self->maybeFinish();
  }

  void maybeFinish() {
    if (outstanding_ > 0 || done_ || cancelled_) return;
    done_ = true;
    Callback callback = std::move(callback_);
    if (!records_.empty()) {
      callback(Status::kSuccess, "", std::move(records_));
    } else {
      callback(last_status_ == Status::kSuccess ? Status::kNoSuchName : last_status_,
               last_message_.empty() ? "no address records" : last_message_, {});
    }
  }

  DnsResolver& resolver_;
  std::string name_;
  Family family_;
  int flags_ = 0;
  Callback callback_;
  evdns_request* requests_[2] = {nullptr, nullptr};
  int outstanding_ = 0;
  bool cancelled_ = false;
  bool done_ = false;
  std::vector<Record> records_;
  Status last_status_ = Status::kSuccess;
  std::string last_message_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

DnsResolver::DnsResolver(event::LibeventDispatcher& dispatcher, const Options& options)
    : dispatcher_(dispatcher) {
  base_ = evdns_base_new(dispatcher.base(), 0);
  int rc = evdns_base_resolv_conf_parse(base_, DNS_OPTIONS_ALL, options.resolv_conf.c_str());
  if (rc != 0 && rc != 6) {
    // 6: the file parsed but named no nameserver (evdns then falls back to 127.0.0.1).
    setup_error_ =
        options.resolv_conf + ": cannot be used (evdns error " + std::to_string(rc) + ")";
  }
  if (options.timeout.count() > 0) {
    std::string timeout = std::to_string(static_cast<double>(options.timeout.count()) / 1000.0);
    evdns_base_set_option(base_, "timeout:", timeout.c_str());
  }
  if (options.attempts > 0) {
    evdns_base_set_option(base_, "attempts:", std::to_string(options.attempts).c_str());
  }
}

DnsResolver::~DnsResolver() {
  // Outstanding requests fail with DNS_ERR_SHUTDOWN; their queries ignore answers once
  // cancelled, and queries cancel when destroyed, which their owners do before this.
  evdns_base_free(base_, 1);
}

DnsResolver::QueryPtr DnsResolver::resolve(const std::string& name, Family family,
                                           Callback callback) {
  // IP literals need no query; answered from the loop all the same.
  unsigned char buffer[16];
  bool v4 = inet_pton(AF_INET, name.c_str(), buffer) == 1;
  bool v6 = !v4 && inet_pton(AF_INET6, name.c_str(), buffer) == 1;
  if (v4 || v6) {
    auto alive = std::make_shared<bool>(true);
    struct Literal : Query {
      std::shared_ptr<bool> alive;
      void cancel() override { alive.reset(); }
    };
    auto literal = std::make_unique<Literal>();
    literal->alive = alive;
    bool wanted = !((v4 && family == Family::kV6Only) || (v6 && family == Family::kV4Only));
    dispatcher_.post(
        [weak = std::weak_ptr<bool>(alive), name, wanted, callback = std::move(callback)] {
          if (weak.expired()) return;
          if (!wanted) {
            callback(Status::kNoSuchName, "address family not wanted", {});
          } else {
            callback(Status::kSuccess, "", {Record{name, std::chrono::seconds(0)}});
          }
        });
    return literal;
  }
  auto query = std::make_unique<QueryImpl>(*this, name, family, std::move(callback));
  query->start();
  return query;
}

}  // namespace remora::network
