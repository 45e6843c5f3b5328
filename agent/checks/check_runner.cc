#include "agent/checks/check_runner.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>

#include <spdlog/spdlog.h>

#include "agent/checks/http_probe.h"
#include "agent/checks/http_url.h"
#include "agent/checks/script_probe.h"
#include "agent/checks/tcp_probe.h"
#include "common/duration.h"
#include "common/one_shot_timer.h"

namespace roster::checks {
namespace {

namespace asio = boost::asio;
using error_code = boost::system::error_code;
using std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

// Consul's default when a check gives no timeout.
constexpr nanoseconds kDefaultTimeout = std::chrono::seconds(10);

struct CheckState {
  explicit CheckState(asio::io_context& io) : run_timer(io), ttl_timer(io), deregister_timer(io) {}

  void shut_down() {
    removed = true;
    run_timer.cancel();
    ttl_timer.cancel();
    deregister_timer.cancel();
    if (probe) probe->cancel();
    probe.reset();
  }

  local::CheckDefinition definition;
  CheckResult result;
  asio::steady_timer run_timer;
  OneShotTimer ttl_timer;  // a TTL update supersedes an expiry already queued
  asio::steady_timer deregister_timer;
  std::shared_ptr<Probe> probe;
  std::optional<TimePoint> critical_since;
  bool deregister_reported = false;
  bool removed = false;
};

Status validate(const local::CheckDefinition& check, const RunnerOptions& options) {
  std::string kind = check.type();
  if (check.id.empty()) return Status::invalid_argument("check has no id");
  if (kind.empty()) {
    return Status::invalid_argument("check \"" + check.id + "\" has no kind; set one of TTL, HTTP, TCP or Args");
  }
  int kinds = (check.ttl ? 1 : 0) + (check.http.empty() ? 0 : 1) + (check.tcp.empty() ? 0 : 1) +
              (check.args.empty() ? 0 : 1);
  if (kinds > 1) {
    return Status::invalid_argument("check \"" + check.id + "\" sets more than one of TTL, HTTP, TCP and Args");
  }
  if (!check.status.empty() && !is_valid_check_status(check.status)) {
    return Status::invalid_argument("check \"" + check.id + "\": invalid status \"" + check.status +
                                    "\"; want passing, warning or critical");
  }
  if (kind == "script" && !options.enable_script_checks) {
    return Status::permission_denied("script checks are disabled; set enable_script_checks");
  }
  if (kind == "ttl") {
    if (*check.ttl <= nanoseconds::zero()) {
      return Status::invalid_argument("check \"" + check.id + "\": TTL must be positive");
    }
  } else if (check.interval <= nanoseconds::zero()) {
    return Status::invalid_argument("check \"" + check.id + "\": interval must be positive");
  }
  if (kind == "http") {
    auto url = parse_http_url(check.http);
    if (!url.is_ok()) return Status::invalid_argument("check \"" + check.id + "\": " + url.status().message());
  }
  if (kind == "tcp") {
    auto address = split_host_port(check.tcp);
    if (!address.is_ok()) return Status::invalid_argument("check \"" + check.id + "\": " + address.status().message());
  }
  if (check.deregister_critical_service_after && *check.deregister_critical_service_after < nanoseconds::zero()) {
    return Status::invalid_argument("check \"" + check.id + "\": DeregisterCriticalServiceAfter must not be negative");
  }
  return Status::ok();
}

}  // namespace

class CheckRunner::Impl : public std::enable_shared_from_this<CheckRunner::Impl> {
 public:
  Impl(asio::io_context& io, RunnerOptions options, ChangeCallback on_change, DeregisterCallback on_deregister)
      : io_(io),
        options_(std::move(options)),
        clock_(options_.clock ? options_.clock : &system_clock_),
        on_change_(std::move(on_change)),
        on_deregister_(std::move(on_deregister)) {}

