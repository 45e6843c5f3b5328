// /v1/agent/metrics: Consul's metrics document, or Prometheus text with
// ?format=prometheus. The catalog's series are read here, from the store the
// handler already sees; everything else comes from the registry.

#include "agent/http/api_internal.h"
#include "common/metrics.h"
#include "common/metrics_format.h"

namespace roster::http {

namespace {

void collect_catalog(agent::AgentCore& core, metrics::Snapshot& snapshot) {
  const catalog::StoreData& data = core.store().snapshot();
  snapshot.add_gauge("roster.catalog.index", "The catalog's last applied index (X-Consul-Index).",
                     static_cast<double>(data.last_index));
  snapshot.add_gauge("roster.catalog.nodes", "Nodes in the catalog.", static_cast<double>(data.nodes.size()));
  snapshot.add_gauge("roster.catalog.services", "Service instances in the catalog.",
                     static_cast<double>(data.services.size()));
  snapshot.add_gauge("roster.catalog.checks", "Health checks in the catalog.", static_cast<double>(data.checks.size()));
  snapshot.add_gauge("roster.catalog.kv_entries", "Keys in the KV store.", static_cast<double>(data.kvs.size()));
  snapshot.add_gauge("roster.catalog.kv_tombstones", "Deleted KV keys kept for blocking queries until reaped.",
                     static_cast<double>(data.kv_tombstones.size()));
  snapshot.add_gauge("roster.catalog.sessions", "Sessions in the catalog.", static_cast<double>(data.sessions.size()));
  snapshot.add_gauge("roster.blocking_queries.watchers", "Blocking queries parked, waiting for their data to change.",
                     static_cast<double>(core.watch_hub().waiter_count()));
  snapshot.add_gauge("roster.blocking_queries.watched_keys", "Distinct watch keys the parked queries wait on.",
                     static_cast<double>(core.watch_hub().key_count()));
  snapshot.add_gauge("roster.agent.services", "Services registered with this agent.",
                     static_cast<double>(core.local_services().size()));
  snapshot.add_gauge("roster.agent.checks", "Checks registered with this agent.",
                     static_cast<double>(core.local_checks().size()));
}

}  // namespace

HandleResult handle_agent_metrics(Context& context) {
  auto format = context.request.param("format");
  if (format && !format->empty() && *format != "prometheus") {
    return respond_error(400, "Unknown format \"" + *format + "\": leave it out for JSON, or use format=prometheus");
  }
  metrics::Snapshot snapshot = context.options.metrics != nullptr ? context.options.metrics->collect()
                                                                  : metrics::Snapshot{};
  collect_catalog(context.core, snapshot);
  if (format && *format == "prometheus") {
    HttpResponse response = HttpResponse::text(200, metrics::render_prometheus(snapshot));
    response.content_type = std::string(metrics::kPrometheusContentType);
    return respond(std::move(response));
  }
  const Clock& clock = context.core.clock();
  const double uptime = std::chrono::duration<double>(clock.now() - context.core.started_at()).count();
  return respond(HttpResponse::json(200, metrics::render_consul_json(snapshot, clock.unix_nanos() / 1'000'000'000,
                                                                     uptime)));
}

}  // namespace roster::http
