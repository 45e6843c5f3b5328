#pragma once

// A linearizability checker for histories of a key-value store whose keys are
// independent registers: put(key, value), get(key) and cas(key, expected, value).
//
// A history is what clients saw: each operation with the time it was called,
// the time its answer arrived, and the answer. It is linearizable if every
// operation can be given one instant inside its [call, return] interval such
// that, executed one at a time in the order of those instants, a sequential
// map gives exactly the recorded answers. Every key starts absent.
//
// The search is Wing & Gong's with Lowe's memoisation, as in Porcupine
// (anishathalye/porcupine, checker.go): the history is split by key (a history
// of independent registers is linearizable iff each key's sub-history is), and
// each key is searched depth-first over its call/return events, pruning
// (set of operations linearized, register value) pairs already seen.
//
// Contract:
// - Times are ticks of one virtual clock, in any unit. Intervals are closed:
//   an operation that returns at t and one called at t are concurrent, so
//   either order is allowed. A checker that ordered them would reject
//   histories a simulator with coarse ticks can honestly produce.
// - Outcome `unknown` (the client gave up waiting): the operation may have
//   taken effect at any instant after its call, or never. Its return_time and
//   outputs are ignored. An unknown `get` has no effect and is dropped.
// - A cas that returned false is a read that saw something other than
//   `expected`; it changes nothing.
// - The work is bounded per key by `max_steps_per_key`, counted in search
//   steps rather than wall time so the verdict is the same on every run and
//   machine. A key that runs out gives `timed_out`, never a wrong verdict.
// - Pure: no I/O, no threads, no global state. Safe to call concurrently on
//   different histories.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace roster::sim {

enum class KvOpKind : uint8_t { put, get, cas };

enum class KvOpOutcome : uint8_t {
  ok,       // the client got an answer; the outputs are what it said
  unknown,  // the client timed out; see the contract above
};

// One client operation on one key. Build with the factory functions; for an
// operation whose answer never came, build it as usual and set
// `outcome = KvOpOutcome::unknown` (or use the `unknown_*` factories).
struct KvOperation {
  uint64_t client_id = 0;
  KvOpKind kind = KvOpKind::get;
  std::string key;

  // Inputs.
  std::string value;                    // put: the value written; cas: the new value
  std::optional<std::string> expected;  // cas: the value required; nullopt = key absent

  // Outputs (read only when outcome == ok).
  std::optional<std::string> read_value;  // get: what it returned; nullopt = absent
  bool succeeded = false;                 // cas: whether it swapped

  int64_t call_time = 0;
  int64_t return_time = 0;  // REQUIRES: >= call_time when outcome == ok
  KvOpOutcome outcome = KvOpOutcome::ok;

  static KvOperation put(uint64_t client_id, std::string key, std::string value, int64_t call_time,
                         int64_t return_time);
  static KvOperation get(uint64_t client_id, std::string key, std::optional<std::string> read_value, int64_t call_time,
                         int64_t return_time);
  static KvOperation cas(uint64_t client_id, std::string key, std::optional<std::string> expected, std::string value,
                         bool succeeded, int64_t call_time, int64_t return_time);
  static KvOperation unknown_put(uint64_t client_id, std::string key, std::string value, int64_t call_time);
  static KvOperation unknown_cas(uint64_t client_id, std::string key, std::optional<std::string> expected,
                                 std::string value, int64_t call_time);
};

// One line: `client 3 [120, 180] cas("a" -> "b") = true` (no key).
std::string describe(const KvOperation& operation);

struct LinearizabilityOptions {
  // Search steps allowed per key before that key is given up as timed out.
  // Healthy histories need a few steps per operation; the default leaves
  // room for heavy concurrency and still stops a pathological key in about
  // a second.
  uint64_t max_steps_per_key = 2'000'000;
};

enum class LinearizabilityVerdict : uint8_t {
  linearizable,
  not_linearizable,
  timed_out,        // no violation found, but some key ran out of steps
  invalid_history,  // an ok operation returned before it was called
};

std::string to_string(LinearizabilityVerdict verdict);

struct LinearizabilityResult {
  LinearizabilityVerdict verdict = LinearizabilityVerdict::linearizable;
  // not_linearizable: the first violating key (in key order). timed_out: the
  // first key that ran out of steps. invalid_history: the offending key.
  std::string key;
  // Empty when linearizable. For a violation: the key's operations in call
  // order with their times (a window around the failure when there are many),
  // the longest linearizable prefix found, the register value after it, and
  // the operations that could come next, none of which agrees with it.
  // Unanswered writes whose values nothing observed are left out of the
  // search, which cannot change the verdict (the .cc says why), and counted.
  std::string explanation;
  std::vector<std::string> violating_keys;  // all of them, in key order
  std::vector<std::string> timed_out_keys;  // all of them, in key order
  uint64_t steps = 0;                       // search steps over all keys

  bool linearizable() const { return verdict == LinearizabilityVerdict::linearizable; }
};

// Checks every key; a violation anywhere outranks a timeout elsewhere.
LinearizabilityResult check_kv_linearizability(const std::vector<KvOperation>& history,
                                               const LinearizabilityOptions& options = {});

}  // namespace roster::sim
