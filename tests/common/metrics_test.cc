#include "common/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace roster::metrics {
namespace {

TEST(MetricsRegistry, SameNameAndLabelsGiveTheSameInstrument) {
  Registry registry;
  Counter& first = registry.counter("roster.test.requests", "requests", {{"method", "GET"}});
  Counter& again = registry.counter("roster.test.requests", "ignored", {{"method", "GET"}});
  Counter& other = registry.counter("roster.test.requests", "requests", {{"method", "PUT"}});
  EXPECT_EQ(&first, &again);
  EXPECT_NE(&first, &other);
  first.add();
  again.add(2);
  other.add();
  Snapshot snapshot = registry.collect();
  ASSERT_NE(snapshot.find("roster.test.requests", {{"method", "GET"}}), nullptr);
  EXPECT_EQ(snapshot.find("roster.test.requests", {{"method", "GET"}})->value, 3);
  EXPECT_EQ(snapshot.find("roster.test.requests", {{"method", "PUT"}})->value, 1);
  auto families = snapshot.families();
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].help, "requests");  // the first call's
  EXPECT_EQ(families[0].type, MetricType::counter);
  ASSERT_EQ(families[0].series.size(), 2u);
  EXPECT_EQ(families[0].series[0].labels.at("method"), "GET");  // in label order
}

TEST(MetricsRegistry, GaugesSetAndAdd) {
  Registry registry;
  Gauge& gauge = registry.gauge("roster.test.open", "open things");
  gauge.set(5);
  gauge.add(-2);
  Snapshot snapshot = registry.collect();
  EXPECT_EQ(snapshot.find("roster.test.open")->value, 3);
}

TEST(MetricsRegistry, HistogramBucketsAreLessThanOrEqual) {
  Histogram histogram({0.1, 1, 10});
  for (double value : {0.05, 0.1, 0.5, 1.0, 20.0}) histogram.observe(value);
  HistogramValue value = histogram.value();
  EXPECT_EQ(value.bucket_counts, (std::vector<uint64_t>{2, 2, 0, 1}));
  EXPECT_EQ(value.count, 5u);
  EXPECT_DOUBLE_EQ(value.sum, 21.65);
  EXPECT_DOUBLE_EQ(value.min, 0.05);
  EXPECT_DOUBLE_EQ(value.max, 20.0);
  EXPECT_DOUBLE_EQ(value.sum_of_squares, 0.05 * 0.05 + 0.01 + 0.25 + 1 + 400);
}

TEST(MetricsRegistry, EmptyHistogramHasNoMinOrMax) {
  Registry registry;
  registry.histogram("roster.test.latency", "latency", {1, 2});
  Snapshot snapshot = registry.collect();
  const Series* series = snapshot.find("roster.test.latency");
  ASSERT_NE(series, nullptr);
  EXPECT_EQ(series->histogram.count, 0u);
  EXPECT_EQ(series->histogram.min, 0);
  EXPECT_EQ(series->histogram.bucket_counts.size(), 3u);
}

TEST(MetricsRegistry, CollectorsAddTheirValuesAtEachCollect) {
  Registry registry;
  int calls = 0;
  uint64_t id = registry.add_collector([&](Snapshot& snapshot) {
    ++calls;
    snapshot.add_gauge("roster.test.members", "members", 3, {{"state", "alive"}});
    snapshot.add_counter("roster.test.probes", "probes", calls);
  });
  registry.collect();
  Snapshot snapshot = registry.collect();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(snapshot.find("roster.test.members", {{"state", "alive"}})->value, 3);
  EXPECT_EQ(snapshot.find("roster.test.probes")->value, 2);
  registry.remove_collector(id);
  EXPECT_EQ(registry.collect().find("roster.test.probes"), nullptr);
  EXPECT_EQ(calls, 2);
}

TEST(MetricsRegistry, CollectorsMayRegisterInstruments) {
  Registry registry;
  registry.add_collector([&](Snapshot&) { registry.counter("roster.test.scrapes", "scrapes").add(); });
  registry.collect();  // no deadlock: collectors run outside the registry's lock
  Snapshot snapshot = registry.collect();
  EXPECT_EQ(snapshot.find("roster.test.scrapes")->value, 1);
}

TEST(MetricsRegistry, ANameUsedWithAnotherTypeKeepsItsFirstType) {
  Snapshot snapshot;
  snapshot.add_counter("roster.test.x", "x", 1);
  snapshot.add_gauge("roster.test.x", "x", 2);
  ASSERT_EQ(snapshot.families().size(), 1u);
  EXPECT_EQ(snapshot.families()[0].type, MetricType::counter);
  EXPECT_EQ(snapshot.find("roster.test.x")->value, 1);
}

TEST(MetricsRegistry, CountsFromManyThreads) {
  Registry registry;
  constexpr int kThreads = 4;
  constexpr int kEach = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry, t] {
      Counter& counter = registry.counter("roster.test.hits", "hits");
      Histogram& histogram = registry.histogram("roster.test.latency", "latency", {0.5});
      Gauge& gauge = registry.gauge("roster.test.level", "level", {{"thread", std::to_string(t % 2)}});
      for (int i = 0; i < kEach; ++i) {
        counter.add();
        histogram.observe(i % 2 == 0 ? 0.25 : 1.0);
        gauge.add(1);
        if (i % 1000 == 0) registry.collect();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  Snapshot snapshot = registry.collect();
  EXPECT_EQ(snapshot.find("roster.test.hits")->value, kThreads * kEach);
  const HistogramValue& histogram = snapshot.find("roster.test.latency")->histogram;
  EXPECT_EQ(histogram.count, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_EQ(histogram.bucket_counts[0], static_cast<uint64_t>(kThreads * kEach / 2));
  EXPECT_EQ(snapshot.find("roster.test.level", {{"thread", "0"}})->value, 2 * kEach);
}

}  // namespace
}  // namespace roster::metrics
