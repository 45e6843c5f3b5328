// roster deploy status | watch: what roster-deploy and the agents wrote under
// roster/deploy/, read through /v1/roster/deploy/runs and /v1/roster/deploy/nodes.

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "agent/cli/commands.h"
#include "agent/cli/json_fields.h"
#include "agent/cli/table.h"
#include "agent/cli/url_escape.h"
#include "common/duration.h"

namespace roster::cli {
namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

// The longest blocking wait asked for; the agent adds up to 1/16 of jitter.
constexpr auto kMaxWait = std::chrono::minutes(5);
constexpr auto kRequestTimeout = std::chrono::minutes(6);
constexpr size_t kShortHash = 12;

extern "C" void deploy_watch_interrupted(int) { _exit(130); }

// A blocking read: the body and the X-Consul-Index to pass next time.
struct Read {
  json body;
  std::string index;
};

// GET `path`, blocking while the data is at `index` (if given) for at most
// `wait`. 404 is not_found with the agent's message.
Result<Read> read(const AgentApi& api, const std::string& path, const std::string& index,
                  std::chrono::milliseconds wait) {
  std::string target = path;
  if (!index.empty()) {
    target += (path.find('?') == std::string::npos ? "?" : "&");
    target += "index=" + index + "&wait=" + std::to_string(std::max<int64_t>(wait.count(), 1)) + "ms";
  }
  Result<HttpResponse> response = api.send("GET", target);
  if (!response.is_ok()) return response.status();
  if (response->status < 200 || response->status >= 300) return status_from_response(*response);
  Read out;
  out.body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (out.body.is_discarded()) return Status::internal("the agent's answer to " + path + " is not JSON");
  auto header = response->headers.find("X-Consul-Index");
  out.index = header != response->headers.end() ? header->second : "";
  return out;
}

const json& member(const json& object, const char* name) {
  static const json null_value;
  if (!object.is_object()) return null_value;
  auto it = object.find(name);
  return it == object.end() ? null_value : *it;
}

std::string text(const json& object, const char* name) {
  const json& value = member(object, name);
  return value.is_null() ? "" : value_text(value);
}

int64_t number(const json& object, const char* name) {
  const json& value = member(object, name);
  return value.is_number_integer() ? value.get<int64_t>() : 0;
}

std::string utc_time(int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  time_t seconds = static_cast<time_t>(unix_ms / 1000);
  struct tm parts {};
  gmtime_r(&seconds, &parts);
  char buffer[32];
  strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%SZ", &parts);
  return buffer;
}

std::string or_dash(const std::string& value) { return value.empty() ? "-" : value; }

// The first failed task ("task: message"), else the result's or the state's error.
std::string failure_of(const json& entry) {
  const json& result = member(entry, "result");
  for (const char* list : {"tasks", "handlers"}) {
    const json& tasks = member(result, list);
    if (!tasks.is_array()) continue;
    for (const json& task : tasks) {
      if (text(task, "status") != "failed") continue;
      std::string message = text(task, "message");
      return text(task, "name") + (message.empty() ? "" : ": " + message);
    }
  }
  if (std::string error = text(result, "error"); !error.empty()) return error;
  if (std::string error = text(member(entry, "state"), "error"); !error.empty()) return error;
  const json& errors = member(entry, "parse_errors");
  if (errors.is_object() && !errors.empty()) {
    return "invalid " + errors.begin().key() + " record: " + value_text(errors.begin().value());
  }
  return "";
}

void add_status_row(Table& table, const json& entry) {
  const json& state = member(entry, "state");
  const json& result = member(entry, "result");
  std::string status = text(state, "status");
  if (status.empty()) status = text(result, "status");
  std::string hash = text(state, "hash");
  if (hash.empty()) hash = text(result, "hash");
  int64_t generation = number(state, "generation");
  if (generation == 0) generation = number(result, "generation");
  const int64_t updated = std::max({number(state, "updated_unix_ms"), number(result, "finished_unix_ms"),
                                    number(result, "started_unix_ms")});
  table.add_row({text(entry, "node"), or_dash(status), or_dash(hash.substr(0, kShortHash)),
                 generation == 0 ? "-" : std::to_string(generation), result.is_object() ? text(result, "changed") : "-",
                 or_dash(failure_of(entry)), utc_time(updated)});
}

int run_status(const std::string& node, const CommonOptions& common, const CommandIo& io) {
  AgentApi api = connect(common, io);
  const std::string path = node.empty() ? "/v1/roster/deploy/nodes" : "/v1/roster/deploy/nodes/" + escape_component(node);
  Result<json> answer = api.get_json(path);
  if (!answer.is_ok()) {
    return report_error(io.err, node.empty() ? "Failed to read the deploy status" : "Failed to read the deploy status of " + node,
                        answer.status());
  }
  if (common.json()) {
    print_json(io.out, *answer);
    return 0;
  }
  Table table({"Node", "Status", "Hash", "Generation", "Changed", "Failed task/error", "Updated"});
  if (answer->is_array()) {
    for (const json& entry : *answer) add_status_row(table, entry);
  } else {
    add_status_row(table, *answer);
  }
  table.render(io.out);
  return 0;
}

// --- watch ---

bool final_result_status(const std::string& status) {
  return status == "applied" || status == "failed" || status == "refused";
}

bool settled_run_status(const std::string& status) {
  return status == "applied" || status == "failed" || status == "held" || status == "skipped";
}

struct Recap {
  int ok = 0;
  int changed = 0;
  int failed = 0;
  int skipped = 0;
  std::string outcome;  // the node's result status, or its run status when no result came
};

class RunFollower {
 public:
  RunFollower(std::string run_id, const CommonOptions& common, const CommandIo& io)
      : run_id_(std::move(run_id)), common_(common), io_(io) {}

