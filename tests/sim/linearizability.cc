#include "tests/sim/linearizability.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>

namespace roster::sim {

KvOperation KvOperation::put(uint64_t client_id, std::string key, std::string value, int64_t call_time,
                             int64_t return_time) {
  KvOperation out;
  out.client_id = client_id;
  out.kind = KvOpKind::put;
  out.key = std::move(key);
  out.value = std::move(value);
  out.call_time = call_time;
  out.return_time = return_time;
  return out;
}

KvOperation KvOperation::get(uint64_t client_id, std::string key, std::optional<std::string> read_value,
                             int64_t call_time, int64_t return_time) {
  KvOperation out;
  out.client_id = client_id;
  out.kind = KvOpKind::get;
  out.key = std::move(key);
  out.read_value = std::move(read_value);
  out.call_time = call_time;
  out.return_time = return_time;
  return out;
}

KvOperation KvOperation::cas(uint64_t client_id, std::string key, std::optional<std::string> expected,
                             std::string value, bool succeeded, int64_t call_time, int64_t return_time) {
  KvOperation out;
  out.client_id = client_id;
  out.kind = KvOpKind::cas;
  out.key = std::move(key);
  out.expected = std::move(expected);
  out.value = std::move(value);
  out.succeeded = succeeded;
  out.call_time = call_time;
  out.return_time = return_time;
  return out;
}

KvOperation KvOperation::unknown_put(uint64_t client_id, std::string key, std::string value, int64_t call_time) {
  KvOperation out = put(client_id, std::move(key), std::move(value), call_time, call_time);
  out.outcome = KvOpOutcome::unknown;
  return out;
}

KvOperation KvOperation::unknown_cas(uint64_t client_id, std::string key, std::optional<std::string> expected,
                                     std::string value, int64_t call_time) {
  KvOperation out = cas(client_id, std::move(key), std::move(expected), std::move(value), false, call_time, call_time);
  out.outcome = KvOpOutcome::unknown;
  return out;
}

namespace {

std::string quoted(const std::optional<std::string>& value) {
  return value ? "\"" + *value + "\"" : std::string("absent");
}

}  // namespace

std::string describe(const KvOperation& operation) {
  bool known = operation.outcome == KvOpOutcome::ok;
  std::string out = "client " + std::to_string(operation.client_id) + " [" + std::to_string(operation.call_time) +
                    ", " + (known ? std::to_string(operation.return_time) : std::string("?")) + "] ";
  switch (operation.kind) {
    case KvOpKind::put:
      out += "put(" + quoted(operation.value) + ")";
      break;
    case KvOpKind::get:
      out += "get()";
      if (known) out += " = " + quoted(operation.read_value);
      break;
    case KvOpKind::cas:
      out += "cas(" + quoted(operation.expected) + " -> " + quoted(operation.value) + ")";
      if (known) out += operation.succeeded ? " = true" : " = false";
      break;
  }
  if (!known) out += " (no answer)";
  return out;
}

std::string to_string(LinearizabilityVerdict verdict) {
  switch (verdict) {
    case LinearizabilityVerdict::linearizable:
      return "linearizable";
    case LinearizabilityVerdict::not_linearizable:
      return "not linearizable";
    case LinearizabilityVerdict::timed_out:
      return "timed out";
    case LinearizabilityVerdict::invalid_history:
      return "invalid history";
  }
  return "?";
}

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int kAbsent = -1;
constexpr int kEnd = -1;

uint64_t mix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// One operation of a key's sub-history, with its values interned as small
// integers so the register state is an int and comparisons are cheap.
struct RegisterOp {
  const KvOperation* source = nullptr;
  KvOpKind kind = KvOpKind::get;
  bool unknown = false;
  int value = kAbsent;
  int expected = kAbsent;
  int read = kAbsent;
  bool succeeded = false;
  int64_t call_time = 0;
  int64_t return_time = 0;
};

// The register after `op`, or nullopt when op's recorded answer contradicts
// `state`. An unknown cas may succeed or fail; only its success matters,
// since a failed cas changes nothing and can be placed after everything else.
std::optional<int> step(int state, const RegisterOp& op) {
  switch (op.kind) {
    case KvOpKind::put:
      return op.value;
    case KvOpKind::get:
      if (op.read == state) return state;
      return std::nullopt;
    case KvOpKind::cas:
      if (op.unknown) return state == op.expected ? op.value : state;
      if (op.succeeded) {
        if (state == op.expected) return op.value;
        return std::nullopt;
      }
      if (state != op.expected) return state;
      return std::nullopt;
  }
  return std::nullopt;
}

// Call and return events in time order, as a doubly linked list that the
// search unlinks operations from and relinks them into (dancing links):
// whatever is still linked is what has not been linearized yet.
class EventList {
 public:
  explicit EventList(const std::vector<RegisterOp>& ops) {
    size_t count = ops.size();
    std::vector<std::pair<int, bool>> order;  // (op, is_call)
    order.reserve(count * 2);
    for (size_t i = 0; i < count; ++i) {
      order.emplace_back(static_cast<int>(i), true);
      order.emplace_back(static_cast<int>(i), false);
    }
    auto time_of = [&](const std::pair<int, bool>& e) {
      const RegisterOp& op = ops[static_cast<size_t>(e.first)];
      return e.second ? op.call_time : op.return_time;
    };
    // Calls before returns at equal times: closed intervals, so they overlap.
    std::sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
      int64_t ta = time_of(a);
      int64_t tb = time_of(b);
      if (ta != tb) return ta < tb;
      if (a.second != b.second) return a.second;
      return a.first < b.first;
    });
    nodes_.resize(order.size() + 1);  // nodes_[0] is the head
    call_node_.assign(count, 0);
    return_rank_.assign(count, 0);
    call_rank_.assign(count, 0);
    std::vector<int> return_node(count, 0);
    for (size_t i = 0; i < order.size(); ++i) {
      int node = static_cast<int>(i) + 1;
      auto op = static_cast<size_t>(order[i].first);
      nodes_[static_cast<size_t>(node)].op = order[i].first;
      nodes_[static_cast<size_t>(node)].is_call = order[i].second;
      (order[i].second ? call_node_[op] : return_node[op]) = node;
      (order[i].second ? call_rank_[op] : return_rank_[op]) = node;
    }
    for (size_t op = 0; op < count; ++op) nodes_[static_cast<size_t>(call_node_[op])].match = return_node[op];
    for (size_t i = 0; i < nodes_.size(); ++i) {
      nodes_[i].prev = static_cast<int>(i) - 1;
      nodes_[i].next = i + 1 < nodes_.size() ? static_cast<int>(i) + 1 : kEnd;
    }
  }

  int first() const { return nodes_[0].next; }
  int next(int node) const { return at(node).next; }
  bool is_call(int node) const { return at(node).is_call; }
  int op(int node) const { return at(node).op; }
  // Position in time order; comparable between calls and returns.
  int call_rank(size_t op) const { return call_rank_[op]; }
  int return_rank(size_t op) const { return return_rank_[op]; }

  // REQUIRES: `call` is a linked call event. Unlinks it and its return.
  void lift(int call) {
    unlink(call);
    unlink(at(call).match);
  }
  // REQUIRES: `call` is the most recently lifted call still unlinked.
  void unlift(int call) {
    relink(at(call).match);
    relink(call);
  }

 private:
  struct Node {
    int op = -1;
    bool is_call = false;
    int match = 0;  // calls only: the return event
    int prev = kEnd;
    int next = kEnd;
  };

  Node& at(int node) { return nodes_[static_cast<size_t>(node)]; }
  const Node& at(int node) const { return nodes_[static_cast<size_t>(node)]; }

  void unlink(int node) {
    Node& n = at(node);
    at(n.prev).next = n.next;
    if (n.next != kEnd) at(n.next).prev = n.prev;
  }
  void relink(int node) {
    Node& n = at(node);
    at(n.prev).next = node;
    if (n.next != kEnd) at(n.next).prev = node;
  }

  std::vector<Node> nodes_;
  std::vector<int> call_node_;
  std::vector<int> call_rank_;
  std::vector<int> return_rank_;
};

