// /v1/agent/metrics: the handler as a function (both formats, the catalog's
// series, a registry's instruments), and the server's own series measured
// over real loopback sockets.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include <thread>

#include "agent/core/agent_core.h"
#include "agent/http/api.h"
#include "agent/http/server.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "tests/agent/http/raw_response.h"
#include "tests/fakes/manual_clock.h"
#include "tests/agent/http/api_calls.h"

namespace roster::http {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using tcp = asio::ip::tcp;

agent::CoreOptions core_options() {
  agent::CoreOptions options;
  options.identity = {"0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10", "node-1", "dc1", "127.0.0.1", "127.0.0.1:8500", true};
  return options;
}

const json* find_entry(const json& list, const std::string& name, const json& labels = json::object()) {
  for (const json& entry : list) {
    if (entry["Name"] == name && entry["Labels"] == labels) return &entry;
  }
  return nullptr;
}

class ApiMetricsTest : public ::testing::Test {
 protected:
  ApiMetricsTest() : core_(io_, clock_, core_options()), api_(core_, api_options()) {}

  ApiOptions api_options() {
    ApiOptions options;
    options.metrics = &registry_;
    return options;
  }

  void SetUp() override { ASSERT_TRUE(core_.start().is_ok()); }
  void TearDown() override { core_.stop(); }

  HttpResponse get(Api& api, const std::string& target, const std::string& method = "GET",
                   const std::string& body = "") {
    return api_calls::respond_now(api, method, target, body);
  }