  // Prints what is new in `run` and `nodes` (a /v1/roster/deploy/nodes answer).
  void update(const json& run, const json& nodes) {
    if (!header_printed_) {
      header_printed_ = true;
      if (!common_.json()) {
        std::string trigger = text(run, "trigger");
        io_.out << "run " << run_id_ << (trigger.empty() ? "" : " (" + trigger + ")") << ": " << number(run, "total")
                << " node(s)\n";
      }
    }
    std::map<std::string, const json*> by_name;
    if (nodes.is_array()) {
      for (const json& entry : nodes) by_name[text(entry, "node")] = &entry;
    }
    const json& run_nodes = member(run, "nodes");
    if (run_nodes.is_object()) {
      for (auto it = run_nodes.begin(); it != run_nodes.end(); ++it) {
        const std::string& node = it.key();
        auto found = by_name.find(node);
        const json* result = found == by_name.end() ? nullptr : &member(*found->second, "result");
        auto printed = printed_.find(node);
        if (result != nullptr && belongs_to_run(*result, it.value()) && final_result_status(text(*result, "status"))) {
          // A retry within the run comes back with a newer generation: print it too.
          const int64_t generation = number(*result, "generation");
          if (printed != printed_.end() && printed->second == generation) continue;
          print_result(node, *result);
          printed_[node] = generation;
        } else if (std::string status = text(it.value(), "status");
                   printed == printed_.end() && (status == "held" || status == "skipped")) {
          print_not_run(node, it.value());
          printed_[node] = -1;
        }
      }
    }
    const auto progress = std::make_tuple(number(run, "done"), number(run, "total"), number(run, "failed"));
    if (progress != last_progress_) {
      last_progress_ = progress;
      if (common_.json()) {
        io_.out << json{{"run", run_id_}, {"done", std::get<0>(progress)}, {"total", std::get<1>(progress)},
                        {"failed", std::get<2>(progress)}, {"finished", number(run, "finished_unix_ms") != 0}}
                       .dump()
                << "\n";
      } else {
        io_.out << "run " << run_id_ << ": " << std::get<0>(progress) << "/" << std::get<1>(progress) << " done, "
                << std::get<2>(progress) << " failed\n";
      }
    }
    io_.out.flush();
  }

  // Whether every node of the run has settled as far as this follower saw:
  // then only the run record can still change.
  bool all_settled(const json& run) const {
    const json& run_nodes = member(run, "nodes");
    if (!run_nodes.is_object()) return true;
    for (auto it = run_nodes.begin(); it != run_nodes.end(); ++it) {
      if (printed_.count(it.key()) == 0 && !settled_run_status(text(it.value(), "status"))) return false;
    }
    return true;
  }

  void print_recap(const json& run) {
    if (common_.json()) return;
    io_.out << "\nRECAP run " << run_id_ << " finished at " << utc_time(number(run, "finished_unix_ms")) << "\n";
    std::vector<std::vector<std::string>> rows;
    const json& run_nodes = member(run, "nodes");
    if (run_nodes.is_object()) {
      for (auto it = run_nodes.begin(); it != run_nodes.end(); ++it) {
        auto found = recaps_.find(it.key());
        Recap recap = found != recaps_.end() ? found->second : Recap{0, 0, 0, 0, text(it.value(), "status")};
        rows.push_back({it.key(), or_dash(recap.outcome), "ok=" + std::to_string(recap.ok),
                        "changed=" + std::to_string(recap.changed), "failed=" + std::to_string(recap.failed),
                        "skipped=" + std::to_string(recap.skipped)});
      }
    }
    render_columns(io_.out, rows);
    io_.out.flush();
  }

