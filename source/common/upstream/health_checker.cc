#include "source/common/upstream/health_checker.h"

#include "source/common/common/logger.h"
#include "source/common/network/connection_impl.h"
#include "source/common/network/raw_transport_socket.h"
#include "source/common/upstream/host_health.h"

namespace remora::upstream {

// Checks one host: a connection per check, closed when the check ends.
class HealthChecker::HostChecker : public network::ConnectionCallbacks, public network::ReadFilter {
 public:
  HostChecker(HealthChecker& parent, HostConstSharedPtr host)
      : parent_(parent), host_(std::move(host)) {
    interval_timer_ = parent_.dispatcher_.createTimer([this] { runCheck(); });
    timeout_timer_ = parent_.dispatcher_.createTimer([this] { finish(false, "timeout"); });
  }
  ~HostChecker() override { closeConnection(); }

  void scheduleNow() { interval_timer_->enable(std::chrono::milliseconds(0)); }

  // network::ConnectionCallbacks
  void onEvent(network::ConnectionEvent event) override {
    if (event == network::ConnectionEvent::kConnected) {
      if (parent_.config_.kind == HealthCheckConfig::Kind::kTcp) {
        finish(true, "");
        return;
      }
      connection_->initializeReadFilters();
      const auto& c = parent_.config_;
      std::string request = "GET " + c.path +
                            " HTTP/1.1\r\nhost: " + (c.host.empty() ? parent_.cluster_ : c.host) +
                            "\r\nuser-agent: remora-health-check\r\nconnection: close\r\n\r\n";
      buffer::OwnedBuffer data(request);
      connection_->write(data, false);
      return;
    }
    if (checking_) {
      finish(false, connection_ ? std::string(connection_->failureReason()) : "closed");
    }
  }

  // network::ReadFilter: the status line is all a check needs.
  void initializeReadFilterCallbacks(network::ReadFilterCallbacks&) override {}
  network::ReadFilterStatus onNewConnection() override {
    return network::ReadFilterStatus::kContinue;
  }
  network::ReadFilterStatus onData(buffer::Instance& data, bool) override {
    response_ += data.toString();
    data.drain(data.length());
    size_t eol = response_.find("\r\n");
    if (eol == std::string::npos) {
      if (response_.size() > 4096) finish(false, "no status line");
      return network::ReadFilterStatus::kStop;
    }
    uint32_t status = 0;
    if (response_.rfind("HTTP/1.", 0) == 0 && eol >= 12) {
      status = static_cast<uint32_t>(std::atoi(response_.c_str() + 9));
    }
    bool expected = false;
    for (const auto& [start, end] : parent_.config_.expected_statuses) {
      expected |= status >= start && status < end;
    }
    finish(expected, "status " + std::to_string(status));
    return network::ReadFilterStatus::kStop;
  }

 private:
  void runCheck() {
    checking_ = true;
    response_.clear();
    auto connection = std::make_unique<network::ClientConnectionImpl>(
        parent_.dispatcher_, host_->address, std::make_unique<network::RawTransportSocket>(),
        parent_.config_.timeout);
    connection_ = connection.get();
    owned_ = std::move(connection);
    connection_->addConnectionCallbacks(*this);
    connection_->addReadFilter(std::shared_ptr<network::ReadFilter>(this, [](auto*) {}));
    timeout_timer_->enable(parent_.config_.timeout);
    connection_->connect();
  }

  void finish(bool passed, const std::string& why) {
    if (!checking_) return;
    checking_ = false;
    timeout_timer_->disable();
    closeConnection();
    record(passed, why);
    auto next = parent_.config_.interval;
    if (parent_.config_.interval_jitter.count() > 0) {
      next += std::chrono::milliseconds(parent_.random_.random() %
                                        (parent_.config_.interval_jitter.count() + 1));
    }
    interval_timer_->enable(next);
  }

  void record(bool passed, const std::string& why) {
    const auto& c = parent_.config_;
    if (passed) {
      parent_.successes_->inc();
      failures_in_row_ = 0;
      ++passes_in_row_;
      ever_passed_ = true;
      if (!host_->healthy() && passes_in_row_ >= c.healthy_threshold &&
          setHealthFlag(*host_, Host::kFailedActiveHealthCheck, false)) {
        REMORA_LOG(info, "health check: %s %s is healthy", parent_.cluster_.c_str(),
                   host_->address.asString().c_str());
      }
      return;
    }
    parent_.failures_->inc();
    passes_in_row_ = 0;
    ++failures_in_row_;
    if ((failures_in_row_ >= c.unhealthy_threshold || !ever_passed_) &&
        setHealthFlag(*host_, Host::kFailedActiveHealthCheck, true)) {
      REMORA_LOG(warn, "health check: %s %s is unhealthy (%s)", parent_.cluster_.c_str(),
                 host_->address.asString().c_str(), why.c_str());
    }
  }

  void closeConnection() {
    if (!owned_) return;
    connection_->removeConnectionCallbacks(*this);
    connection_->close(network::ConnectionCloseType::kNoFlush);
    // Deleted after this event: we may be inside one of its callbacks.
    parent_.dispatcher_.deferredDelete(std::move(owned_));
    connection_ = nullptr;
  }

  HealthChecker& parent_;
  HostConstSharedPtr host_;
  event::TimerPtr interval_timer_;
  event::TimerPtr timeout_timer_;
  std::unique_ptr<network::ClientConnectionImpl> owned_;
  network::ClientConnectionImpl* connection_ = nullptr;
  std::string response_;
  bool checking_ = false;
  bool ever_passed_ = false;
  uint32_t passes_in_row_ = 0;
  uint32_t failures_in_row_ = 0;
};

HealthChecker::HealthChecker(const HealthCheckConfig& config, std::string cluster,
                             const std::vector<HostConstSharedPtr>& hosts,
                             event::Dispatcher& dispatcher, RandomGenerator& random,
                             stats::Store& store)
    : config_(config), cluster_(std::move(cluster)), dispatcher_(dispatcher), random_(random) {
  successes_ =
      &store.counter("remora_cluster_health_checks_total", "Active health checks by result.",
                     {{"cluster", cluster_}, {"result", "success"}});
  failures_ =
      &store.counter("remora_cluster_health_checks_total", "Active health checks by result.",
                     {{"cluster", cluster_}, {"result", "failure"}});
  for (const auto& host : hosts) checkers_.push_back(std::make_unique<HostChecker>(*this, host));
}

HealthChecker::~HealthChecker() = default;

void HealthChecker::start() {
  for (auto& checker : checkers_) checker->scheduleNow();
}

}  // namespace remora::upstream
