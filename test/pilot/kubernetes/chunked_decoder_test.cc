// HTTP/1.1 chunked bodies decoded whatever the read boundaries: every split point of a body
// with extensions and trailers, and malformed framing.
#include "source/pilot/kubernetes/chunked_decoder.h"

#include <gtest/gtest.h>

namespace remora::pilot::kubernetes {
namespace {

const std::string kBody = "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n";

TEST(ChunkedDecoderTest, EverySplitPointGivesTheSameData) {
  for (size_t split = 0; split <= kBody.size(); ++split) {
    ChunkedDecoder decoder;
    std::string data;
    auto collect = [&](std::string_view piece) { data.append(piece); };
    ASSERT_TRUE(decoder.feed(std::string_view(kBody).substr(0, split), collect).ok());
    ASSERT_TRUE(decoder.feed(std::string_view(kBody).substr(split), collect).ok());
    EXPECT_EQ(data, "hello 0123456789") << "split at " << split;
    EXPECT_TRUE(decoder.done());
  }
}

TEST(ChunkedDecoderTest, OneByteAtATime) {
  ChunkedDecoder decoder;
  std::string data;
  for (char c : kBody) {
    ASSERT_TRUE(
        decoder.feed(std::string_view(&c, 1), [&](std::string_view p) { data.append(p); }).ok());
  }
  EXPECT_EQ(data, "hello 0123456789");
  EXPECT_TRUE(decoder.done());
}

TEST(ChunkedDecoderTest, MalformedFramingIsAnError) {
  auto noop = [](std::string_view) {};
  EXPECT_FALSE(ChunkedDecoder().feed("zz\r\n", noop).ok());
  EXPECT_FALSE(ChunkedDecoder().feed("2\r\nabX\r\n", noop).ok());
  EXPECT_FALSE(ChunkedDecoder().feed("fffffffffffffffff\r\n", noop).ok());
}

}  // namespace
}  // namespace remora::pilot::kubernetes
