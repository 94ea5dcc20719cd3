// The watch event stream decoded whatever the byte boundaries: one byte at a time, every
// two-piece split, a last event without its newline, and malformed events.
#include "source/pilot/kubernetes/watch_event_stream.h"

#include <gtest/gtest.h>

namespace remora::pilot::kubernetes {
namespace {

const std::string kStream =
    R"({"type":"ADDED","object":{"metadata":{"name":"a","namespace":"ns","resourceVersion":"11"}}})"
    "\n"
    R"({"type":"MODIFIED","object":{"metadata":{"name":"a","namespace":"ns","resourceVersion":"12"},"spec":{"s":"line\nbreak"}}})"
    "\r\n\n"
    R"({"type":"BOOKMARK","object":{"kind":"Service","metadata":{"resourceVersion":"15"}}})"
    "\n"
    R"({"type":"DELETED","object":{"metadata":{"name":"a","namespace":"ns","resourceVersion":"16"}}})"
    "\n"
    R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}})"
    "\n";

void expectAllEvents(const std::vector<WatchEvent>& events) {
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].type, WatchEvent::Type::kAdded);
  EXPECT_EQ(events[1].type, WatchEvent::Type::kModified);
  EXPECT_EQ(events[1].object.get("spec").get("s").asString(), "line\nbreak");
  EXPECT_EQ(events[2].type, WatchEvent::Type::kBookmark);
  EXPECT_EQ(events[2].object.get("metadata").get("resourceVersion").asString(), "15");
  EXPECT_EQ(events[3].type, WatchEvent::Type::kDeleted);
  EXPECT_EQ(events[4].type, WatchEvent::Type::kError);
  EXPECT_EQ(events[4].object.get("code").asInteger(), 410);
}

TEST(WatchEventStreamTest, OneByteAtATime) {
  WatchEventStream stream;
  std::vector<WatchEvent> events;
  for (size_t i = 0; i < kStream.size(); ++i) {
    size_t before = events.size();
    ASSERT_TRUE(stream.feed(kStream.substr(i, 1), events).ok()) << "at byte " << i;
    // An event appears exactly when its newline arrives, never before.
    if (kStream[i] != '\n') {
      EXPECT_EQ(events.size(), before) << "at byte " << i;
    }
  }
  ASSERT_TRUE(stream.finish(events).ok());
  expectAllEvents(events);
}

TEST(WatchEventStreamTest, EverySplitPoint) {
  for (size_t split = 0; split <= kStream.size(); ++split) {
    WatchEventStream stream;
    std::vector<WatchEvent> events;
    ASSERT_TRUE(stream.feed(kStream.substr(0, split), events).ok());
    ASSERT_TRUE(stream.feed(kStream.substr(split), events).ok());
    ASSERT_TRUE(stream.finish(events).ok());
    SCOPED_TRACE("split at " + std::to_string(split));
    expectAllEvents(events);
  }
}

TEST(WatchEventStreamTest, LastEventWithoutNewlineIsDeliveredAtTheEnd) {
  WatchEventStream stream;
  std::vector<WatchEvent> events;
  ASSERT_TRUE(stream.feed(R"({"type":"ADDED","object":{"metadata":{"name":"x"}}})", events).ok());
  EXPECT_TRUE(events.empty());
  ASSERT_TRUE(stream.finish(events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].object.get("metadata").get("name").asString(), "x");
}

TEST(WatchEventStreamTest, MalformedEventsAreErrors) {
  std::vector<WatchEvent> events;
  EXPECT_FALSE(WatchEventStream().feed("{not json}\n", events).ok());
  EXPECT_FALSE(WatchEventStream()
                   .feed(R"({"type":"RENAMED","object":{}})"
                         "\n",
                         events)
                   .ok());
  EXPECT_FALSE(WatchEventStream()
                   .feed(R"({"type":"ADDED"})"
                         "\n",
                         events)
                   .ok());
  EXPECT_TRUE(events.empty());
}

}  // namespace
}  // namespace remora::pilot::kubernetes
