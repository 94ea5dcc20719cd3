#include <fstream>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "source/common/access_log/access_log_format.h"
#include "source/common/access_log/access_log_writer.h"
#include "source/common/event/libevent_dispatcher.h"

namespace remora::access_log {
namespace {

http::StreamInfo sampleInfo() {
  http::StreamInfo info;
  info.start_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
  info.start_monotonic = std::chrono::steady_clock::now();
  info.end_monotonic = info.start_monotonic + std::chrono::milliseconds(42);
  info.response_code = 503;
  info.setFlag(http::ResponseFlag::kUpstreamConnectionFailure);
  info.bytes_received = 10;
  info.bytes_sent = 20;
  info.cluster_name = "backend";
  info.upstream_host = network::Address::fromIpPort("127.0.0.1", 8080);
  return info;
}

TEST(AccessLogFormatTest, FlagsUseEnvoyNames) {
  EXPECT_EQ(responseFlagsString(0), "-");
  uint32_t flags = static_cast<uint32_t>(http::ResponseFlag::kNoRouteFound) |
                   static_cast<uint32_t>(http::ResponseFlag::kUpstreamRequestTimeout);
  EXPECT_EQ(responseFlagsString(flags), "NR,UT");
}

TEST(AccessLogFormatTest, JsonLineHasEveryFieldEscaped) {
  http::HeaderMap request;
  request.add(":method", "GET");
  request.add(":authority", "example.com");
  request.add(":path", "/a\"b");
  request.add("x-request-id", "id-1");
  std::string line = formatJson(&request, nullptr, sampleInfo(), http::Protocol::kHttp11);
  EXPECT_EQ(line,
            "{\"start_time\":\"2023-11-14T22:13:20.123Z\",\"method\":\"GET\",\"authority\":"
            "\"example.com\",\"path\":\"/a\\\"b\",\"protocol\":\"HTTP/1.1\",\"response_code\":503,"
            "\"response_flags\":\"UF\",\"response_code_details\":\"-\",\"bytes_received\":10,"
            "\"bytes_sent\":20,\"duration_ms\":42,\"upstream_host\":\"127.0.0.1:8080\","
            "\"upstream_cluster\":\"backend\",\"route_name\":\"-\",\"downstream_remote_address\":"
            "\"-\",\"source_principal\":\"-\",\"user_agent\":\"-\",\"x_request_id\":\"id-1\"}");
}

TEST(AccessLogFormatTest, JsonLineCarriesTheClientIdentity) {
  auto info = sampleInfo();
  info.downstream_peer_principal = "spiffe://cluster.local/ns/default/sa/productpage";
  std::string line = formatJson(nullptr, nullptr, info, http::Protocol::kHttp2);
  EXPECT_NE(line.find("\"source_principal\":\"spiffe://cluster.local/ns/default/sa/productpage\""),
            std::string::npos)
      << line;
}

TEST(AccessLogFormatTest, TextLine) {
  std::string line = formatText(nullptr, nullptr, sampleInfo(), http::Protocol::kHttp2);
  EXPECT_EQ(line,
            "[2023-11-14T22:13:20.123Z] \"- - HTTP/2\" 503 UF 10 20 42 - \"-\" \"-\" \"-\" \"-\" "
            "\"127.0.0.1:8080\"");
}

TEST(AccessLogWriterTest, LinesReachTheFileWithoutBlockingTheLoop) {
  std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/access.log";
  std::string error;
  auto writer = AccessLogWriter::open(path, error);
  ASSERT_NE(writer, nullptr) << error;
  event::LibeventDispatcher dispatcher("worker");
  std::thread loop([&] {
    for (int i = 0; i < 100; ++i) writer->write(dispatcher, "line " + std::to_string(i));
    // The batch is handed over by its timer.
    auto done = dispatcher.createTimer([&] { dispatcher.exit(); });
    done->enable(std::chrono::milliseconds(300));
    dispatcher.run();
  });
  loop.join();
  writer->flush();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string expected;
  for (int i = 0; i < 100; ++i) expected += "line " + std::to_string(i) + "\n";
  EXPECT_EQ(text.str(), expected);
  EXPECT_EQ(writer->dropped(), 0u);
}

TEST(AccessLogWriterTest, UnopenablePathIsAnError) {
  std::string error;
  EXPECT_EQ(AccessLogWriter::open("/nonexistent-dir/x.log", error), nullptr);
  EXPECT_EQ(error, "cannot open access log /nonexistent-dir/x.log: No such file or directory");
}

}  // namespace
}  // namespace remora::access_log
