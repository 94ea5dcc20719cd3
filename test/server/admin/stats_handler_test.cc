#include "source/server/admin/stats_handler.h"

#include <gtest/gtest.h>

#include "source/common/stats/store_impl.h"

namespace remora::server {
namespace {

TEST(StatsHandlerTest, ServesTheStoreExposition) {
  stats::StoreImpl store;
  stats::Counter& requests = store.counter("remora_rq_total", "Requests.", {});
  AdminServer::Handler handler = prometheusHandler(store);

  AdminResponse response = handler(AdminRequest{"GET", "/stats/prometheus", "", "", true});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response.body, store.prometheusText());
  EXPECT_NE(response.body.find("remora_rq_total 0\n"), std::string::npos);

  // Each call scrapes anew.
  requests.add(5);
  EXPECT_NE(handler(AdminRequest{"GET", "/metrics", "", "", true}).body.find("remora_rq_total 5\n"),
            std::string::npos);
}

}  // namespace
}  // namespace remora::server
