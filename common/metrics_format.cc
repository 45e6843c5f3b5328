#include "common/metrics_format.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <ctime>

namespace roster::metrics {

namespace {

bool is_name_char(char c, bool first, bool allow_colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (c == ':') return allow_colon;
  return !first && c >= '0' && c <= '9';
}

std::string sanitize(std::string_view name, bool allow_colon) {
  std::string out;
  out.reserve(name.size() + 1);
  if (!name.empty() && name.front() >= '0' && name.front() <= '9') out.push_back('_');
  for (char c : name) out.push_back(is_name_char(c, out.empty(), allow_colon) ? c : '_');
  return out.empty() ? std::string("_") : out;
}

// Go's strconv.FormatFloat(v, 'g', -1, 64) spelling that Prometheus
// clients use: shortest round-trip form, "+Inf", "-Inf", "NaN".
void append_number(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (error != std::errc()) {
    out += "NaN";
    return;
  }
  out.append(buffer, end);
}

void append_escaped(std::string& out, std::string_view text, bool escape_quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quote) {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
}

// {a="1",b="2"} with `extra` (le) last; nothing when there are no labels.
void append_labels(std::string& out, const Labels& labels, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return;
  out.push_back('{');
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out.push_back(',');
    first = false;
    out += sanitize(name, false);
    out += "=\"";
    append_escaped(out, value, true);
    out.push_back('"');
  }
  if (!extra_name.empty()) {
    if (!first) out.push_back(',');
    out.append(extra_name).append("=\"").append(extra_value).push_back('"');
  }
  out.push_back('}');
}

void append_sample(std::string& out, std::string_view name, const Labels& labels, double value,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
  out.append(name);
  append_labels(out, labels, extra_name, extra_value);
  out.push_back(' ');
  append_number(out, value);
  out.push_back('\n');
}

const char* type_name(MetricType type) {
  switch (type) {
    case MetricType::counter: return "counter";
    case MetricType::gauge: return "gauge";
    case MetricType::histogram: return "histogram";
  }
  return "untyped";
}

// go-metrics' AggregateSample.Stddev: the sample standard deviation.
double stddev(double count, double sum, double sum_of_squares) {
  const double divisor = count * (count - 1);
  if (divisor <= 0) return 0;
  const double variance = (count * sum_of_squares - sum * sum) / divisor;
  return variance > 0 ? std::sqrt(variance) : 0;
}

}  // namespace

std::string prometheus_name(std::string_view name, MetricType type) {
  std::string out = sanitize(name, true);
  if (type == MetricType::counter && !out.ends_with("_total")) out += "_total";
  return out;
}

std::string render_prometheus(const Snapshot& snapshot) {
  std::string out;
  for (const Family& family : snapshot.families()) {
    const std::string name = prometheus_name(family.name, family.type);
    out += "# HELP ";
    out += name;
    out.push_back(' ');
    append_escaped(out, family.help, false);
    out += "\n# TYPE ";
    out += name;
    out.push_back(' ');
    out += type_name(family.type);
    out.push_back('\n');
    for (const Series& series : family.series) {
      if (family.type != MetricType::histogram) {
        append_sample(out, name, series.labels, series.value);
        continue;
      }
      const HistogramValue& histogram = series.histogram;
      const std::string bucket = name + "_bucket";
      uint64_t cumulative = 0;
      for (size_t i = 0; i < histogram.bounds.size(); ++i) {
        cumulative += i < histogram.bucket_counts.size() ? histogram.bucket_counts[i] : 0;
        std::string le;
        append_number(le, histogram.bounds[i]);
        append_sample(out, bucket, series.labels, static_cast<double>(cumulative), "le", le);
      }
      append_sample(out, bucket, series.labels, static_cast<double>(histogram.count), "le", "+Inf");
      append_sample(out, name + "_sum", series.labels, histogram.sum);
      append_sample(out, name + "_count", series.labels, static_cast<double>(histogram.count));
    }
  }
  return out;
}

std::string consul_timestamp(int64_t unix_seconds) {
  std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm parts{};
  gmtime_r(&time, &parts);
  char buffer[64];
  size_t length = std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S +0000 UTC", &parts);
  return std::string(buffer, length);
}

std::string render_consul_json(const Snapshot& snapshot, int64_t unix_seconds, double uptime_seconds) {
  // Keys in Consul's order, for a person reading the document.
  using json = nlohmann::ordered_json;
  json gauges = json::array();
  json counters = json::array();
  json samples = json::array();
  const double rate_seconds = uptime_seconds > 0 ? uptime_seconds : 1;
  for (const Family& family : snapshot.families()) {
    for (const Series& series : family.series) {
      json labels = json::object();
      for (const auto& [name, value] : series.labels) labels[name] = value;
      switch (family.type) {
        case MetricType::gauge:
          gauges.push_back(json{{"Name", family.name}, {"Value", series.value}, {"Labels", std::move(labels)}});
          break;
        case MetricType::counter: {
          const double total = series.value;
          const double unit = total > 0 ? 1 : 0;
          counters.push_back(json{{"Name", family.name},
                                  {"Count", static_cast<uint64_t>(std::max(total, 0.0))},
                                  {"Rate", total / rate_seconds},
                                  {"Sum", total},
                                  {"Min", unit},
                                  {"Max", unit},
                                  {"Mean", unit},
                                  {"Stddev", 0},
                                  {"Labels", std::move(labels)}});
          break;
        }
        case MetricType::histogram: {
          const HistogramValue& histogram = series.histogram;
          const auto count = static_cast<double>(histogram.count);
          samples.push_back(json{{"Name", family.name},
                                 {"Count", histogram.count},
                                 {"Rate", histogram.sum / rate_seconds},
                                 {"Sum", histogram.sum},
                                 {"Min", histogram.min},
                                 {"Max", histogram.max},
                                 {"Mean", histogram.count > 0 ? histogram.sum / count : 0.0},
                                 {"Stddev", stddev(count, histogram.sum, histogram.sum_of_squares)},
                                 {"Labels", std::move(labels)}});
          break;
        }
      }
    }
  }
  json document{{"Timestamp", consul_timestamp(unix_seconds)},
                {"Gauges", std::move(gauges)},
                {"Points", json::array()},
                {"Counters", std::move(counters)},
                {"Samples", std::move(samples)}};
  return document.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace roster::metrics
