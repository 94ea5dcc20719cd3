// AcceptBackoff: 10 ms doubling to 1 s, back to 10 ms after a success; and which accept()
// errors count as running out of resources.

#include "source/common/network/accept_backoff.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace remora::network {
namespace {

using std::chrono::milliseconds;

TEST(AcceptBackoffTest, DoublesFromTenMillisecondsToOneSecond) {
  AcceptBackoff backoff;
  std::vector<int64_t> delays;
  for (int i = 0; i < 10; ++i) delays.push_back(backoff.onFailure().count());
  EXPECT_EQ(delays, (std::vector<int64_t>{10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000}));
}

TEST(AcceptBackoffTest, SuccessStartsOver) {
  AcceptBackoff backoff;
  backoff.onFailure();
  backoff.onFailure();
  EXPECT_EQ(backoff.onFailure(), milliseconds(40));
  backoff.onSuccess();
  EXPECT_EQ(backoff.onFailure(), milliseconds(10));
}

TEST(AcceptBackoffTest, ResourceErrorsAreThoseThatCannotClearByThemselves) {
  for (int error : {EMFILE, ENFILE, ENOBUFS, ENOMEM}) EXPECT_TRUE(isResourceExhaustion(error));
  for (int error : {EAGAIN, ECONNABORTED, EINTR, EPERM, EPROTO}) {
    EXPECT_FALSE(isResourceExhaustion(error)) << error;
  }
}

}  // namespace
}  // namespace remora::network