// The set of (operations linearized, register value) configurations already
// explored. Reaching one again cannot lead anywhere new, which is what turns
// the search from factorial into (usually) close to linear. The bitsets live
// in one flat array and the table is open addressing over their indices, so
// an entry costs a few dozen bytes: a step budget of millions stays in memory.
class ConfigurationCache {
 public:
  explicit ConfigurationCache(size_t words) : words_(words), slots_(1024, 0) {}

  // Adds the configuration; false if it was already there.
  bool insert(const std::vector<uint64_t>& linearized, int state, uint64_t hash) {
    size_t mask = slots_.size() - 1;
    for (size_t slot = hash & mask;; slot = (slot + 1) & mask) {
      uint32_t entry = slots_[slot];
      if (entry == 0) break;
      size_t index = entry - 1;
      if (hashes_[index] == hash && states_[index] == state &&
          std::equal(linearized.begin(), linearized.end(), bits_.begin() + static_cast<ptrdiff_t>(index * words_))) {
        return false;
      }
    }
    hashes_.push_back(hash);
    states_.push_back(state);
    bits_.insert(bits_.end(), linearized.begin(), linearized.end());
    if (hashes_.size() * 2 > slots_.size()) {
      rehash(slots_.size() * 2);
    } else {
      place(hashes_.size() - 1);
    }
    return true;
  }