 private:
  // A result answers this run when it names it, or (from an agent that does
  // not carry the run ID) when its generation is the one the run wrote.
  bool belongs_to_run(const json& result, const json& run_node) const {
    if (!result.is_object()) return false;
    const std::string run_id = text(result, "run_id");
    if (!run_id.empty()) return run_id == run_id_;
    return number(result, "generation") != 0 && number(result, "generation") == number(run_node, "generation");
  }

  void print_result(const std::string& node, const json& result) {
    if (common_.json()) {
      io_.out << json{{"run", run_id_}, {"node", node}, {"result", result}}.dump() << "\n";
    }
    Recap& recap = recaps_[node] = Recap{};
    recap.outcome = text(result, "status");
    bool any_failed_task = false;
    for (const char* list : {"tasks", "handlers"}) {
      const json& tasks = member(result, list);
      if (!tasks.is_array()) continue;
      for (const json& task : tasks) {
        const std::string status = text(task, "status");
        if (status == "ok") ++recap.ok;
        if (status == "changed") ++recap.changed;
        if (status == "failed") {
          ++recap.failed;
          any_failed_task = true;
        }
        if (status == "skipped") ++recap.skipped;
        if (common_.json()) continue;
        std::string line = status + ": [" + node + "] => " + text(task, "name");
        if (std::string(list) == "handlers") line += " (handler)";
        if (status == "failed" && !text(task, "message").empty()) line += ": " + text(task, "message");
        io_.out << line << "\n";
      }
    }
    const std::string status = text(result, "status");
    if (!common_.json() && (status == "refused" || (status == "failed" && !any_failed_task))) {
      io_.out << status << ": [" << node << "] => " << or_dash(text(result, "error")) << "\n";
      if (!any_failed_task) ++recap.failed;
    }
  }

  void print_not_run(const std::string& node, const json& run_node) {
    recaps_[node].outcome = text(run_node, "status");
    if (common_.json()) {
      io_.out << json{{"run", run_id_}, {"node", node}, {"run_node", run_node}}.dump() << "\n";
      return;
    }
    const std::string error = text(run_node, "error");
    io_.out << text(run_node, "status") << ": [" << node << "] => not run" << (error.empty() ? "" : ": " + error)
            << "\n";
  }