  Status add(const local::CheckDefinition& check) {
    if (stopped_) return Status::unavailable("check runner is stopped");
    if (Status status = validate(check, options_); !status.is_ok()) return status;
    remove(check.id);

    auto state = std::make_shared<CheckState>(io_);
    state->definition = check;
    if (!check.ttl && check.interval < options_.min_interval) {
      if (options_.logger) {
        options_.logger->warn("check \"{}\" has interval {}, below the minimum of {}; running it every {}", check.id,
                              format_go_duration(check.interval), format_go_duration(options_.min_interval),
                              format_go_duration(options_.min_interval));
      }
      state->definition.interval = options_.min_interval;
    }
    state->result = {check.status.empty() ? kCritical : check.status, ""};
    checks_.emplace(check.id, state);
    track_critical(state);
    if (check.ttl) {
      arm_ttl(state);
    } else {
      schedule_run(state, nanoseconds::zero());
    }
    return Status::ok();
  }

  void remove(const std::string& check_id) {
    auto it = checks_.find(check_id);
    if (it == checks_.end()) return;
    it->second->shut_down();
    checks_.erase(it);
  }

  Status update_ttl(const std::string& check_id, const std::string& status, const std::string& output) {
    auto it = checks_.find(check_id);
    if (it == checks_.end()) return Status::not_found("unknown check \"" + check_id + "\"");
    auto state = it->second;
    if (!state->definition.ttl) return Status::invalid_argument("check \"" + check_id + "\" is not a TTL check");
    if (!is_valid_check_status(status)) {
      return Status::invalid_argument("invalid status \"" + status + "\"; want passing, warning or critical");
    }
    arm_ttl(state);
    CheckResult result{status, truncate_output(output, options_.max_output_bytes)};
    bool changed = apply(state, result);
    // Report from the event loop, so on_change never runs inside a caller
    // that may hold its own locks.
    asio::post(io_, [weak = weak_from_this(), state, changed, result = std::move(result)] {
      if (auto self = weak.lock(); self && !state->removed) self->report(state, changed, result);
    });
    return Status::ok();
  }

  std::optional<CheckResult> current(const std::string& check_id) const {
    auto it = checks_.find(check_id);
    if (it == checks_.end()) return std::nullopt;
    return it->second->result;
  }

  void stop() {
    stopped_ = true;
    for (auto& [id, state] : checks_) state->shut_down();
    checks_.clear();
  }

 private:
  void schedule_run(const std::shared_ptr<CheckState>& state, nanoseconds delay) {
    state->run_timer.expires_after(delay);
    state->run_timer.async_wait([weak = weak_from_this(), state](error_code ec) {
      if (ec || state->removed) return;
      if (auto self = weak.lock()) self->run(state);
    });
  }

  void run(const std::shared_ptr<CheckState>& state) {
    const local::CheckDefinition& check = state->definition;
    nanoseconds timeout = check.timeout > nanoseconds::zero() ? check.timeout : kDefaultTimeout;
    auto started = std::chrono::steady_clock::now();
    ProbeCallback done = [weak = weak_from_this(), state, started](CheckResult result) {
      auto self = weak.lock();
      if (!self || state->removed) return;
      state->probe.reset();
      self->record(state, std::move(result));
      if (state->removed) return;  // a callback removed it
      // Runs start every interval, as Consul's ticker does; a run that took
      // longer than that is followed by the next one at once.
      auto next = started + state->definition.interval - std::chrono::steady_clock::now();
      self->schedule_run(state, std::max(std::chrono::duration_cast<nanoseconds>(next), nanoseconds::zero()));
    };
    std::string kind = check.type();
    if (kind == "http") {
      state->probe = start_http_probe(io_, check, options_.max_output_bytes, std::move(done));
    } else if (kind == "tcp") {
      state->probe = start_tcp_probe(io_, check.tcp, timeout, std::move(done));
    } else if (kind == "script") {
      state->probe = start_script_probe(io_, check.args, timeout, options_.max_output_bytes, std::move(done));
    }
  }

  void arm_ttl(const std::shared_ptr<CheckState>& state) {
    state->ttl_timer.arm_after(*state->definition.ttl, [weak = weak_from_this(), state] {
      if (state->removed) return;
      if (auto self = weak.lock()) self->record(state, {kCritical, "TTL expired"});
    });
  }