 private:
  void place(size_t index) {
    size_t mask = slots_.size() - 1;
    size_t slot = hashes_[index] & mask;
    while (slots_[slot] != 0) slot = (slot + 1) & mask;
    slots_[slot] = static_cast<uint32_t>(index + 1);
  }
  void rehash(size_t size) {
    slots_.assign(size, 0);
    for (size_t i = 0; i < hashes_.size(); ++i) place(i);
  }

  size_t words_;
  std::vector<uint32_t> slots_;  // 0 = empty, else entry index + 1
  std::vector<uint64_t> hashes_;
  std::vector<int> states_;
  std::vector<uint64_t> bits_;
};

enum class KeyVerdict { linearizable, not_linearizable, timed_out };

struct KeyResult {
  KeyVerdict verdict = KeyVerdict::linearizable;
  uint64_t steps = 0;
  std::vector<int> longest_prefix;  // op indices, in linearization order
};

// Porcupine's checkSingle. `calls` is the stack of operations linearized so
// far; each frame remembers the register before it, for backtracking.
KeyResult search(const std::vector<RegisterOp>& ops, uint64_t max_steps) {
  KeyResult result;
  EventList events(ops);
  size_t words = (ops.size() + 63) / 64;
  std::vector<uint64_t> linearized(words, 0);
  uint64_t linearized_hash = 0;
  ConfigurationCache cache(words);
  std::vector<uint64_t> op_hash(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) op_hash[i] = mix(i + 1);

  struct Frame {
    int call;
    int state_before;
  };
  std::vector<Frame> calls;
  // longest_prefix[0, common) == calls[0, common): only the differing tail is
  // copied when the stack outgrows the best prefix, so tracking it is cheap.
  size_t common = 0;

  int state = kAbsent;
  int node = events.first();
  while (events.first() != kEnd) {
    if (++result.steps > max_steps) {
      result.verdict = KeyVerdict::timed_out;
      return result;
    }
    if (events.is_call(node)) {
      auto op = static_cast<size_t>(events.op(node));
      std::optional<int> after = step(state, ops[op]);
      if (after) {
        linearized[op / 64] |= uint64_t{1} << (op % 64);
        uint64_t hash = linearized_hash ^ op_hash[op];
        if (cache.insert(linearized, *after, hash ^ mix(static_cast<uint64_t>(*after) + 0x5bd1e995))) {
          linearized_hash = hash;
          calls.push_back({node, state});
          state = *after;
          events.lift(node);
          if (calls.size() > result.longest_prefix.size()) {
            result.longest_prefix.resize(calls.size());
            for (size_t i = common; i < calls.size(); ++i) result.longest_prefix[i] = events.op(calls[i].call);
            common = calls.size();
          }
          node = events.first();
          continue;
        }
        linearized[op / 64] &= ~(uint64_t{1} << (op % 64));
      }
      node = events.next(node);
      continue;
    }
    // A return event: its operation had to be linearized by now and was not.
    if (calls.empty()) {
      result.verdict = KeyVerdict::not_linearizable;
      return result;
    }
    Frame top = calls.back();
    calls.pop_back();
    common = std::min(common, calls.size());
    auto op = static_cast<size_t>(events.op(top.call));
    state = top.state_before;
    linearized[op / 64] &= ~(uint64_t{1} << (op % 64));
    linearized_hash ^= op_hash[op];
    events.unlift(top.call);
    node = events.next(top.call);
  }
  return result;
}

