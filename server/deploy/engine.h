#pragma once

// The deploy engine: one active roster-deploy's planning loop, without the
// threads. It takes catalog reads (the node list, the roster/deploy/ tree),
// plans, runs the dispatcher, and writes bundles, state/<node> and runs/ back
// through the CatalogApi.
//
// A fresh Engine is made each time this instance becomes the active one; its
// first step() after both reads arrived resumes from the records (state/,
// results/, runs/): nothing applied is re-pushed, nothing in flight is pushed
// again before its timeout, no pending node is lost.
//
// Writes are level-triggered too: state/<node> is written only when it
// differs from what the catalog holds, so the engine's own writes (which
// come back through the KV watch) settle instead of looping.
//
// Thread affinity: one thread (the planning loop). The playbooks, CatalogApi,
// Clock, SigningKey and logger are borrowed and must outlive the Engine.
//
// Known cost: the roster/deploy/ tree it reads includes every node's bundle,
// and it is read again after each change under it (each answer, each write).
// Watching results/ and facts/ alone would need the planner to take the
// dispatcher's view of what each node had, instead of state/.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/ed25519.h"
#include "server/deploy/catalog_api.h"
#include "server/deploy/catalog_view.h"
#include "server/deploy/dispatcher.h"
#include "server/deploy/planner.h"
#include "server/deploy/run_store.h"

namespace spdlog {
class logger;
}  // namespace spdlog

namespace roster::deploy {

struct EngineOptions {
  DispatcherOptions dispatcher;
  std::chrono::milliseconds bundle_ttl = std::chrono::hours(1);
  bool check_mode = false;  // seal bundles as dry runs; write no state/ records
  int keep_runs = 200;
};

class Engine {
 public:
  Engine(EngineOptions options, const std::vector<Playbook>& playbooks, TemplateSource templates,
         const SigningKey& key, CatalogApi& api, const Clock& clock, std::shared_ptr<spdlog::logger> logger);

  void on_nodes(const Result<NodeList>& read);
  void on_kv(const Result<KvTree>& read);

  // Plans if the view changed, applies the agents' answers, times out,
  // retries and dispatches. Call after each read and when next_wakeup()
  // passes; calling it more often is harmless.
  void step();

  std::optional<std::chrono::steady_clock::time_point> next_wakeup() const;

  bool resumed() const { return resumed_; }
  const Dispatcher& dispatcher() const { return dispatcher_; }
  const Plan& plan() const { return plan_; }
  const RunStore& runs() const { return runs_; }

 private:
  void resume();
  void apply_results();
  void handle(const std::vector<DispatchEvent>& events);
  void dispatch(const Dispatch& dispatch);
  void write_states();
  std::string trigger_for(const std::vector<std::string>& nodes) const;
  int64_t now_unix_ms() const;

  EngineOptions options_;
  const std::vector<Playbook>& playbooks_;
  TemplateSource templates_;
  const SigningKey& key_;
  CatalogApi& api_;
  const Clock& clock_;
  std::shared_ptr<spdlog::logger> logger_;

  CatalogView view_;
  DeployRecords records_;
  Dispatcher dispatcher_;
  RunStore runs_;
  Plan plan_;
  bool resumed_ = false;
  // Bundles depend on the nodes and their facts only; the rest of the
  // records (results, state, runs, which change with every answer and every
  // write of ours) only feed the dispatcher.
  bool replan_ = false;
  bool records_changed_ = false;
  std::map<std::string, std::pair<uint64_t, std::string>> seen_results_;  // node -> generation, status
  std::map<std::string, std::string> written_states_;  // node -> JSON without updated_unix_ms
  std::map<std::string, std::string> build_errors_;    // node -> the error last logged
  std::set<std::string> logged_record_errors_;
};

}  // namespace roster::deploy
