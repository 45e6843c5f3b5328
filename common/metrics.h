#pragma once

// A small metrics registry: counters, gauges and fixed-bucket histograms,
// read as one Snapshot that metrics_format.h renders for Consul's
// /v1/agent/metrics JSON or for Prometheus.
//
// Two ways in:
//   - Instruments the registry owns (counter(), gauge(), histogram()): for
//     values measured where they happen, such as request latency. They are
//     thread-safe; the references stay valid as long as the registry.
//   - Collectors: functions that copy values another object already keeps
//     (the gossip transport's counters, the catalog's sizes) into the
//     snapshot when it is taken. A collector runs on the thread that calls
//     collect(), so it may read state owned by that thread; in the agent that
//     is the core's thread, where the HTTP API runs.
//
// Names are dotted ("roster.http.requests"), as Consul's JSON shows them;
// the Prometheus renderer turns the dots into underscores. Debian 12 packages
// no C++ Prometheus client, hence this file.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace roster::metrics {

// Label name -> value. Ordered, so a series has one identity however its labels were written.
using Labels = std::map<std::string, std::string>;

enum class MetricType { counter, gauge, histogram };

struct HistogramValue {
  std::vector<double> bounds;          // upper bounds, ascending, without +Inf
  std::vector<uint64_t> bucket_counts;  // per bucket, not cumulative; bounds.size() + 1 (the last is +Inf)
  uint64_t count = 0;
  double sum = 0;
  double sum_of_squares = 0;
  double min = 0;  // of the observations; 0 when there are none
  double max = 0;
};

struct Series {
  Labels labels;
  double value = 0;          // counter or gauge
  HistogramValue histogram;  // histogram
};

struct Family {
  std::string name;
  std::string help;
  MetricType type = MetricType::counter;
  std::vector<Series> series;  // sorted by labels
};

// Every family, sorted by name. Collectors add to it through add_*; a value
// added twice for the same name and labels replaces the first.
class Snapshot {
 public:
  void add_counter(const std::string& name, const std::string& help, double value, Labels labels = {});
  void add_gauge(const std::string& name, const std::string& help, double value, Labels labels = {});
  void add_histogram(const std::string& name, const std::string& help, HistogramValue value, Labels labels = {});

  // Families in name order, series in label order.
  std::vector<Family> families() const;
  // The series, or nullptr. For tests and for callers that read one value.
  const Series* find(const std::string& name, const Labels& labels = {}) const;

 private:
  struct Entry {
    std::string help;
    MetricType type;
    std::map<Labels, Series> series;
  };
  // nullptr when `name` is already a family of another type: that value is dropped.
  Series* series(const std::string& name, const std::string& help, MetricType type, Labels labels);

  std::map<std::string, Entry> entries_;
};

class Counter {
 public:
  void add(uint64_t amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets, with their count, sum, sum of
// squares (for Consul's Stddev), min and max.
class Histogram {
 public:
  // REQUIRES: bounds ascending, finite.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  HistogramValue value() const;

 private:
  mutable std::mutex mutex_;
  HistogramValue value_;
};

// Upper bounds for request latency in seconds: 0.5 ms to 10 minutes, the
// longest a blocking query waits.
std::vector<double> latency_bounds_seconds();

class Registry {
 public:
  using Collector = std::function<void(Snapshot&)>;

  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The instrument for `name` and `labels`, made on first use. `help` is kept
  // from the first call. Asking for a name already used with another type
  // is a programming error: it gets an instrument that is never exported
  // (and an assert in debug builds).
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  // `bounds` are used the first time the series is made.
  Histogram& histogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                       const Labels& labels = {});

  // Runs at every collect(), after the instruments are read. Keep whatever
  // it reads alive while the registry can be collected, or remove it first.
  // Returns an id for remove_collector().
  uint64_t add_collector(Collector collector);
  void remove_collector(uint64_t id);

  // The instruments' values, then each collector's.
  // Collectors run on the calling thread, under no lock of the registry's,
  // so they may take their own and may add instruments.
  Snapshot collect() const;

 private:
  struct Entry {
    std::string help;
    MetricType type;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };
  Entry* entry(const std::string& name, const std::string& help, MetricType type);

  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  std::map<uint64_t, Collector> collectors_;
  uint64_t next_collector_id_ = 1;
  // Instruments handed out for a name used with another type; not exported.
  std::vector<std::unique_ptr<Counter>> orphan_counters_;
  std::vector<std::unique_ptr<Gauge>> orphan_gauges_;
  std::vector<std::unique_ptr<Histogram>> orphan_histograms_;
};

}  // namespace roster::metrics
