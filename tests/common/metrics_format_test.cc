#include "common/metrics_format.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace roster::metrics {
namespace {

using nlohmann::json;

TEST(PrometheusName, DotsBecomeUnderscoresAndCountersEndInTotal) {
  EXPECT_EQ(prometheus_name("roster.gossip.probes", MetricType::counter), "roster_gossip_probes_total");
  EXPECT_EQ(prometheus_name("roster.http.requests_total", MetricType::counter), "roster_http_requests_total");
  EXPECT_EQ(prometheus_name("roster.catalog.nodes", MetricType::gauge), "roster_catalog_nodes");
  EXPECT_EQ(prometheus_name("roster.a-b/c", MetricType::gauge), "roster_a_b_c");
  EXPECT_EQ(prometheus_name("9lives", MetricType::gauge), "_9lives");
  EXPECT_EQ(prometheus_name("ns:sub.x", MetricType::gauge), "ns:sub_x");
}

TEST(RenderPrometheus, CountersAndGaugesWithHelpTypeAndEscapedLabels) {
  Snapshot snapshot;
  snapshot.add_counter("roster.http.requests", "HTTP requests answered, by method and status code.", 7,
                       {{"method", "GET"}, {"code", "200"}});
  snapshot.add_gauge("roster.catalog.nodes", "Nodes in the catalog.\nOne line.", 3);
  snapshot.add_gauge("roster.test.label", "odd label \\ value", 1.5, {{"v", "a\"b\\c\nd"}, {"bad-name", "x"}});
  EXPECT_EQ(render_prometheus(snapshot),
            "# HELP roster_catalog_nodes Nodes in the catalog.\\nOne line.\n"
            "# TYPE roster_catalog_nodes gauge\n"
            "roster_catalog_nodes 3\n"
            "# HELP roster_http_requests_total HTTP requests answered, by method and status code.\n"
            "# TYPE roster_http_requests_total counter\n"
            "roster_http_requests_total{code=\"200\",method=\"GET\"} 7\n"
            "# HELP roster_test_label odd label \\\\ value\n"
            "# TYPE roster_test_label gauge\n"
            "roster_test_label{bad_name=\"x\",v=\"a\\\"b\\\\c\\nd\"} 1.5\n");
}

TEST(RenderPrometheus, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Histogram histogram({0.005, 0.1, 1});
  for (double value : {0.001, 0.05, 0.05, 3.0}) histogram.observe(value);
  Snapshot snapshot;
  snapshot.add_histogram("roster.http.request_duration_seconds", "Latency.", histogram.value(),
                         {{"method", "GET"}});
  EXPECT_EQ(render_prometheus(snapshot),
            "# HELP roster_http_request_duration_seconds Latency.\n"
            "# TYPE roster_http_request_duration_seconds histogram\n"
            "roster_http_request_duration_seconds_bucket{method=\"GET\",le=\"0.005\"} 1\n"
            "roster_http_request_duration_seconds_bucket{method=\"GET\",le=\"0.1\"} 3\n"
            "roster_http_request_duration_seconds_bucket{method=\"GET\",le=\"1\"} 3\n"
            "roster_http_request_duration_seconds_bucket{method=\"GET\",le=\"+Inf\"} 4\n"
            "roster_http_request_duration_seconds_sum{method=\"GET\"} 3.101\n"
            "roster_http_request_duration_seconds_count{method=\"GET\"} 4\n");
}

TEST(RenderPrometheus, SpecialValues) {
  Snapshot snapshot;
  snapshot.add_gauge("a", "", std::numeric_limits<double>::infinity());
  snapshot.add_gauge("b", "", std::nan(""));
  snapshot.add_gauge("c", "", 1e21);
  snapshot.add_gauge("d", "", 12345678901234.0);
  std::string text = render_prometheus(snapshot);
  EXPECT_NE(text.find("\na +Inf\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nb NaN\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nc 1e+21\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nd 12345678901234\n"), std::string::npos) << text;
}

TEST(RenderPrometheus, EmptySnapshotIsEmpty) { EXPECT_EQ(render_prometheus(Snapshot{}), ""); }

TEST(ConsulTimestamp, WrittenAsGoWritesUtc) {
  EXPECT_EQ(consul_timestamp(1502160910), "2017-08-08 02:55:10 +0000 UTC");
}

TEST(RenderConsulJson, HasConsulsShape) {
  Snapshot snapshot;
  snapshot.add_gauge("roster.catalog.nodes", "nodes", 3);
  snapshot.add_counter("roster.gossip.probes", "probes", 10, {{"kind", "direct"}});
  snapshot.add_counter("roster.gossip.collisions", "collisions", 0);
  Histogram histogram({0.01, 0.1});
  histogram.observe(0.002);
  histogram.observe(0.004);
  histogram.observe(0.2);
  snapshot.add_histogram("roster.http.request_duration_seconds", "latency", histogram.value(),
                         {{"method", "GET"}, {"path", "v1.kv._"}});
  json document = json::parse(render_consul_json(snapshot, 1502160910, 5));
  EXPECT_EQ(document["Timestamp"], "2017-08-08 02:55:10 +0000 UTC");
  EXPECT_EQ(document["Points"], json::array());

  ASSERT_EQ(document["Gauges"].size(), 1u);
  EXPECT_EQ(document["Gauges"][0], (json{{"Name", "roster.catalog.nodes"}, {"Value", 3.0}, {"Labels", json::object()}}));

  ASSERT_EQ(document["Counters"].size(), 2u);
  const json& collisions = document["Counters"][0];
  EXPECT_EQ(collisions["Name"], "roster.gossip.collisions");
  EXPECT_EQ(collisions["Count"], 0);
  EXPECT_EQ(collisions["Mean"], 0.0);
  const json& probes = document["Counters"][1];
  EXPECT_EQ(probes["Name"], "roster.gossip.probes");
  EXPECT_EQ(probes["Count"], 10);
  EXPECT_EQ(probes["Sum"], 10.0);
  EXPECT_EQ(probes["Rate"], 2.0);
  EXPECT_EQ(probes["Min"], 1.0);
  EXPECT_EQ(probes["Max"], 1.0);
  EXPECT_EQ(probes["Mean"], 1.0);
  EXPECT_EQ(probes["Stddev"], 0);
  EXPECT_EQ(probes["Labels"], (json{{"kind", "direct"}}));

  ASSERT_EQ(document["Samples"].size(), 1u);
  const json& sample = document["Samples"][0];
  EXPECT_EQ(sample["Name"], "roster.http.request_duration_seconds");
  EXPECT_EQ(sample["Count"], 3);
  EXPECT_DOUBLE_EQ(sample["Sum"].get<double>(), 0.206);
  EXPECT_DOUBLE_EQ(sample["Min"].get<double>(), 0.002);
  EXPECT_DOUBLE_EQ(sample["Max"].get<double>(), 0.2);
  EXPECT_DOUBLE_EQ(sample["Mean"].get<double>(), 0.206 / 3);
  // Sample standard deviation of {0.002, 0.004, 0.2}.
  const double mean = 0.206 / 3;
  const double variance = ((0.002 - mean) * (0.002 - mean) + (0.004 - mean) * (0.004 - mean) +
                           (0.2 - mean) * (0.2 - mean)) / 2;
  EXPECT_NEAR(sample["Stddev"].get<double>(), std::sqrt(variance), 1e-12);
  EXPECT_EQ(sample["Labels"], (json{{"method", "GET"}, {"path", "v1.kv._"}}));
  for (const char* key : {"Name", "Count", "Rate", "Sum", "Min", "Max", "Mean", "Stddev", "Labels"}) {
    EXPECT_TRUE(sample.contains(key)) << key;
    EXPECT_TRUE(probes.contains(key)) << key;
  }
}

TEST(RenderConsulJson, EmptySnapshotHasEmptyLists) {
  json document = json::parse(render_consul_json(Snapshot{}, 0, 0));
  EXPECT_EQ(document["Timestamp"], "1970-01-01 00:00:00 +0000 UTC");
  for (const char* key : {"Gauges", "Points", "Counters", "Samples"}) EXPECT_EQ(document[key], json::array()) << key;
}

}  // namespace
}  // namespace roster::metrics
