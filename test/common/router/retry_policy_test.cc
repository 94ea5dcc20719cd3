// The retry policy's parsing and the retry state machine, with scripted randomness.

#include "source/common/router/retry_policy.h"

#include "gtest/gtest.h"
#include "source/common/config/message_loader.h"

namespace remora::router {
namespace {

// Returns the scripted values in turn, then repeats the last.
class ScriptedRandom : public RandomGenerator {
 public:
  explicit ScriptedRandom(std::vector<uint64_t> values) : values_(std::move(values)) {}
  uint64_t random() override { return values_[std::min(next_++, values_.size() - 1)]; }

 private:
  std::vector<uint64_t> values_;
  size_t next_ = 0;
};

RetryPolicy parse(const std::string& yaml, config::Errors& errors) {
  config::route::v1::RetryPolicy proto;
  EXPECT_TRUE(config::parseMessage(yaml, proto, errors)) << errors.joined();
  auto policy = RetryPolicy::fromProto(proto, "retry_policy", errors);
  return policy ? *policy : RetryPolicy{};
}

http::HeaderMap response(std::string_view status, std::string_view grpc_status = "") {
  http::HeaderMap h;
  h.add(":status", status);
  if (!grpc_status.empty()) h.add("grpc-status", grpc_status);
  return h;
}

TEST(RetryPolicyTest, DefaultsAndParsing) {
  config::Errors errors;
  auto policy = parse("retry_on: '5xx, connect-failure,reset'", errors);
  ASSERT_TRUE(errors.empty()) << errors.joined();
  EXPECT_EQ(policy.retry_on,
            RetryPolicy::k5xx | RetryPolicy::kConnectFailure | RetryPolicy::kReset);
  EXPECT_EQ(policy.num_retries, 1u);
  EXPECT_EQ(policy.base_interval, std::chrono::milliseconds(25));
  EXPECT_EQ(policy.max_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(policy.per_try_timeout, std::chrono::milliseconds(0));
}

TEST(RetryPolicyTest, ErrorsNameTheField) {
  config::Errors errors;
  parse(
      "retry_on: 5xx,sometimes,retriable-status-codes\n"
      "retriable_status_codes: [503, 700]\n"
      "retry_back_off: {base_interval: 0.1s, max_interval: 0.05s}",
      errors);
  EXPECT_EQ(errors.lines(),
            (std::vector<std::string>{
                "retry_policy.retry_on: unknown condition \"sometimes\"",
                "retry_policy.retriable_status_codes[1]: must be an HTTP status (100-599), got 700",
                "retry_policy.retry_back_off.max_interval: must not be below base_interval"}));
  config::Errors missing;
  parse("retry_on: retriable-status-codes", missing);
  EXPECT_EQ(missing.lines(),
            (std::vector<std::string>{"retry_policy.retriable_status_codes: required when "
                                      "retry_on includes retriable-status-codes"}));
}

TEST(RetryStateTest, ResponsesRetriedPerCondition) {
  ScriptedRandom random({0});
  config::Errors errors;
  auto fivexx = parse("retry_on: 5xx", errors);
  RetryState s5xx(fivexx, random);
  EXPECT_TRUE(s5xx.retriableResponse(response("500")));
  EXPECT_TRUE(s5xx.retriableResponse(response("503")));
  EXPECT_FALSE(s5xx.retriableResponse(response("404")));
  EXPECT_FALSE(s5xx.retriableResponse(response("200")));

  auto gateway = parse("retry_on: gateway-error", errors);
  RetryState sgw(gateway, random);
  EXPECT_FALSE(sgw.retriableResponse(response("500")));
  EXPECT_TRUE(sgw.retriableResponse(response("502")));
  EXPECT_TRUE(sgw.retriableResponse(response("504")));

  auto codes = parse(
      "retry_on: retriable-status-codes,retriable-4xx\n"
      "retriable_status_codes: [418]",
      errors);
  RetryState scodes(codes, random);
  EXPECT_TRUE(scodes.retriableResponse(response("418")));
  EXPECT_TRUE(scodes.retriableResponse(response("409")));
  EXPECT_FALSE(scodes.retriableResponse(response("503")));

  auto grpc = parse("retry_on: cancelled,deadline-exceeded,internal,resource-exhausted,unavailable",
                    errors);
  RetryState sgrpc(grpc, random);
  for (const char* code : {"1", "4", "8", "13", "14"}) {
    EXPECT_TRUE(sgrpc.retriableResponse(response("200", code))) << code;
  }
  for (const char* code : {"0", "2", "3", "5", "16"}) {
    EXPECT_FALSE(sgrpc.retriableResponse(response("200", code))) << code;
  }
  ASSERT_TRUE(errors.empty()) << errors.joined();
}

TEST(RetryStateTest, OutcomesWithoutAResponse) {
  ScriptedRandom random({0});
  config::Errors errors;
  auto connect = parse("retry_on: connect-failure", errors);
  RetryState sc(connect, random);
  EXPECT_TRUE(sc.retriableOutcome(TryOutcome::kConnectFailure));
  EXPECT_FALSE(sc.retriableOutcome(TryOutcome::kReset));
  EXPECT_FALSE(sc.retriableOutcome(TryOutcome::kPerTryTimeout));

  auto refused = parse("retry_on: refused-stream", errors);
  RetryState sr(refused, random);
  EXPECT_TRUE(sr.retriableOutcome(TryOutcome::kRefusedStream));
  EXPECT_FALSE(sr.retriableOutcome(TryOutcome::kReset));

  auto fivexx = parse("retry_on: 5xx", errors);
  RetryState s5(fivexx, random);
  for (auto outcome : {TryOutcome::kConnectFailure, TryOutcome::kRefusedStream, TryOutcome::kReset,
                       TryOutcome::kPerTryTimeout}) {
    EXPECT_TRUE(s5.retriableOutcome(outcome));
  }
}

TEST(RetryStateTest, RetriesRunOut) {
  ScriptedRandom random({0});
  config::Errors errors;
  auto policy = parse("retry_on: 5xx\nnum_retries: 2", errors);
  RetryState state(policy, random);
  EXPECT_TRUE(state.takeRetry());
  EXPECT_TRUE(state.takeRetry());
  EXPECT_FALSE(state.takeRetry());
  EXPECT_EQ(state.retriesTaken(), 2u);
}

TEST(RetryStateTest, BackoffIsExponentialWithFullJitterAndCapped) {
  config::Errors errors;
  auto policy = parse("retry_on: 5xx\nnum_retries: 10", errors);
  // random() % (ceiling + 1) is the ceiling itself when random() returns it: the ceilings
  // double from 25 ms per retry and stop at 250 ms.
  std::vector<int64_t> ceilings;
  for (uint32_t n = 1; n <= 6; ++n) {
    int64_t expected = std::min<int64_t>(25ll << (n - 1), 250);
    ScriptedRandom exact({static_cast<uint64_t>(expected)});
    RetryState probe(policy, exact);
    for (uint32_t i = 0; i < n; ++i) probe.takeRetry();
    ceilings.push_back(probe.backoff().count());
    // One more than the ceiling wraps to zero: nothing above the ceiling is possible.
    ScriptedRandom over({static_cast<uint64_t>(expected + 1)});
    RetryState above(policy, over);
    for (uint32_t i = 0; i < n; ++i) above.takeRetry();
    EXPECT_EQ(above.backoff().count(), 0);
  }
  EXPECT_EQ(ceilings, (std::vector<int64_t>{25, 50, 100, 200, 250, 250}));
  // Full jitter: anything from zero up to the ceiling.
  ScriptedRandom low({0});
  RetryState zero(policy, low);
  zero.takeRetry();
  EXPECT_EQ(zero.backoff().count(), 0);
  ScriptedRandom mid({37});
  RetryState some(policy, mid);
  some.takeRetry();
  some.takeRetry();
  EXPECT_EQ(some.backoff().count(), 37);  // within [0, 50]
}

}  // namespace
}  // namespace remora::router
