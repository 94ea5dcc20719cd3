#include "source/pilot/kubernetes_replicas.h"

#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include "source/common/common/logger.h"
#include "source/pilot/ca/token_review_authenticator.h"

namespace remora::pilot {
namespace {

// "1500ms" or "3s"; false for anything else (or zero).
bool parseShortDuration(const std::string& text, std::chrono::milliseconds& out) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return false;
  const long long number = std::stoll(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  if (number == 0) return false;
  if (unit == "ms") {
    out = std::chrono::milliseconds(number);
  } else if (unit == "s") {
    out = std::chrono::seconds(number);
  } else {
    return false;
  }
  return true;
}

std::string hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

std::string utcNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Escapes a value for a JSON string or a Prometheus label (quotes and backslashes).
std::string quoted(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

const char kReplicaUsage[] =
    "  --leader-election-namespace NS  the Lease's namespace; default the pod's namespace\n"
    "                           (in-cluster), else remora-system\n"
    "  --leader-election-name NAME  the Lease; default remora-pilot-leader\n"
    "  --leader-election-identity ID  this replica in the Lease; default $POD_NAME, else\n"
    "                           the hostname\n";

bool parseReplicaFlag(const std::string& flag, const std::string& value, ReplicaOptions& options,
                      std::string& error) {
  std::chrono::milliseconds* duration = nullptr;
  if (flag == "--leader-election-namespace") {
    options.lease_namespace = value;
  } else if (flag == "--leader-election-name") {
    options.lease_name = value;
  } else if (flag == "--leader-election-identity") {
    options.identity = value;
  } else if (flag == "--leader-election-lease-duration") {
    duration = &options.lease_duration;
  } else if (flag == "--leader-election-renew-deadline") {
    duration = &options.renew_deadline;
  } else if (flag == "--leader-election-retry-period") {
    duration = &options.retry_period;
  } else {
    return false;
  }
  if (duration && !parseShortDuration(value, *duration)) {
    error = flag + ": \"" + value + "\" is not a duration like 1500ms or 3s";
  } else if (!duration && value.empty()) {
    error = flag + ": must not be empty";
  }
  return true;
}

crypto::Result<std::unique_ptr<KubernetesReplicas>> KubernetesReplicas::create(
    const kubernetes::ClusterConnection& connection, ReplicaOptions options,
    const std::string& token_audience) {
  std::unique_ptr<KubernetesReplicas> replicas(new KubernetesReplicas());
  kubernetes::LeaderElectorOptions& election = replicas->election_;
  election.lease_namespace = !options.lease_namespace.empty() ? options.lease_namespace
                             : !connection.ns.empty()         ? connection.ns
                                                              : "remora-system";
  election.lease_name = options.lease_name;
  election.identity = options.identity;
  if (election.identity.empty()) {
    const char* pod = std::getenv("POD_NAME");
    election.identity = pod && *pod ? pod : hostname();
  }
  if (election.identity.empty()) {
    return crypto::Error{
        "--leader-election-identity: POD_NAME is not set and the hostname is "
        "unknown"};
  }
  election.lease_duration = options.lease_duration;
  election.renew_deadline = options.renew_deadline;
  election.retry_period = options.retry_period;

  replicas->token_ =
      std::make_unique<kubernetes::BearerToken>(connection.token_file, connection.token);
  auto client = kubernetes::HttpsClient::create(connection, replicas->token_.get());
  if (!client.ok()) return crypto::Error{client.error()};
  replicas->client_ = std::move(client).value();
  replicas->reviewer_ = std::make_unique<kubernetes::TokenReviewer>(
      *replicas->client_,
      kubernetes::TokenReviewer::Options{token_audience, std::chrono::seconds(5)});
  replicas->authenticator_ = std::make_shared<ca::TokenReviewAuthenticator>(
      *replicas->reviewer_, ca::TokenReviewAuthenticator::Options{});

  kubernetes::TrustBundlePublisherOptions bundle_options;
  bundle_options.log = [](const std::string& line) {
    REMORA_LOG(info, "trust bundle: %s", line.c_str());
  };
  replicas->publisher_ =
      std::make_unique<kubernetes::TrustBundlePublisher>(*replicas->client_, bundle_options);
  KubernetesReplicas* self = replicas.get();
  replicas->elector_ = std::make_unique<kubernetes::LeaderElector>(
      *replicas->client_, election,
      kubernetes::LeaderElectorCallbacks{
          [self] { self->onLeadershipChange(true, ""); },
          [self](const std::string& reason) { self->onLeadershipChange(false, reason); },
          [](const std::string& line) { REMORA_LOG(info, "%s", line.c_str()); }});
  return replicas;
}

KubernetesReplicas::~KubernetesReplicas() { stop(); }

void KubernetesReplicas::start() {
  started_ = true;
  REMORA_LOG(info, "leader election: lease %s/%s as %s", election_.lease_namespace.c_str(),
             election_.lease_name.c_str(), election_.identity.c_str());
  publisher_->start();
  elector_->start();
}

void KubernetesReplicas::stop() {
  if (!started_) return;
  started_ = false;
  // The elector first: releasing the lease calls on_stopped_leading, which tells the publisher.
  elector_->stop();
  publisher_->stop();
}

void KubernetesReplicas::onLeadershipChange(bool leading, const std::string& reason) {
  publisher_->setLeading(leading);
  const std::string change = leading ? "became leader" : "stopped leading: " + reason;
  REMORA_LOG(info, "leader election %s/%s (%s): pilot_leader %d, %s",
             election_.lease_namespace.c_str(), election_.lease_name.c_str(),
             election_.identity.c_str(), leading ? 1 : 0, change.c_str());
  std::lock_guard lock(mutex_);
  last_change_ = change;
  last_change_time_ = utcNow();
  ++transitions_;
}

void KubernetesReplicas::setBundle(const std::string& pem) {
  if (pem == bundle_) return;
  bundle_ = pem;
  publisher_->setBundle(pem);
}

void KubernetesReplicas::setNamespaces(std::vector<std::string> namespaces) {
  if (namespaces == namespaces_) return;
  namespaces_ = namespaces;
  publisher_->setNamespaces(std::move(namespaces));
}

std::string KubernetesReplicas::metrics() const {
  return "# HELP pilot_leader Whether this replica holds the leader election lease (1) or not "
         "(0).\n# TYPE pilot_leader gauge\npilot_leader{lease=" +
         quoted(election_.lease_namespace + "/" + election_.lease_name) +
         ",identity=" + quoted(election_.identity) + "} " + (isLeader() ? "1" : "0") + "\n";
}

std::string KubernetesReplicas::leaderPage() const {
  std::lock_guard lock(mutex_);
  return "{\"lease\":" + quoted(election_.lease_namespace + "/" + election_.lease_name) +
         ",\"identity\":" + quoted(election_.identity) +
         ",\"leader\":" + (isLeader() ? "true" : "false") +
         ",\"changes\":" + std::to_string(transitions_) +
         ",\"last_change\":" + quoted(last_change_) +
         ",\"last_change_time\":" + quoted(last_change_time_) + "}\n";
}

}  // namespace remora::pilot
