#include "agent/exec/exec_state.h"

#include <nlohmann/json.hpp>

namespace roster::exec {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ExecState, last_generation, last_hash, last_run_id, running_generation,
                                                running_hash, running_run_id, running_started_unix_ms,
                                                pending_handlers)

namespace {
constexpr const char* kFileName = "exec-state.json";
}  // namespace

std::string to_json(const ExecState& state) { return nlohmann::json(state).dump(2) + "\n"; }

Result<ExecState> parse_exec_state(std::string_view text) {
  try {
    nlohmann::json json = nlohmann::json::parse(text);
    if (!json.is_object()) return Status::invalid_argument("the exec state is not a JSON object");
    return json.get<ExecState>();
  } catch (const nlohmann::json::exception& error) {
    return Status::invalid_argument(std::string("malformed exec state: ") + error.what());
  }
}

ExecStateStore::ExecStateStore(Env* env, std::string data_dir) : env_(env), data_dir_(std::move(data_dir)) {}

std::string ExecStateStore::path() const {
  if (env_ == nullptr || data_dir_.empty()) return "";
  return join_path(data_dir_, kFileName);
}

Result<ExecState> ExecStateStore::load() {
  if (path().empty()) return memory_.value_or(ExecState{});
  Result<std::string> text = env_->read_file(path());
  if (!text.is_ok()) {
    if (text.status().code() == StatusCode::not_found) return ExecState{};
    return text.status();
  }
  Result<ExecState> state = parse_exec_state(*text);
  if (!state.is_ok()) return Status::invalid_argument(path() + ": " + state.status().message());
  return state;
}

Status ExecStateStore::save(const ExecState& state) {
  if (path().empty()) {
    memory_ = state;
    return Status::ok();
  }
  return write_file_atomically(*env_, path(), to_json(state));
}

}  // namespace roster::exec
