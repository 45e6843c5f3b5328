#pragma once

// Renders a metrics Snapshot (common/metrics.h) the two ways Consul's
// /v1/agent/metrics does: its own JSON document, and the Prometheus text
// exposition format (version 0.0.4). Pure functions; no I/O, no clock.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/metrics.h"

namespace roster::metrics {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// "roster.http.requests" -> "roster_http_requests_total" for a counter (the
// suffix Prometheus expects of counters, added once), "roster_http_requests"
// otherwise. Any character Prometheus does not allow in a name becomes '_'.
std::string prometheus_name(std::string_view name, MetricType type);

// The text format: a # HELP and a # TYPE line per family, then its samples;
// histograms as cumulative _bucket{le=...} lines, _sum and _count.
std::string render_prometheus(const Snapshot& snapshot);

// Consul's document: {"Timestamp", "Gauges", "Points", "Counters", "Samples"}.
// Roster keeps totals since the agent started, where Consul's in-memory sink
// keeps the last 10 s interval: a counter's Count and Sum are its total (each
// counted unit is one increment of 1, so Min, Max and Mean are 1 once it has
// counted anything), a histogram is a Sample over every observation, and
// Rate is Sum per second of `uptime_seconds`. `unix_seconds` is the
// Timestamp, written as Go writes a UTC time ("2024-05-01 10:00:00 +0000 UTC").
std::string render_consul_json(const Snapshot& snapshot, int64_t unix_seconds, double uptime_seconds);

std::string consul_timestamp(int64_t unix_seconds);

}  // namespace roster::metrics