// An unanswered write whose value nobody observed can be dropped without
// changing the verdict, and each one dropped halves the search in the worst
// case: left in, it can be linearized at any point after its call, and a
// violation has to be refuted for every one of those points.
//
// Why the verdict stays the same, for an unknown put or cas W writing v:
// - Without W linearizable => with W: put W after everything (its interval
//   never ends).
// - With W linearizable => without W, when (a) no get read v, (b) no cas
//   expects v, and (c) no answered cas that failed returned at or after W's
//   call. Take a linearization where W wrote v; between W and the next write
//   only operations that accept v can sit. Gets would read v (a); successful
//   cases would expect v (a, b); failed answered cases end after W's call
//   (c); an unknown cas there is a no-op (b) and can be moved to the end.
//   So deleting W leaves a linearization of the rest.
// Dropping one such write does not change the conditions for the others.
std::vector<RegisterOp> without_unobserved_unknown_writes(std::vector<RegisterOp> ops) {
  std::unordered_map<int, bool> observed;
  int64_t last_failed_cas_return = std::numeric_limits<int64_t>::min();
  for (const RegisterOp& op : ops) {
    if (op.kind == KvOpKind::get && !op.unknown) observed[op.read] = true;
    if (op.kind == KvOpKind::cas) observed[op.expected] = true;
    if (op.kind == KvOpKind::cas && !op.unknown && !op.succeeded) {
      last_failed_cas_return = std::max(last_failed_cas_return, op.return_time);
    }
  }
  std::erase_if(ops, [&](const RegisterOp& op) {
    return op.unknown && op.kind != KvOpKind::get && !observed.contains(op.value) &&
           last_failed_cas_return < op.call_time;
  });
  return ops;
}

constexpr size_t kMaxOpsShown = 40;
constexpr size_t kMaxPrefixShown = 20;

std::string explain_violation(const std::string& key, const std::vector<RegisterOp>& ops, const KeyResult& key_result,
                              const std::vector<std::string>& values, size_t set_aside) {
  const std::vector<int>& prefix = key_result.longest_prefix;
  auto label = [](size_t op) { return "#" + std::to_string(op); };
  auto value_name = [&](int state) {
    return state == kAbsent ? std::string("absent") : "\"" + values[static_cast<size_t>(state)] + "\"";
  };

  std::vector<bool> in_prefix(ops.size(), false);
  int state = kAbsent;
  for (int op : prefix) {
    in_prefix[static_cast<size_t>(op)] = true;
    state = step(state, ops[static_cast<size_t>(op)]).value_or(state);
  }
  // The operations that could be linearized next: called before the first
  // remaining return (same ordering as the search).
  EventList events(ops);
  int first_return = std::numeric_limits<int>::max();
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!in_prefix[i]) first_return = std::min(first_return, events.return_rank(i));
  }
  std::vector<size_t> candidates;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!in_prefix[i] && events.call_rank(i) < first_return) candidates.push_back(i);
  }

  std::string out = "key \"" + key + "\": its " + std::to_string(ops.size()) +
                    " operations have no linearization (searched " + std::to_string(key_result.steps) + " steps).\n";
  if (set_aside > 0) {
    out += "(" + std::to_string(set_aside) + " unanswered writes whose values nothing observed are left out.)\n";
  }
  out += "Operations in call order:\n";
  size_t begin = 0;
  size_t end = ops.size();
  if (ops.size() > kMaxOpsShown && !candidates.empty()) {
    begin = candidates.front() > kMaxOpsShown / 2 ? candidates.front() - kMaxOpsShown / 2 : 0;
    end = std::min(ops.size(), begin + kMaxOpsShown);
  }
  if (begin > 0) out += "  ... " + std::to_string(begin) + " earlier\n";
  for (size_t i = begin; i < end; ++i) out += "  " + label(i) + " " + describe(*ops[i].source) + "\n";
  if (end < ops.size()) out += "  ... " + std::to_string(ops.size() - end) + " later\n";

  out += "Longest linearizable prefix (" + std::to_string(prefix.size()) + " of " + std::to_string(ops.size()) + "):";
  if (prefix.empty()) out += " none";
  size_t shown_from = prefix.size() > kMaxPrefixShown ? prefix.size() - kMaxPrefixShown : 0;
  if (shown_from > 0) out += " ... " + std::to_string(shown_from) + " earlier,";
  for (size_t i = shown_from; i < prefix.size(); ++i) out += " " + label(static_cast<size_t>(prefix[i]));
  out += "\nAfter it the value is " + value_name(state) + "; each operation that could come next contradicts that:\n";
  for (size_t i : candidates) out += "  " + label(i) + " " + describe(*ops[i].source) + "\n";
  return out;
}

}  // namespace

