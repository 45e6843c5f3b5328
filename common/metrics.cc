#include "common/metrics.h"

#include <algorithm>
#include <cassert>

namespace roster::metrics {

// ---- Snapshot ----

Series* Snapshot::series(const std::string& name, const std::string& help, MetricType type, Labels labels) {
  auto [found, inserted] = entries_.try_emplace(name, Entry{help, type, {}});
  if (!inserted && found->second.type != type) return nullptr;
  Series& out = found->second.series[labels];
  out.labels = std::move(labels);
  return &out;
}

void Snapshot::add_counter(const std::string& name, const std::string& help, double value, Labels labels) {
  if (Series* out = series(name, help, MetricType::counter, std::move(labels))) out->value = value;
}

void Snapshot::add_gauge(const std::string& name, const std::string& help, double value, Labels labels) {
  if (Series* out = series(name, help, MetricType::gauge, std::move(labels))) out->value = value;
}

void Snapshot::add_histogram(const std::string& name, const std::string& help, HistogramValue value, Labels labels) {
  if (Series* out = series(name, help, MetricType::histogram, std::move(labels))) out->histogram = std::move(value);
}

std::vector<Family> Snapshot::families() const {
  std::vector<Family> out;
  out.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) {
    Family family{name, entry.help, entry.type, {}};
    family.series.reserve(entry.series.size());
    for (const auto& [labels, series] : entry.series) family.series.push_back(series);
    out.push_back(std::move(family));
  }
  return out;
}

const Series* Snapshot::find(const std::string& name, const Labels& labels) const {
  auto entry = entries_.find(name);
  if (entry == entries_.end()) return nullptr;
  auto series = entry->second.series.find(labels);
  return series == entry->second.series.end() ? nullptr : &series->second;
}

// ---- Histogram ----

Histogram::Histogram(std::vector<double> bounds) {
  assert(std::is_sorted(bounds.begin(), bounds.end()));
  value_.bucket_counts.assign(bounds.size() + 1, 0);
  value_.bounds = std::move(bounds);
}

void Histogram::observe(double value) {
  // The first bound >= value: a Prometheus bucket counts what is less than or equal to its bound.
  std::lock_guard lock(mutex_);
  auto bucket = std::lower_bound(value_.bounds.begin(), value_.bounds.end(), value) - value_.bounds.begin();
  ++value_.bucket_counts[static_cast<size_t>(bucket)];
  value_.min = value_.count == 0 ? value : std::min(value_.min, value);
  value_.max = value_.count == 0 ? value : std::max(value_.max, value);
  ++value_.count;
  value_.sum += value;
  value_.sum_of_squares += value * value;
}

HistogramValue Histogram::value() const {
  std::lock_guard lock(mutex_);
  return value_;
}

std::vector<double> latency_bounds_seconds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
}

// ---- Registry ----

Registry::Entry* Registry::entry(const std::string& name, const std::string& help, MetricType type) {
  auto [found, inserted] = entries_.try_emplace(name, Entry{help, type, {}, {}, {}});
  if (!inserted && found->second.type != type) {
    assert(!"a metric name was registered with two types");
    return nullptr;
  }
  return &found->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Entry* found = entry(name, help, MetricType::counter);
  if (found == nullptr) return *orphan_counters_.emplace_back(std::make_unique<Counter>());
  auto& slot = found->counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Entry* found = entry(name, help, MetricType::gauge);
  if (found == nullptr) return *orphan_gauges_.emplace_back(std::make_unique<Gauge>());
  auto& slot = found->gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                               const Labels& labels) {
  std::lock_guard lock(mutex_);
  Entry* found = entry(name, help, MetricType::histogram);
  if (found == nullptr) return *orphan_histograms_.emplace_back(std::make_unique<Histogram>(bounds));
  auto& slot = found->histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

uint64_t Registry::add_collector(Collector collector) {
  std::lock_guard lock(mutex_);
  const uint64_t id = next_collector_id_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void Registry::remove_collector(uint64_t id) {
  std::lock_guard lock(mutex_);
  collectors_.erase(id);
}

Snapshot Registry::collect() const {
  Snapshot snapshot;
  std::vector<Collector> collectors;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, entry] : entries_) {
      for (const auto& [labels, counter] : entry.counters) {
        snapshot.add_counter(name, entry.help, static_cast<double>(counter->value()), labels);
      }
      for (const auto& [labels, gauge] : entry.gauges) snapshot.add_gauge(name, entry.help, gauge->value(), labels);
      for (const auto& [labels, histogram] : entry.histograms) {
        snapshot.add_histogram(name, entry.help, histogram->value(), labels);
      }
    }
    collectors.reserve(collectors_.size());
    for (const auto& [id, collector] : collectors_) collectors.push_back(collector);
  }
  for (const Collector& collector : collectors) collector(snapshot);
  return snapshot;
}

}  // namespace roster::metrics