  boost::asio::io_context io_;
  fakes::ManualClock clock_;
  agent::AgentCore core_;
  metrics::Registry registry_;
  Api api_;
};

TEST_F(ApiMetricsTest, JsonHasConsulsShapeWithCatalogAndRegistrySeries) {
  ASSERT_EQ(get(api_, "/v1/kv/a", "PUT", "1").body, "true");
  ASSERT_EQ(get(api_, "/v1/kv/b", "PUT", "2").body, "true");
  registry_.counter("roster.test.events", "events", {{"kind", "x"}}).add(4);
  registry_.histogram("roster.test.latency", "latency", {0.1, 1}).observe(0.5);
  clock_.advance(std::chrono::seconds(2));

  HttpResponse response = get(api_, "/v1/agent/metrics");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/json");
  json body = json::parse(response.body);
  // The manual clock's wall time: 1'700'000'000 s plus its one hour and the two seconds above.
  EXPECT_EQ(body["Timestamp"], "2023-11-14 23:13:22 +0000 UTC");
  EXPECT_EQ(body["Points"], json::array());

  const json* kv = find_entry(body["Gauges"], "roster.catalog.kv_entries");
  ASSERT_NE(kv, nullptr) << body.dump();
  EXPECT_EQ((*kv)["Value"], 2.0);
  const json* index = find_entry(body["Gauges"], "roster.catalog.index");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ((*index)["Value"], static_cast<double>(core_.store().last_index()));
  ASSERT_NE(find_entry(body["Gauges"], "roster.blocking_queries.watchers"), nullptr);
  ASSERT_NE(find_entry(body["Gauges"], "roster.catalog.nodes"), nullptr);

  const json* events = find_entry(body["Counters"], "roster.test.events", json{{"kind", "x"}});
  ASSERT_NE(events, nullptr);
  EXPECT_EQ((*events)["Count"], 4);
  EXPECT_EQ((*events)["Sum"], 4.0);
  EXPECT_EQ((*events)["Rate"], 2.0);  // per second since the core started

  const json* latency = find_entry(body["Samples"], "roster.test.latency");
  ASSERT_NE(latency, nullptr);
  EXPECT_EQ((*latency)["Count"], 1);
  EXPECT_EQ((*latency)["Max"], 0.5);
}

TEST_F(ApiMetricsTest, PrometheusFormat) {
  ASSERT_EQ(get(api_, "/v1/kv/a", "PUT", "1").body, "true");
  registry_.histogram("roster.test.latency", "latency", {0.1, 1}).observe(0.5);
  HttpResponse response = get(api_, "/v1/agent/metrics?format=prometheus");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = response.body;
  EXPECT_NE(text.find("# HELP roster_catalog_kv_entries Keys in the KV store.\n"
                      "# TYPE roster_catalog_kv_entries gauge\n"
                      "roster_catalog_kv_entries 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("roster_test_latency_bucket{le=\"1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("roster_test_latency_bucket{le=\"+Inf\"} 1\n"), std::string::npos) << text;
}

TEST_F(ApiMetricsTest, UnknownFormatIsABadRequest) {
  HttpResponse response = get(api_, "/v1/agent/metrics?format=statsd");
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("format=prometheus"), std::string::npos);
  EXPECT_EQ(get(api_, "/v1/agent/metrics", "PUT").status, 405);
}

TEST_F(ApiMetricsTest, WithoutARegistryTheCatalogSeriesRemain) {
  Api bare(core_);
  json body = json::parse(get(bare, "/v1/agent/metrics").body);
  EXPECT_NE(find_entry(body["Gauges"], "roster.catalog.nodes"), nullptr);
  EXPECT_EQ(body["Counters"], json::array());
  EXPECT_EQ(body["Samples"], json::array());
}

TEST(RouteLabel, NamesEndpointFamiliesAsConsulDoes) {
  EXPECT_EQ(route_label("/v1/kv/app/config"), "v1.kv._");
  EXPECT_EQ(route_label("/v1/kv"), "v1.kv._");
  EXPECT_EQ(route_label("/v1/agent/self"), "v1.agent.self");
  EXPECT_EQ(route_label("/v1/agent/metrics"), "v1.agent.metrics");
  EXPECT_EQ(route_label("/v1/health/service/web"), "v1.health.service._");
  EXPECT_EQ(route_label("/v1/no/such/thing"), "unknown");
  EXPECT_EQ(route_label("/v1/agent/selfish"), "unknown");
}

// The server counts and times what it answers, and publishes ServerStats.
class ServerMetricsTest : public ::testing::Test {
 protected:
  ServerMetricsTest()
      : core_(io_, clock_, core_options()), api_(core_, api_options()), server_(io_, api_, core_.watch_hub(), options()) {}

  ApiOptions api_options() {
    ApiOptions options;
    options.metrics = &registry_;
    return options;
  }
  ServerOptions options() {
    ServerOptions options;
    options.port = 0;
    options.metrics = &registry_;
    return options;
  }

  void SetUp() override {
    ASSERT_TRUE(core_.start().is_ok());
    ASSERT_TRUE(server_.start().is_ok());
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    asio::post(io_, [this] {
      server_.stop();
      core_.stop();
      io_.stop();
    });
    thread_.join();
  }

  asio::io_context io_;
  SystemClock clock_;
  agent::AgentCore core_;
  metrics::Registry registry_;
  Api api_;
  HttpServer server_;
  std::thread thread_;
};

class Connection {
 public:
  explicit Connection(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  testing::RawResponse request(const std::string& method, const std::string& target, const std::string& body = "") {
    std::string message = method + " " + target + " HTTP/1.1\r\nHost: test\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
    asio::write(socket_, asio::buffer(message));
    return testing::read_response(socket_, buffer_);
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  asio::streambuf buffer_;
};

TEST_F(ServerMetricsTest, RequestsAreCountedAndTimedByMethodStatusAndRoute) {
  Connection client(server_.port());
  EXPECT_EQ(client.request("PUT", "/v1/kv/a", "1").status, 200);
  EXPECT_EQ(client.request("GET", "/v1/kv/a").status, 200);
  EXPECT_EQ(client.request("GET", "/v1/kv/b").status, 404);
  EXPECT_EQ(client.request("GET", "/v1/no/such/thing").status, 404);

  // A request is recorded once its answer is built, so the first metrics read shows in the second.
  EXPECT_EQ(client.request("GET", "/v1/agent/metrics").status, 200);
  testing::RawResponse response = client.request("GET", "/v1/agent/metrics");
  ASSERT_EQ(response.status, 200);
  json body = json::parse(response.body);

  const json* get_200 = find_entry(body["Counters"], "roster.http.requests", json{{"method", "GET"}, {"code", "200"}});
  ASSERT_NE(get_200, nullptr) << body.dump();
  EXPECT_EQ((*get_200)["Count"], 2);  // the KV read and the first metrics read
  const json* get_404 = find_entry(body["Counters"], "roster.http.requests", json{{"method", "GET"}, {"code", "404"}});
  ASSERT_NE(get_404, nullptr);
  EXPECT_EQ((*get_404)["Count"], 2);
  const json* put_200 = find_entry(body["Counters"], "roster.http.requests", json{{"method", "PUT"}, {"code", "200"}});
  ASSERT_NE(put_200, nullptr);
  EXPECT_EQ((*put_200)["Count"], 1);

  const json* kv_reads = find_entry(body["Samples"], "roster.http.request_duration_seconds",
                                    json{{"method", "GET"}, {"path", "v1.kv._"}});
  ASSERT_NE(kv_reads, nullptr);
  EXPECT_EQ((*kv_reads)["Count"], 2);
  EXPECT_GE((*kv_reads)["Min"].get<double>(), 0.0);
  EXPECT_LE((*kv_reads)["Min"].get<double>(), (*kv_reads)["Max"].get<double>());
  const json* unknown = find_entry(body["Samples"], "roster.http.request_duration_seconds",
                                   json{{"method", "GET"}, {"path", "unknown"}});
  ASSERT_NE(unknown, nullptr);
  EXPECT_EQ((*unknown)["Count"], 1);

  const json* open = find_entry(body["Gauges"], "roster.http.open_connections");
  ASSERT_NE(open, nullptr);
  EXPECT_EQ((*open)["Value"], 1.0);
  EXPECT_NE(find_entry(body["Counters"], "roster.http.refused", json{{"reason", "per_client_limit"}}), nullptr);
}

TEST_F(ServerMetricsTest, PrometheusTextCarriesTheLatencyHistogram) {
  Connection client(server_.port());
  EXPECT_EQ(client.request("GET", "/v1/status/leader").status, 200);
  testing::RawResponse response = client.request("GET", "/v1/agent/metrics?format=prometheus");
  ASSERT_EQ(response.status, 200);
  EXPECT_NE(response.head.find("Content-Type: text/plain; version=0.0.4; charset=utf-8"), std::string::npos);
  const std::string& text = response.body;
  EXPECT_NE(text.find("# TYPE roster_http_request_duration_seconds histogram\n"), std::string::npos) << text;
  EXPECT_NE(text.find("roster_http_request_duration_seconds_bucket{method=\"GET\",path=\"v1.status.leader\","
                      "le=\"+Inf\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("roster_http_request_duration_seconds_count{method=\"GET\",path=\"v1.status.leader\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("roster_http_requests_total{code=\"200\",method=\"GET\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("roster_http_open_connections 1\n"), std::string::npos);
}

}  // namespace
}  // namespace roster::http
