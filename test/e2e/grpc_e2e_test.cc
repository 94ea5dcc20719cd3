// gRPC through the proxy: a gRPC C++ server behind an HTTP2 cluster, a gRPC C++ client
// talking h2c to the proxy. Messages, metadata and grpc-status / grpc-message (trailers) must
// arrive intact.

#include <grpcpp/grpcpp.h>

#include "gtest/gtest.h"
#include "test/e2e/echo.grpc.pb.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

class EchoService final : public e2e::Echo::Service {
  grpc::Status Say(grpc::ServerContext* context, const e2e::EchoRequest* request,
                   e2e::EchoReply* reply) override {
    auto it = context->client_metadata().find("x-client");
    std::string client = it == context->client_metadata().end()
                             ? "?"
                             : std::string(it->second.data(), it->second.size());
    if (request->fail_with() != 0) {
      return grpc::Status(static_cast<grpc::StatusCode>(request->fail_with()),
                          "failed on purpose for " + client);
    }
    context->AddTrailingMetadata("x-trailer", "t1");
    reply->set_message(request->message() + " from " + client);
    return grpc::Status::OK;
  }
};

std::string config(uint16_t grpc_port) {
  return R"(
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: grpc_in
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: grpc
          route_config:
            virtual_hosts:
            - {name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: echo}}]}
          http_filters: [{name: remora.filters.http.router}]
  clusters:
  - name: echo
    http_protocol: HTTP2
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: )" +
         std::to_string(grpc_port) + "}}}\n";
}

TEST(GrpcE2eTest, UnaryCallsAndStatusesPassThrough) {
  EchoService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(port, 0);

  ProxyProcess proxy;
  std::string error;
  ASSERT_TRUE(proxy.start(config(static_cast<uint16_t>(port)), {"--concurrency", "1"}, error))
      << error;
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(proxy.listenerPort("grpc_in")),
                                     grpc::InsecureChannelCredentials());
  auto stub = e2e::Echo::NewStub(channel);

  for (int i = 0; i < 20; ++i) {
    grpc::ClientContext context;
    context.AddMetadata("x-client", "test");
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    e2e::EchoRequest request;
    request.set_message("hello " + std::to_string(i));
    e2e::EchoReply reply;
    grpc::Status status = stub->Say(&context, request, &reply);
    ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
    EXPECT_EQ(reply.message(), "hello " + std::to_string(i) + " from test");
    auto trailer = context.GetServerTrailingMetadata().find("x-trailer");
    ASSERT_NE(trailer, context.GetServerTrailingMetadata().end());
    EXPECT_EQ(std::string(trailer->second.data(), trailer->second.size()), "t1");
  }

  grpc::ClientContext context;
  context.AddMetadata("x-client", "test");
  e2e::EchoRequest request;
  request.set_fail_with(grpc::StatusCode::NOT_FOUND);
  e2e::EchoReply reply;
  grpc::Status status = stub->Say(&context, request, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "failed on purpose for test");
  server->Shutdown();
}

}  // namespace
}  // namespace remora::test