LinearizabilityResult check_kv_linearizability(const std::vector<KvOperation>& history,
                                               const LinearizabilityOptions& options) {
  LinearizabilityResult result;
  std::map<std::string, std::vector<const KvOperation*>> by_key;
  for (const KvOperation& operation : history) {
    bool known = operation.outcome == KvOpOutcome::ok;
    if (known && operation.return_time < operation.call_time) {
      result.verdict = LinearizabilityVerdict::invalid_history;
      result.key = operation.key;
      result.explanation = "returned before it was called: " + describe(operation);
      return result;
    }
    if (!known && operation.kind == KvOpKind::get) continue;  // no effect, no constraint
    by_key[operation.key].push_back(&operation);
  }

  for (auto& [key, operations] : by_key) {
    std::stable_sort(operations.begin(), operations.end(),
                     [](const KvOperation* a, const KvOperation* b) { return a->call_time < b->call_time; });
    std::unordered_map<std::string, int> value_ids;
    std::vector<std::string> values;
    auto intern = [&](const std::optional<std::string>& value) {
      if (!value) return kAbsent;
      auto [it, added] = value_ids.try_emplace(*value, static_cast<int>(values.size()));
      if (added) values.push_back(*value);
      return it->second;
    };
    std::vector<RegisterOp> ops;
    ops.reserve(operations.size());
    for (const KvOperation* operation : operations) {
      RegisterOp op;
      op.source = operation;
      op.kind = operation->kind;
      op.unknown = operation->outcome == KvOpOutcome::unknown;
      op.call_time = operation->call_time;
      op.return_time = op.unknown ? kNever : operation->return_time;
      switch (operation->kind) {
        case KvOpKind::put:
          op.value = intern(operation->value);
          break;
        case KvOpKind::get:
          op.read = intern(operation->read_value);
          break;
        case KvOpKind::cas:
          op.value = intern(operation->value);
          op.expected = intern(operation->expected);
          op.succeeded = operation->succeeded;
          break;
      }
      ops.push_back(op);
    }

    size_t set_aside = ops.size();
    ops = without_unobserved_unknown_writes(std::move(ops));
    set_aside -= ops.size();

    KeyResult key_result = search(ops, options.max_steps_per_key);
    result.steps += key_result.steps;
    if (key_result.verdict == KeyVerdict::timed_out) {
      result.timed_out_keys.push_back(key);
      if (result.verdict == LinearizabilityVerdict::linearizable) {
        result.verdict = LinearizabilityVerdict::timed_out;
        result.key = key;
        result.explanation = "key \"" + key + "\": gave up after " + std::to_string(options.max_steps_per_key) +
                             " search steps over its " + std::to_string(ops.size()) +
                             " operations; no violation found so far";
      }
    } else if (key_result.verdict == KeyVerdict::not_linearizable) {
      result.violating_keys.push_back(key);
      if (result.verdict != LinearizabilityVerdict::not_linearizable) {
        result.verdict = LinearizabilityVerdict::not_linearizable;
        result.key = key;
        result.explanation = explain_violation(key, ops, key_result, values, set_aside);
      }
    }
  }
  return result;
}

}  // namespace roster::sim
