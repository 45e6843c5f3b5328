// lincheck_history: runs the Raft simulator's linearizability checker over a
// history recorded from real processes (tests/integration/test_cluster.py,
// bench/cluster_faults.sh), so the cluster catalog is held to the same check
// as the engine under simulation.
//
//   lincheck_history FILE        (or - for standard input)
//
// One operation a line, fields separated by tabs:
//
//   client  kind  key  call  return  outcome  value
//
//   client   a number naming the client (for the report only)
//   kind     put or get
//   key      the KV key (no tabs or newlines)
//   call     when the request was sent, an integer (e.g. microseconds)
//   return   when its answer arrived; ignored when the outcome is unknown
//   outcome  ok (an answer came: a put acknowledged, a get answered) or
//            unknown (no answer, or a 5xx: the put may or may not have applied)
//   value    put: "=" and the value written; get: "=" and the value read, or
//            "absent" when the key was not found
//
// A put refused for certain (a 4xx) did nothing and is left out by the
// recorder. Prints the verdict, and the checker's explanation for a
// violation. Exit status: 0 linearizable, 1 not linearizable, 2 the search
// ran out of steps, 3 a malformed file or an invalid history.

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "tests/sim/linearizability.h"

namespace {

using roster::sim::KvOperation;

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::string::size_type start = 0;
  while (true) {
    std::string::size_type tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

bool parse_int(const std::string& text, int64_t& out) {
  if (text.empty()) return false;
  size_t used = 0;
  try {
    out = std::stoll(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == text.size();
}

// One line into an operation, or an error naming what is wrong with it.
std::optional<std::string> parse_line(const std::string& line, KvOperation& out) {
  std::vector<std::string> fields = split_tabs(line);
  if (fields.size() != 7) return "expected 7 tab-separated fields, got " + std::to_string(fields.size());
  int64_t client = 0;
  int64_t call = 0;
  int64_t ret = 0;
  if (!parse_int(fields[0], client) || client < 0) return "bad client '" + fields[0] + "'";
  if (!parse_int(fields[3], call)) return "bad call time '" + fields[3] + "'";
  if (!parse_int(fields[4], ret)) return "bad return time '" + fields[4] + "'";
  const std::string& kind = fields[1];
  const std::string& key = fields[2];
  const std::string& outcome = fields[5];
  const std::string& value = fields[6];
  if (outcome != "ok" && outcome != "unknown") return "bad outcome '" + outcome + "' (ok or unknown)";
  bool known = outcome == "ok";
  std::optional<std::string> given;
  if (value.starts_with("=")) {
    given = value.substr(1);
  } else if (value != "absent") {
    return "bad value '" + value + "' (=VALUE or absent)";
  }
  auto id = static_cast<uint64_t>(client);
  if (kind == "put") {
    if (!given) return "a put needs =VALUE";
    out = known ? KvOperation::put(id, key, *given, call, ret) : KvOperation::unknown_put(id, key, *given, call);
    return std::nullopt;
  }
  if (kind == "get") {
    out = KvOperation::get(id, key, given, call, ret);
    if (!known) out.outcome = roster::sim::KvOpOutcome::unknown;
    return std::nullopt;
  }
  return "bad kind '" + kind + "' (put or get)";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help") {
    std::fprintf(stderr,
                 "usage: lincheck_history FILE|-\n"
                 "Checks a recorded KV history for linearizability (format: see the source's header).\n");
    return argc == 2 ? 0 : 3;
  }
  std::ifstream file;
  std::istream* input = &std::cin;
  if (std::string(argv[1]) != "-") {
    file.open(argv[1]);
    if (!file) {
      std::fprintf(stderr, "lincheck_history: cannot read %s\n", argv[1]);
      return 3;
    }
    input = &file;
  }
  std::vector<KvOperation> history;
  std::string line;
  uint64_t line_number = 0;
  while (std::getline(*input, line)) {
    ++line_number;
    if (line.empty()) continue;
    KvOperation operation;
    if (auto problem = parse_line(line, operation)) {
      std::fprintf(stderr, "lincheck_history: line %llu: %s\n", static_cast<unsigned long long>(line_number),
                   problem->c_str());
      return 3;
    }
    history.push_back(std::move(operation));
  }
  roster::sim::LinearizabilityResult result = roster::sim::check_kv_linearizability(history);
  std::printf("%zu operations: %s (%llu search steps)\n", history.size(),
              roster::sim::to_string(result.verdict).c_str(), static_cast<unsigned long long>(result.steps));
  if (!result.linearizable()) {
    std::printf("key %s\n%s\n", result.key.c_str(), result.explanation.c_str());
  }
  switch (result.verdict) {
    case roster::sim::LinearizabilityVerdict::linearizable:
      return 0;
    case roster::sim::LinearizabilityVerdict::not_linearizable:
      return 1;
    case roster::sim::LinearizabilityVerdict::timed_out:
      return 2;
    case roster::sim::LinearizabilityVerdict::invalid_history:
      return 3;
  }
  return 3;
}