  // Stores a run's result, reports it if it differs, and checks whether the
  // service should go. Callbacks may remove this check or others.
  void record(const std::shared_ptr<CheckState>& state, const CheckResult& result) {
    bool changed = apply(state, result);
    report(state, changed, result);
  }

  // Returns whether the result differs from the previous one.
  bool apply(const std::shared_ptr<CheckState>& state, const CheckResult& result) {
    if (result == state->result) return false;
    if (result.status != state->result.status && options_.logger) {
      options_.logger->info("check \"{}\" is now {}: {}", state->definition.id, result.status, result.output);
    }
    state->result = result;
    track_critical(state);
    return true;
  }

  void report(const std::shared_ptr<CheckState>& state, bool changed, const CheckResult& result) {
    if (changed && on_change_) {
      std::string check_id = state->definition.id;
      on_change_(check_id, result);
    }
    if (!state->removed) maybe_deregister(state);
  }

  void track_critical(const std::shared_ptr<CheckState>& state) {
    if (state->result.status != kCritical) {
      state->critical_since.reset();
      state->deregister_reported = false;
      state->deregister_timer.cancel();
      return;
    }
    if (state->critical_since) return;
    state->critical_since = clock_->now();
    arm_deregister(state);
  }

  bool wants_deregister(const CheckState& state) const {
    return state.definition.deregister_critical_service_after && !state.definition.service_id.empty();
  }

  void arm_deregister(const std::shared_ptr<CheckState>& state) {
    if (!wants_deregister(*state) || !state->critical_since || state->deregister_reported) return;
    auto elapsed = clock_->now() - *state->critical_since;
    auto remaining = std::chrono::duration_cast<nanoseconds>(*state->definition.deregister_critical_service_after -
                                                             elapsed);
    state->deregister_timer.expires_after(std::max(remaining, nanoseconds::zero()));
    state->deregister_timer.async_wait([weak = weak_from_this(), state](error_code ec) {
      if (ec || state->removed) return;
      auto self = weak.lock();
      if (!self) return;
      self->maybe_deregister(state);
      // An injected clock may lag the timer; look again when it should be due.
      if (!state->removed && !state->deregister_reported && state->critical_since) self->arm_deregister(state);
    });
  }

  void maybe_deregister(const std::shared_ptr<CheckState>& state) {
    if (!wants_deregister(*state) || !state->critical_since || state->deregister_reported) return;
    if (clock_->now() - *state->critical_since < *state->definition.deregister_critical_service_after) return;
    state->deregister_reported = true;
    state->deregister_timer.cancel();
    std::string service_id = state->definition.service_id;
    if (options_.logger) {
      options_.logger->warn("check \"{}\" has been critical for more than {}; deregistering service \"{}\"",
                            state->definition.id,
                            format_go_duration(*state->definition.deregister_critical_service_after), service_id);
    }
    if (on_deregister_) on_deregister_(service_id);
  }

  asio::io_context& io_;
  RunnerOptions options_;
  SystemClock system_clock_;
  const Clock* clock_;
  ChangeCallback on_change_;
  DeregisterCallback on_deregister_;
  std::map<std::string, std::shared_ptr<CheckState>> checks_;
  bool stopped_ = false;
};

CheckRunner::CheckRunner(asio::io_context& io, RunnerOptions options, ChangeCallback on_change,
                         DeregisterCallback on_deregister_service)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(on_change), std::move(on_deregister_service))) {}

CheckRunner::~CheckRunner() { impl_->stop(); }

Status CheckRunner::add(const local::CheckDefinition& check) { return impl_->add(check); }

void CheckRunner::remove(const std::string& check_id) { impl_->remove(check_id); }

Status CheckRunner::update_ttl(const std::string& check_id, const std::string& status, const std::string& output) {
  return impl_->update_ttl(check_id, status, output);
}

std::optional<CheckResult> CheckRunner::current(const std::string& check_id) const {
  return impl_->current(check_id);
}

void CheckRunner::stop() { impl_->stop(); }

}  // namespace roster::checks