  std::string run_id_;
  const CommonOptions& common_;
  const CommandIo& io_;
  bool header_printed_ = false;
  std::map<std::string, int64_t> printed_;  // node -> generation of the result printed (-1: not run)
  std::map<std::string, Recap> recaps_;
  std::tuple<int64_t, int64_t, int64_t> last_progress_{-1, -1, -1};
};

std::chrono::milliseconds wait_until(SteadyClock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  return std::clamp<std::chrono::milliseconds>(left, std::chrono::milliseconds(0), kMaxWait);
}

// The run to follow when none was named: the newest one still running, else
// the next one to start (a newer ID than the newest finished one seen now).
Result<std::string> pick_run(const AgentApi& api, SteadyClock::time_point deadline, const CommandIo& io) {
  std::string index;
  std::string finished_newest;
  bool first = true;
  bool said_waiting = false;
  for (;;) {
    Result<Read> runs = read(api, "/v1/roster/deploy/runs?limit=1", index, wait_until(deadline));
    if (!runs.is_ok()) return runs.status();
    const json newest = runs->body.is_array() && !runs->body.empty() ? runs->body.front() : json();
    const std::string id = text(newest, "id");
    if (!id.empty()) {
      const bool running = number(newest, "finished_unix_ms") == 0 && !newest.contains("parse_error");
      if (running || (!first && id != finished_newest)) return id;
      if (first) finished_newest = id;
    }
    first = false;
    if (!said_waiting) {
      io.err << "Waiting for a deploy run to start...\n";
      said_waiting = true;
    }
    if (SteadyClock::now() >= deadline) return Status::unavailable("no deploy run started before the timeout");
    // Without an index (not a Roster agent?), do not spin.
    if (runs->index.empty()) std::this_thread::sleep_for(std::chrono::seconds(1));
    index = runs->index;
  }
}

int run_watch_run(std::string run_id, std::chrono::nanoseconds timeout, const CommonOptions& common,
                  const CommandIo& io) {
  const auto deadline = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(timeout);
  AgentApi api = connect(common, io, kRequestTimeout);
  struct sigaction interrupt {};
  struct sigaction previous {};
  interrupt.sa_handler = deploy_watch_interrupted;
  sigemptyset(&interrupt.sa_mask);
  sigaction(SIGINT, &interrupt, &previous);
  struct RestoreSignal {
    struct sigaction& previous;
    ~RestoreSignal() { sigaction(SIGINT, &previous, nullptr); }
  } restore{previous};

  if (run_id.empty()) {
    Result<std::string> picked = pick_run(api, deadline, io);
    if (!picked.is_ok()) return report_error(io.err, "Failed to find a deploy run to watch", picked.status());
    run_id = *picked;
  }
  const std::string run_path = "/v1/roster/deploy/runs/" + escape_component(run_id);
  const std::string nodes_path = "/v1/roster/deploy/nodes";
  Result<Read> run = read(api, run_path, "", {});
  if (!run.is_ok()) return report_error(io.err, "Failed to read run " + run_id, run.status());
  Result<Read> nodes = read(api, nodes_path, "", {});
  if (!nodes.is_ok()) return report_error(io.err, "Failed to read the deploy status", nodes.status());
  RunFollower follower(run_id, common, io);
  for (;;) {
    follower.update(run->body, nodes->body);
    if (run->body.contains("parse_error")) {
      return report_error(io.err, "Failed to read run " + run_id, Status::internal(text(run->body, "parse_error")));
    }
    if (number(run->body, "finished_unix_ms") != 0) {
      follower.print_recap(run->body);
      return number(run->body, "failed") > 0 ? 2 : 0;
    }
    if (SteadyClock::now() >= deadline) {
      io.err << "Error! Run " << run_id << " did not finish before the timeout\n";
      return 1;
    }
    // Results stream in through the nodes; once every node has settled only
    // the run record is left to change.
    if (follower.all_settled(run->body)) {
      const std::string before = run->index;
      run = read(api, run_path, run->index, wait_until(deadline));
      if (!run.is_ok()) return report_error(io.err, "Failed to read run " + run_id, run.status());
      if (run->index.empty() || run->index == before) continue;
      nodes = read(api, nodes_path, "", {});
      if (!nodes.is_ok()) return report_error(io.err, "Failed to read the deploy status", nodes.status());
    } else {
      // Woken or timed out, look at the run: it may also have finished with
      // nodes that never answered.
      nodes = read(api, nodes_path, nodes->index, wait_until(deadline));
      if (!nodes.is_ok()) return report_error(io.err, "Failed to read the deploy status", nodes.status());
      run = read(api, run_path, "", {});
      if (!run.is_ok()) return report_error(io.err, "Failed to read run " + run_id, run.status());
    }
    if (run->index.empty() || nodes->index.empty()) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace

int run_deploy(const std::vector<std::string>& args, const CommandIo& io) {
  CLI::App app("Shows what roster-deploy and the agents report about deployments: each node's deploy state,\n"
               "and a run's results as they arrive.",
               "roster deploy");
  app.require_subcommand(1);
  CommonOptions common;
  std::string node;
  std::string run_id;
  std::string timeout_text = "10m";

  CLI::App* status = app.add_subcommand("status", "Shows every node's deploy state, or one node's");
  status->add_option("--node", node, "Only this node");
  add_common_options(*status, common);
  status->footer("Examples:\n  roster deploy status\n  roster deploy status -node web-1 -format=json");

  CLI::App* watch = app.add_subcommand(
      "watch", "Prints a run's task results as they arrive, until the run finishes (exit 0, or 2 if a node\n"
               "failed), the timeout passes (exit 1) or Ctrl-C");
  watch->add_option("--run", run_id, "The run to follow (default: the one running, else the next to start)");
  watch->add_option("--timeout", timeout_text, "Give up after this long (Go duration, default 10m)");
  add_common_options(*watch, common);
  watch->footer("Examples:\n  roster deploy watch\n  roster deploy watch -run 000042 -timeout 2m");

  if (auto exit_code = parse_command_line(app, args, io)) return *exit_code;
  if (status->parsed()) return run_status(node, common, io);
  auto timeout = parse_go_duration(timeout_text);
  if (!timeout.is_ok() || timeout->count() <= 0) {
    io.err << "Error! -timeout must be a positive duration such as 90s or 10m, got \"" << timeout_text << "\"\n"
           << "Run 'roster deploy watch -help' for usage.\n";
    return 1;
  }
  return run_watch_run(run_id, *timeout, common, io);
}

}  // namespace roster::cli
