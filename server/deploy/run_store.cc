#include "server/deploy/run_store.h"

#include <charconv>

namespace roster::deploy {

std::string format_run_id(uint64_t number) {
  std::string digits = std::to_string(number);
  if (digits.size() < 6) digits.insert(0, 6 - digits.size(), '0');
  return digits;
}

uint64_t parse_run_id(const std::string& id) {
  uint64_t number = 0;
  auto [end, error] = std::from_chars(id.data(), id.data() + id.size(), number);
  if (id.empty() || error != std::errc() || end != id.data() + id.size()) return 0;
  return number;
}

namespace {

bool is_final(const std::string& status) {
  return status == "applied" || status == "failed" || status == "held" || status == "skipped";
}

void recount(deploy_records::RunRecord& run) {
  run.total = static_cast<int>(run.nodes.size());
  run.done = 0;
  run.failed = 0;
  for (const auto& [name, node] : run.nodes) {
    if (is_final(node.status)) ++run.done;
    if (node.status == "failed") ++run.failed;
  }
}

}  // namespace

RunStore::RunStore(CatalogApi& api, int keep_runs) : api_(api), keep_runs_(keep_runs) {}

void RunStore::resume(const std::map<std::string, deploy_records::RunRecord>& runs) {
  for (const auto& [id, run] : runs) {
    const uint64_t number = parse_run_id(id);
    if (number == 0) continue;
    highest_ = std::max(highest_, number);
    runs_[number] = run;
    runs_[number].id = id;
  }
  prune();
}

void RunStore::prune() {
  while (static_cast<int>(runs_.size()) > keep_runs_) {
    to_delete_.insert(runs_.begin()->first);
    dirty_.erase(runs_.begin()->first);
    runs_.erase(runs_.begin());
  }
}

std::string RunStore::open(const std::map<std::string, std::string>& nodes, const std::string& trigger,
                           int64_t now_unix_ms) {
  const uint64_t number = ++highest_;
  deploy_records::RunRecord& run = runs_[number];
  run.id = format_run_id(number);
  run.trigger = trigger;
  run.started_unix_ms = now_unix_ms;
  for (const auto& [name, hash] : nodes) {
    deploy_records::RunNodeRecord& node = run.nodes[name];
    node.status = "pending";
    node.hash = hash;
  }
  recount(run);
  dirty_.insert(number);
  const std::string id = run.id;
  prune();
  return id;
}

bool RunStore::record(const DispatchEvent& event, int64_t now_unix_ms) {
  if (event.run_id.empty() || event.node.empty()) return false;
  auto it = runs_.find(parse_run_id(event.run_id));
  if (it == runs_.end()) return false;
  deploy_records::RunRecord& run = it->second;
  deploy_records::RunNodeRecord& node = run.nodes[event.node];
  switch (event.kind) {
    case EventKind::dispatched: node.status = "dispatched"; break;
    case EventKind::applied: node.status = "applied"; break;
    case EventKind::failed:
    case EventKind::timed_out: node.status = "failed"; break;
    case EventKind::held: node.status = "held"; break;
    case EventKind::skipped: node.status = "skipped"; break;
    case EventKind::released:
    case EventKind::rollout_stopped: return false;
  }
  if (!event.hash.empty()) node.hash = event.hash;
  if (event.generation != 0) node.generation = event.generation;
  node.changed = event.changed;
  node.error = event.error;
  const bool was_finished = run.finished_unix_ms != 0;
  recount(run);
  dirty_.insert(it->first);
  if (run.done == run.total && !was_finished) {
    run.finished_unix_ms = now_unix_ms;
    return true;
  }
  return false;
}

Status RunStore::flush() {
  Status first;
  for (auto it = to_delete_.begin(); it != to_delete_.end();) {
    Status status = api_.kv_delete(deploy_records::run_key(format_run_id(*it)));
    if (!status.is_ok()) {
      if (first.is_ok()) first = status;
      ++it;
      continue;
    }
    it = to_delete_.erase(it);
  }
  for (auto it = dirty_.begin(); it != dirty_.end();) {
    const deploy_records::RunRecord& run = runs_.at(*it);
    Status status = api_.kv_put(deploy_records::run_key(run.id), deploy_records::to_json(run));
    if (!status.is_ok()) {
      if (first.is_ok()) first = status;
      ++it;
      continue;
    }
    it = dirty_.erase(it);
  }
  return first;
}

const deploy_records::RunRecord* RunStore::run(const std::string& id) const {
  auto it = runs_.find(parse_run_id(id));
  return it == runs_.end() ? nullptr : &it->second;
}

std::vector<std::string> RunStore::ids() const {
  std::vector<std::string> out;
  for (const auto& [number, run] : runs_) out.push_back(run.id);
  return out;
}

}  // namespace roster::deploy
