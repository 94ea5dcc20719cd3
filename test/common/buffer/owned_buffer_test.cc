#include "source/common/buffer/owned_buffer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string>

namespace remora::buffer {
namespace {

// `size` bytes that differ by position, so misplaced or lost bytes show up.
std::string pattern(size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  return out;
}

// A buffer made of many separate appends, so it spans several evbuffer chunks.
void addInPieces(OwnedBuffer& buffer, const std::string& data, size_t piece) {
  for (size_t i = 0; i < data.size(); i += piece) buffer.add(data.substr(i, piece));
}

TEST(OwnedBufferTest, AddVariantsAndToString) {
  OwnedBuffer b;
  EXPECT_EQ(b.length(), 0u);
  EXPECT_EQ(b.toString(), "");
  b.add("abc", 3);
  b.add(std::string_view("def"));
  b.add(std::string_view());
  b.add("\0g", 2);
  EXPECT_EQ(b.length(), 8u);
  EXPECT_EQ(b.toString(), std::string("abcdef\0g", 8));
  EXPECT_EQ(OwnedBuffer("init").toString(), "init");
}

TEST(OwnedBufferTest, AddInstanceCopiesAndLeavesSourceAlone) {
  OwnedBuffer src("payload");
  OwnedBuffer dst("head:");
  dst.add(src);
  EXPECT_EQ(dst.toString(), "head:payload");
  EXPECT_EQ(src.toString(), "payload");
  // The copy is independent of the source.
  src.drain(3);
  EXPECT_EQ(dst.toString(), "head:payload");
  // Adding a buffer to itself doubles it.
  src.add(src);
  EXPECT_EQ(src.toString(), "loadload");
  OwnedBuffer empty;
  dst.add(empty);
  EXPECT_EQ(dst.length(), 12u);
}

TEST(OwnedBufferTest, MoveAll) {
  OwnedBuffer src("world");
  OwnedBuffer dst("hello ");
  dst.move(src);
  EXPECT_EQ(dst.toString(), "hello world");
  EXPECT_EQ(src.length(), 0u);
  src.add("again");
  EXPECT_EQ(src.toString(), "again");
  dst.move(src);
  EXPECT_EQ(dst.toString(), "hello worldagain");
}

TEST(OwnedBufferTest, MovePrefix) {
  OwnedBuffer src("0123456789");
  OwnedBuffer dst;
  dst.move(src, 4);
  EXPECT_EQ(dst.toString(), "0123");
  EXPECT_EQ(src.toString(), "456789");
  dst.move(src, 0);
  EXPECT_EQ(dst.toString(), "0123");
  // More than is there moves what there is.
  dst.move(src, 100);
  EXPECT_EQ(dst.toString(), "0123456789");
  EXPECT_EQ(src.length(), 0u);
}

TEST(OwnedBufferTest, DrainAndCopyOutAcrossChunks) {
  const std::string data = pattern(100000);
  OwnedBuffer b;
  addInPieces(b, data, 997);
  ASSERT_EQ(b.length(), data.size());

  std::string out(5000, '\0');
  b.copyOut(12345, out.size(), out.data());
  EXPECT_EQ(out, data.substr(12345, 5000));
  b.copyOut(0, 0, nullptr);
  char last;
  b.copyOut(data.size() - 1, 1, &last);
  EXPECT_EQ(last, data.back());

  b.drain(1000);
  EXPECT_EQ(b.length(), data.size() - 1000);
  b.copyOut(0, 10, out.data());
  EXPECT_EQ(out.substr(0, 10), data.substr(1000, 10));
  b.drain(0);
  EXPECT_EQ(b.length(), data.size() - 1000);
  b.drain(data.size());  // more than is left empties it
  EXPECT_EQ(b.length(), 0u);
}

TEST(OwnedBufferTest, TenMegabytesSurviveAddMoveAndDrain) {
  const std::string data = pattern(10 * 1024 * 1024);
  OwnedBuffer a;
  addInPieces(a, data, 64 * 1024 + 3);
  OwnedBuffer b;
  b.move(a, 3 * 1024 * 1024 + 1);
  OwnedBuffer c;
  c.move(b);
  c.move(a);
  EXPECT_EQ(a.length(), 0u);
  EXPECT_EQ(b.length(), 0u);
  ASSERT_EQ(c.length(), data.size());
  EXPECT_TRUE(c.toString() == data);
  c.drain(5 * 1024 * 1024);
  EXPECT_TRUE(c.toString() == data.substr(5 * 1024 * 1024));
}

class FdTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds_), 0);
  }
  void TearDown() override {
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }
  int fds_[2] = {-1, -1};
};

