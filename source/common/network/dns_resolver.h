#pragma once

// Asynchronous DNS on a dispatcher's loop (libevent's evdns), resolving names the way a pod
// does: nameservers, `search` domains and `options ndots:N` from resolv.conf (a name with
// fewer dots than ndots is tried with each search suffix first, then as is; a trailing dot
// makes a name absolute). IP literals resolve at once without a query.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "source/common/event/libevent_dispatcher.h"

struct evdns_base;

namespace remora::network {

class DnsResolver {
 public:
  enum class Family { kAuto, kV4Only, kV6Only, kAll };
  enum class Status { kSuccess, kNoSuchName, kTimeout, kFailure };
  struct Record {
    std::string ip;  // IPv4 or IPv6 literal
    std::chrono::seconds ttl;
  };
  // Runs on the dispatcher's thread, at most once per query (never after cancel()).
  using Callback =
      std::function<void(Status status, const std::string& message, std::vector<Record> records)>;

  struct Options {
    // Nameservers, search domains and ndots come from here.
    std::string resolv_conf = "/etc/resolv.conf";
    // Per-attempt timeout and attempts per nameserver; zero: as resolv.conf says (its
    // `options timeout:` and `attempts:`, else 5 s and 3).
    std::chrono::milliseconds timeout{0};
    int attempts = 0;
  };

  // An outstanding lookup; destroying it cancels it.
  class Query {
   public:
    virtual ~Query() = default;
    virtual void cancel() = 0;
  };
  using QueryPtr = std::unique_ptr<Query>;

  DnsResolver(event::LibeventDispatcher& dispatcher, const Options& options);
  ~DnsResolver();

  // Null (and `error` set) when resolv.conf could not be used; the resolver then answers every
  // query with kFailure.
  const std::string& setupError() const { return setup_error_; }

  QueryPtr resolve(const std::string& name, Family family, Callback callback);

 private:
  class QueryImpl;
  event::LibeventDispatcher& dispatcher_;
  evdns_base* base_ = nullptr;
  std::string setup_error_;
};

}  // namespace remora::network