TEST_F(FdTest, ReadOnEmptyNonBlockingSocketIsEagain) {
  OwnedBuffer b;
  errno = 0;
  EXPECT_EQ(b.readFromFd(fds_[0], 4096), -1);
  EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << errno;
  EXPECT_EQ(b.length(), 0u);
}

TEST_F(FdTest, ReadHonoursMaxLengthAndAppends) {
  ASSERT_EQ(::write(fds_[1], "0123456789", 10), 10);
  OwnedBuffer b(">");
  EXPECT_EQ(b.readFromFd(fds_[0], 4), 4);
  EXPECT_EQ(b.toString(), ">0123");
  EXPECT_EQ(b.readFromFd(fds_[0], 100), 6);
  EXPECT_EQ(b.toString(), ">0123456789");
}

TEST_F(FdTest, ReadReturnsZeroAtEndOfStream) {
  ASSERT_EQ(::write(fds_[1], "x", 1), 1);
  ::shutdown(fds_[1], SHUT_WR);
  OwnedBuffer b;
  EXPECT_EQ(b.readFromFd(fds_[0], 100), 1);
  EXPECT_EQ(b.readFromFd(fds_[0], 100), 0);
  EXPECT_EQ(b.toString(), "x");
}

TEST_F(FdTest, WriteDrainsWhatWasWritten) {
  OwnedBuffer empty;
  EXPECT_EQ(empty.writeToFd(fds_[1]), 0);
  OwnedBuffer b;
  b.add("abc");
  b.add("def");
  EXPECT_EQ(b.writeToFd(fds_[1]), 6);
  EXPECT_EQ(b.length(), 0u);
  char got[6];
  ASSERT_EQ(::read(fds_[0], got, sizeof(got)), 6);
  EXPECT_EQ(std::string(got, 6), "abcdef");
}

TEST_F(FdTest, WriteToFullSocketIsEagainAndKeepsData) {
  OwnedBuffer b(pattern(8 * 1024 * 1024));
  ssize_t n;
  while ((n = b.writeToFd(fds_[1])) > 0) {
  }
  EXPECT_EQ(n, -1);
  EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << errno;
  EXPECT_GT(b.length(), 0u);
}

TEST_F(FdTest, WriteToClosedPeerIsAnError) {
  ::close(fds_[0]);
  fds_[0] = -1;
  OwnedBuffer b("lost");
  // MSG_NOSIGNAL is not available to writev; ignore SIGPIPE as the server does.
  std::signal(SIGPIPE, SIG_IGN);
  EXPECT_EQ(b.writeToFd(fds_[1]), -1);
  EXPECT_EQ(errno, EPIPE);
  EXPECT_EQ(b.toString(), "lost");
}

TEST_F(FdTest, TenMegabytesRoundTripThroughASocket) {
  const std::string data = pattern(10 * 1024 * 1024);
  OwnedBuffer out;
  addInPieces(out, data, 100 * 1024 + 1);  // many chunks: more than one writev's worth
  OwnedBuffer in;
  // One thread, both ends non-blocking: alternate until everything has crossed.
  int stalls = 0;
  while (in.length() < data.size() && stalls < 1000) {
    ssize_t w = out.length() > 0 ? out.writeToFd(fds_[1]) : 0;
    ssize_t r = in.readFromFd(fds_[0], 64 * 1024);
    if (w == 0 && r < 0) ++stalls;
    if (w < 0) {
      ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << errno;
    }
  }
  ASSERT_EQ(in.length(), data.size());
  EXPECT_TRUE(in.toString() == data);
  EXPECT_EQ(out.length(), 0u);
}

}  // namespace
}  // namespace remora::buffer
