#include "agent/config/config_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

#include "agent/config/validation.h"
#include "common/duration.h"

namespace roster::config {
namespace {

// Keys compare with case and '_'/'-' ignored: `service_id`, `ServiceID` and
// `serviceId` are one key, which is how Consul users write them.
std::string fold_key(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '_' || c == '-') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

struct KeySpec {
  std::string_view name;  // canonical snake_case spelling, used in messages
  std::initializer_list<std::string_view> aliases = {};
};

struct Entry {
  std::string_view key;  // canonical name
  YAML::Node key_node;
  YAML::Node value;
};

int line_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

const char* type_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Undefined: break;
  }
  return "an undefined value";
}

const KeySpec kTopLevelKeys[] = {
    {"node_name"},    {"datacenter"}, {"data_dir"},  {"bind_addr"},
    {"advertise_addr"}, {"client_addr"}, {"ports"},   {"log_level"},
    {"enable_script_checks"}, {"server"}, {"tags", {"node_meta"}}, {"services"}, {"service"},
    {"checks"},       {"check"},
    {"start_join"}, {"retry_join"}, {"retry_interval"}, {"retry_max"}, {"encrypt"},
    {"leave_on_terminate"}, {"skip_leave_on_interrupt"}, {"gossip"}, {"limits"},
    {"tombstone_ttl"}, {"exec"},
    {"bootstrap_expect"}, {"bootstrap"}, {"performance"}, {"check_update_interval"}, {"autopilot"},
};
const KeySpec kPerformanceKeys[] = {{"rpc_hold_timeout"}, {"raft_multiplier"}};
const KeySpec kAutopilotKeys[] = {
    {"cleanup_dead_servers"}, {"dead_server_cleanup_after"}, {"server_stabilization_time"}, {"min_quorum"},
};
const KeySpec kExecKeys[] = {{"enabled"}, {"root"}, {"trusted_keys"}, {"system"}};
const KeySpec kLimitsKeys[] = {{"http_max_conns_per_client"}, {"http_max_unsent_response_bytes"}};
const KeySpec kPortKeys[] = {{"http"}, {"serf_lan"}, {"server"}};
const KeySpec kGossipKeys[] = {
    {"profile"}, {"probe_interval"}, {"probe_timeout"}, {"gossip_interval"},
    {"push_pull_interval"}, {"suspicion_mult"}, {"retransmit_mult"}, {"max_members"},
};
const KeySpec kServiceKeys[] = {
    {"id", {"service_id"}}, {"name"}, {"tags"}, {"address"}, {"port"}, {"meta"},
    {"enable_tag_override"}, {"check"}, {"checks"},
};
const KeySpec kCheckKeys[] = {
    {"id", {"check_id"}}, {"name"}, {"notes"}, {"service_id"}, {"status"}, {"ttl"},
    {"http"}, {"method"}, {"header"}, {"tls_skip_verify"}, {"tcp"},
    {"args", {"script_args"}}, {"interval"}, {"timeout"},
    {"deregister_critical_service_after"},
};

class Parser {
 public:
  Parser(std::string file, std::vector<ConfigError>& errors) : file_(std::move(file)), errors_(errors) {}

  void error(const YAML::Node& at, std::string message) { error_at(line_of(at), std::move(message)); }
  void error_at(int line, std::string message) { errors_.push_back({file_, line, std::move(message)}); }
  SourceLocation location(const YAML::Node& node) const { return {file_, line_of(node)}; }

  // The entries of a map whose keys are all known, in file order. Unknown and
  // repeated keys are reported and skipped.
  template <size_t N>
  std::vector<Entry> entries(const YAML::Node& map, const KeySpec (&specs)[N], std::string_view what) {
    std::vector<Entry> out;
    if (!map.IsMap()) {
      error(map, std::string(what) + " must be a map, got " + type_name(map));
      return out;
    }
    std::set<std::string_view> seen;
    for (const auto& pair : map) {
      const YAML::Node& key_node = pair.first;
      if (!key_node.IsScalar()) {
        error(key_node, "keys in " + std::string(what) + " must be plain strings");
        continue;
      }
      const std::string folded = fold_key(key_node.Scalar());
      const KeySpec* match = nullptr;
      for (const KeySpec& spec : specs) {
        if (fold_key(spec.name) == folded ||
            std::any_of(spec.aliases.begin(), spec.aliases.end(),
                        [&](std::string_view alias) { return fold_key(alias) == folded; })) {
          match = &spec;
          break;
        }
      }
      if (match == nullptr) {
        std::string known;
        for (const KeySpec& spec : specs) known += (known.empty() ? "" : ", ") + std::string(spec.name);
        error(key_node, "unknown key \"" + key_node.Scalar() + "\" in " + std::string(what) +
                            "; known keys: " + known);
        continue;
      }
      if (!seen.insert(match->name).second) {
        error(key_node, "key \"" + std::string(match->name) + "\" is given more than once in " + std::string(what));
        continue;
      }
      out.push_back({match->name, key_node, pair.second});
    }
    return out;
  }

  std::optional<std::string> string(const Entry& entry) {
    if (!entry.value.IsScalar()) {
      error(entry.value, std::string(entry.key) + " must be a string, got " + type_name(entry.value));
      return std::nullopt;
    }
    return entry.value.Scalar();
  }

  std::optional<bool> boolean(const Entry& entry) {
    bool value = false;
    if (!entry.value.IsScalar() || !YAML::convert<bool>::decode(entry.value, value)) {
      error(entry.value, std::string(entry.key) + " must be true or false, got " + describe(entry.value));
      return std::nullopt;
    }
    return value;
  }

  std::optional<long long> integer(const Entry& entry) {
    if (entry.value.IsScalar()) {
      const std::string& text = entry.value.Scalar();
      long long value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) return value;
    }
    error(entry.value, std::string(entry.key) + " must be a whole number, got " + describe(entry.value));
    return std::nullopt;
  }

  std::optional<int> port(const Entry& entry, int minimum) {
    std::optional<long long> value = integer(entry);
    if (!value) return std::nullopt;
    if (*value < minimum || *value > 65535) {
      error(entry.value, std::string(entry.key) + " " + std::to_string(*value) + " is out of range; ports are " +
                             std::to_string(minimum) + "-65535");
      return std::nullopt;
    }
    return static_cast<int>(*value);
  }

  // A positive Go duration ("10s", "1m30s"); with allow_zero, "0" too.
  // parse_go_duration refuses negative ones.
  std::optional<Nanoseconds> duration(const Entry& entry, bool allow_zero = false) {
    if (!entry.value.IsScalar()) {
      error(entry.value, std::string(entry.key) + " must be a duration like \"10s\", got " + type_name(entry.value));
      return std::nullopt;
    }
    Result<Nanoseconds> parsed = parse_go_duration(entry.value.Scalar());
    if (!parsed.is_ok()) {
      error(entry.value, std::string(entry.key) + ": " + parsed.status().message() +
                             "; write durations like \"10s\", \"1m30s\", \"500ms\"");
      return std::nullopt;
    }
    if (!allow_zero && parsed->count() <= 0) {
      error(entry.value, std::string(entry.key) + " must be longer than zero");
      return std::nullopt;
    }
    return *parsed;
  }

  std::optional<std::vector<std::string>> string_list(const Entry& entry) {
    if (!entry.value.IsSequence()) {
      error(entry.value, std::string(entry.key) + " must be a list of strings, got " + type_name(entry.value));
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (const YAML::Node& item : entry.value) {
      if (!item.IsScalar()) {
        error(item, "each item of " + std::string(entry.key) + " must be a string, got " + type_name(item));
        ok = false;
        continue;
      }
      out.push_back(item.Scalar());
    }
    if (!ok) return std::nullopt;
    return out;
  }

  // A map of scalars; `check` validates each pair (and reports at the right line).
  template <typename Check>
  std::map<std::string, std::string> string_map(const Entry& entry, Check check) {
    std::map<std::string, std::string> out;
    if (entry.value.IsNull()) return out;  // `tags:` with nothing under it
    if (!entry.value.IsMap()) {
      error(entry.value, std::string(entry.key) + " must be a map of key: value, got " + type_name(entry.value));
      return out;
    }
    std::set<std::string> seen;
    for (const auto& pair : entry.value) {
      if (!pair.first.IsScalar()) {
        error(pair.first, "keys in " + std::string(entry.key) + " must be strings");
        continue;
      }
      const std::string& key = pair.first.Scalar();
      if (!seen.insert(key).second) {
        error(pair.first, std::string(entry.key) + " key \"" + key + "\" is given more than once");
        continue;
      }
      if (!pair.second.IsScalar()) {
        error(pair.second, std::string(entry.key) + " \"" + key + "\" must have a string value, got " +
                               type_name(pair.second));
        continue;
      }
      const std::string& value = pair.second.Scalar();
      if (Status status = check(key, value); !status.is_ok()) {
        // Key problems point at the key, value problems at the value.
        bool key_problem = key.empty() || status.message().find(" key ") != std::string::npos;
        error(key_problem ? pair.first : pair.second, status.message());
        continue;
      }
      out[key] = value;
    }
    return out;
  }

  static std::string describe(const YAML::Node& node) {
    if (node.IsScalar()) return "\"" + node.Scalar() + "\"";
    return type_name(node);
  }

 private:
  std::string file_;
  std::vector<ConfigError>& errors_;
};

struct ParsedCheck {
  local::CheckDefinition check;
  SourceLocation location;
};

// Reads a check definition. Defaults that depend on the enclosing service
// (id, name) are filled in by the caller.
std::optional<ParsedCheck> parse_check(Parser& parser, const YAML::Node& node, bool in_service) {
  const std::string what = in_service ? "a service's check" : "a check";
  std::vector<Entry> entries = parser.entries(node, kCheckKeys, what);
  if (!node.IsMap()) return std::nullopt;

  ParsedCheck parsed;
  parsed.location = parser.location(node);
  local::CheckDefinition& check = parsed.check;
  bool ok = true;
  std::vector<std::string> kinds;
  const YAML::Node* http_only_option = nullptr;  // method/header/tls_skip_verify seen

  for (const Entry& entry : entries) {
    const std::string_view key = entry.key;
    if (key == "id" || key == "name" || key == "notes" || key == "service_id" || key == "status" ||
        key == "http" || key == "method" || key == "tcp") {
      std::optional<std::string> value = parser.string(entry);
      if (!value) { ok = false; continue; }
      if (key == "id") check.id = *value;
      else if (key == "name") check.name = *value;
      else if (key == "notes") check.notes = *value;
      else if (key == "service_id") {
        if (in_service) {
          parser.error(entry.key_node, "service_id is implied for a check inside a service; remove it");
          ok = false;
        }
        check.service_id = *value;
      } else if (key == "status") {
        std::string status = *value;
        std::transform(status.begin(), status.end(), status.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (status != "passing" && status != "warning" && status != "critical") {
          parser.error(entry.value, "status \"" + *value + "\" is not one of passing, warning, critical");
          ok = false;
        }
        check.status = status;
      } else if (key == "http") {
        if (value->rfind("http://", 0) != 0 && value->rfind("https://", 0) != 0) {
          parser.error(entry.value, "http check URL \"" + *value + "\" must start with http:// or https://");
          ok = false;
        }
        check.http = *value;
        kinds.emplace_back("http");
      } else if (key == "method") {
        std::string method = *value;
        std::transform(method.begin(), method.end(), method.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        if (method.empty() || !std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
          parser.error(entry.value, "method \"" + *value + "\" is not an HTTP method");
          ok = false;
        }
        check.http_method = method;
        http_only_option = &entry.key_node;
      } else if (key == "tcp") {
        if (Status status = validate_host_port(*value); !status.is_ok()) {
          parser.error(entry.value, "tcp check " + status.message());
          ok = false;
        }
        check.tcp = *value;
        kinds.emplace_back("tcp");
      }
    } else if (key == "ttl" || key == "interval" || key == "timeout" || key == "deregister_critical_service_after") {
      if (key == "ttl") kinds.emplace_back("ttl");
      std::optional<Nanoseconds> value = parser.duration(entry);
      if (!value) { ok = false; continue; }  // the kind still counts, so no "has no kind" as well
      if (key == "ttl") check.ttl = *value;
      else if (key == "interval") check.interval = *value;
      else if (key == "timeout") check.timeout = *value;
      else check.deregister_critical_service_after = *value;
    } else if (key == "tls_skip_verify") {
      std::optional<bool> value = parser.boolean(entry);
      if (!value) { ok = false; continue; }
      check.tls_skip_verify = *value;
      if (*value) http_only_option = &entry.key_node;  // `false` is harmless anywhere
    } else if (key == "args") {
      kinds.emplace_back("args");
      std::optional<std::vector<std::string>> value = parser.string_list(entry);
      if (!value) { ok = false; continue; }
      if (value->empty()) {
        parser.error(entry.value, "args must name a program to run, like [\"/usr/local/bin/check\", \"-q\"]");
        ok = false;
        continue;
      }
      check.args = *value;
    } else if (key == "header") {
      http_only_option = &entry.key_node;
      if (!entry.value.IsMap()) {
        parser.error(entry.value, std::string("header must be a map of name: [values], got ") + type_name(entry.value));
        ok = false;
        continue;
      }
      for (const auto& pair : entry.value) {
        if (!pair.first.IsScalar() || pair.first.Scalar().empty()) {
          parser.error(pair.first, "header names must be non-empty strings");
          ok = false;
          continue;
        }
        std::vector<std::string>& values = check.http_headers[pair.first.Scalar()];
        if (pair.second.IsScalar()) {
          values.push_back(pair.second.Scalar());
        } else if (pair.second.IsSequence()) {
          for (const YAML::Node& item : pair.second) {
            if (!item.IsScalar()) {
              parser.error(item, "header values must be strings");
              ok = false;
              continue;
            }
            values.push_back(item.Scalar());
          }
        } else {
          parser.error(pair.second, "header \"" + pair.first.Scalar() + "\" must be a string or a list of strings");
          ok = false;
        }
      }
    }
  }

  if (kinds.empty()) {
    parser.error(node, what + " has no kind; set exactly one of ttl, http, tcp or args");
    ok = false;
  } else if (kinds.size() > 1) {
    std::string list;
    for (const std::string& kind : kinds) list += (list.empty() ? "" : " and ") + kind;
    parser.error(node, what + " sets " + list + "; a check has exactly one kind");
    ok = false;
  }
  if (http_only_option != nullptr && check.http.empty() && kinds.size() == 1) {
    parser.error(*http_only_option, "method, header and tls_skip_verify apply only to http checks");
    ok = false;
  }
  if (!in_service && check.name.empty()) {
    if (check.id.empty()) {
      parser.error(node, "a check needs a name (or an id)");
      ok = false;
    } else {
      check.name = check.id;
    }
  }
  if (!in_service && check.id.empty()) check.id = check.name;
  if (!ok) return std::nullopt;
  return parsed;
}

struct ParsedService {
  local::ServiceDefinition service;
  SourceLocation location;
};

std::optional<ParsedService> parse_service(Parser& parser, const YAML::Node& node) {
  std::vector<Entry> entries = parser.entries(node, kServiceKeys, "a service");
  if (!node.IsMap()) return std::nullopt;

  ParsedService parsed;
  parsed.location = parser.location(node);
  local::ServiceDefinition& service = parsed.service;
  bool ok = true;
  std::vector<YAML::Node> check_nodes;

  for (const Entry& entry : entries) {
    const std::string_view key = entry.key;
    if (key == "id" || key == "name" || key == "address") {
      std::optional<std::string> value = parser.string(entry);
      if (!value) { ok = false; continue; }
      if (key == "id") service.id = *value;
      else if (key == "name") service.name = *value;
      else service.address = *value;
    } else if (key == "tags") {
      std::optional<std::vector<std::string>> value = parser.string_list(entry);
      if (!value) { ok = false; continue; }
      service.tags = *value;
    } else if (key == "port") {
      std::optional<int> value = parser.port(entry, 0);
      if (!value) { ok = false; continue; }
      service.port = *value;
    } else if (key == "meta") {
      bool meta_ok = true;
      service.meta = parser.string_map(entry, [&](const std::string& k, const std::string& v) {
        Status status = validate_meta(k, v);
        if (!status.is_ok()) meta_ok = false;
        return status;
      });
      if (!meta_ok) ok = false;
    } else if (key == "enable_tag_override") {
      std::optional<bool> value = parser.boolean(entry);
      if (!value) { ok = false; continue; }
      service.enable_tag_override = *value;
    } else if (key == "check") {
      check_nodes.push_back(entry.value);
    } else if (key == "checks") {
      if (!entry.value.IsSequence()) {
        parser.error(entry.value, std::string("checks must be a list, got ") + type_name(entry.value));
        ok = false;
        continue;
      }
      for (const YAML::Node& item : entry.value) check_nodes.push_back(item);
    }
  }

  if (service.name.empty()) {
    parser.error(node, "a service needs a name");
    ok = false;
  }
  if (service.id.empty()) service.id = service.name;

  std::set<std::string> check_ids;
  for (size_t i = 0; i < check_nodes.size(); ++i) {
    std::optional<ParsedCheck> check = parse_check(parser, check_nodes[i], /*in_service=*/true);
    if (!check) { ok = false; continue; }
    local::CheckDefinition& definition = check->check;
    definition.service_id = service.id;
    // Consul's defaults: "service:web", or "service:web:1", "service:web:2" for several.
    if (definition.id.empty()) {
      definition.id = "service:" + service.id + (check_nodes.size() > 1 ? ":" + std::to_string(i + 1) : "");
    }
    if (definition.name.empty()) definition.name = "Service '" + service.name + "' check";
    if (!check_ids.insert(definition.id).second) {
      parser.error(check_nodes[i], "check id \"" + definition.id + "\" is used twice in service \"" + service.id + "\"");
      ok = false;
      continue;
    }
    service.checks.push_back(std::move(definition));
  }
  if (!ok) return std::nullopt;
  return parsed;
}

void parse_document(Parser& parser, const YAML::Node& root, ConfigFragment& fragment) {
  if (root.IsNull()) return;  // an empty file configures nothing
  std::vector<Entry> entries = parser.entries(root, kTopLevelKeys, "the config file");
  std::vector<YAML::Node> service_nodes;
  std::vector<YAML::Node> check_nodes;

  for (const Entry& entry : entries) {
    const std::string_view key = entry.key;
    if (key == "node_name") {
      std::optional<std::string> value = parser.string(entry);
      if (!value) continue;
      if (Status status = validate_node_name(*value); !status.is_ok()) { parser.error(entry.value, status.message()); continue; }
      fragment.node_name = *value;
    } else if (key == "datacenter") {
      std::optional<std::string> value = parser.string(entry);
      if (!value) continue;
      Result<std::string> name = normalize_datacenter(*value);
      if (!name.is_ok()) { parser.error(entry.value, name.status().message()); continue; }
      fragment.datacenter = *name;
    } else if (key == "data_dir") {
      std::optional<std::string> value = parser.string(entry);
      if (!value) continue;
      if (value->empty()) { parser.error(entry.value, "data_dir is empty"); continue; }
      fragment.data_dir = *value;
    } else if (key == "bind_addr" || key == "advertise_addr" || key == "client_addr") {
      std::optional<std::string> value = parser.string(entry);
      if (!value) continue;
      if (!is_ip_address(*value)) {
        parser.error(entry.value, std::string(key) + " \"" + *value + "\" is not an IP address");
        continue;
      }
      if (key == "bind_addr") fragment.bind_addr = *value;
      else if (key == "advertise_addr") fragment.advertise_addr = *value;
      else fragment.client_addr = *value;
    } else if (key == "ports") {
      for (const Entry& port_entry : parser.entries(entry.value, kPortKeys, "ports")) {
        // 0 asks the OS for a free port (tests run many agents side by side).
        std::optional<int> port = parser.port(port_entry, 0);
        if (!port) continue;
        if (port_entry.key == "http") fragment.http_port = *port;
        else if (port_entry.key == "server") fragment.server_port = *port;
        else fragment.serf_lan_port = *port;
      }
    } else if (key == "log_level") {
      std::optional<std::string> value = parser.string(entry);
      if (!value) continue;
      Result<std::string> level = normalize_log_level(*value);
      if (!level.is_ok()) { parser.error(entry.value, level.status().message()); continue; }
      fragment.log_level = *level;
    } else if (key == "server") {
      if (std::optional<bool> value = parser.boolean(entry)) fragment.server = *value;
    } else if (key == "bootstrap") {
      if (std::optional<bool> value = parser.boolean(entry)) {
        fragment.bootstrap = *value;
        fragment.bootstrap_location = parser.location(entry.key_node);
      }
    } else if (key == "bootstrap_expect") {
      std::optional<long long> value = parser.integer(entry);
      if (!value) continue;
      if (*value < 0) {
        parser.error(entry.value, "bootstrap_expect cannot be " + std::to_string(*value) +
                                      "; it must be 0 (off) or the number of servers to wait for");
        continue;
      }
      if (*value > kMaxBootstrapExpect) {
        parser.error(entry.value, "bootstrap_expect " + std::to_string(*value) + " is more than " +
                                      std::to_string(kMaxBootstrapExpect) + " servers");
        continue;
      }
      fragment.bootstrap_expect = static_cast<int>(*value);
      fragment.bootstrap_expect_location = parser.location(entry.key_node);
    } else if (key == "check_update_interval") {
      // 0 is Consul's "write every change".
      if (std::optional<Nanoseconds> value = parser.duration(entry, /*allow_zero=*/true)) {
        fragment.check_update_interval = *value;
      }
    } else if (key == "performance") {
      for (const Entry& performance_entry : parser.entries(entry.value, kPerformanceKeys, "performance")) {
        if (performance_entry.key == "rpc_hold_timeout") {
          if (std::optional<Nanoseconds> value = parser.duration(performance_entry)) fragment.rpc_hold_timeout = *value;
          continue;
        }
        std::optional<long long> value = parser.integer(performance_entry);
        if (!value) continue;
        if (*value < kMinRaftMultiplier || *value > kMaxRaftMultiplier) {
          parser.error(performance_entry.value, "raft_multiplier cannot be " + std::to_string(*value) +
                                                    "; it must be from " + std::to_string(kMinRaftMultiplier) +
                                                    " to " + std::to_string(kMaxRaftMultiplier));
          continue;
        }
        fragment.raft_multiplier = static_cast<int>(*value);
      }
    } else if (key == "autopilot") {
      for (const Entry& autopilot_entry : parser.entries(entry.value, kAutopilotKeys, "autopilot")) {
        if (autopilot_entry.key == "cleanup_dead_servers") {
          if (std::optional<bool> value = parser.boolean(autopilot_entry)) {
            fragment.autopilot_cleanup_dead_servers = *value;
          }
          continue;
        }
        if (autopilot_entry.key == "min_quorum") {
          std::optional<long long> value = parser.integer(autopilot_entry);
          if (!value) continue;
          if (*value < 0 || *value > kMaxMinQuorum) {
            parser.error(autopilot_entry.value, "min_quorum cannot be " + std::to_string(*value) +
                                                    "; it must be from 0 to " + std::to_string(kMaxMinQuorum));
            continue;
          }
          fragment.autopilot_min_quorum = static_cast<int>(*value);
          continue;
        }
        std::optional<Nanoseconds> value = parser.duration(autopilot_entry);
        if (!value) continue;
        if (autopilot_entry.key == "dead_server_cleanup_after") fragment.autopilot_dead_server_cleanup_after = *value;
        else fragment.autopilot_server_stabilization_time = *value;
      }
    } else if (key == "enable_script_checks") {
      if (std::optional<bool> value = parser.boolean(entry)) fragment.enable_script_checks = *value;
    } else if (key == "leave_on_terminate") {
      if (std::optional<bool> value = parser.boolean(entry)) fragment.leave_on_terminate = *value;
    } else if (key == "skip_leave_on_interrupt") {
      if (std::optional<bool> value = parser.boolean(entry)) fragment.skip_leave_on_interrupt = *value;
    } else if (key == "start_join" || key == "retry_join") {
      std::optional<std::vector<std::string>> value = parser.string_list(entry);
      if (!value) continue;
      bool ok = true;
      for (const std::string& address : *value) {
        if (address.empty()) {
          parser.error(entry.value, std::string(key) + " holds an empty address");
          ok = false;
        }
      }
      if (ok) (key == "start_join" ? fragment.start_join : fragment.retry_join) = *value;
    } else if (key == "retry_interval") {
      if (std::optional<Nanoseconds> value = parser.duration(entry)) fragment.retry_interval = *value;
    } else if (key == "tombstone_ttl") {
      if (std::optional<Nanoseconds> value = parser.duration(entry)) fragment.tombstone_ttl = *value;
    } else if (key == "retry_max") {
      std::optional<long long> value = parser.integer(entry);
      if (!value) continue;
      if (*value < 0 || *value > 1000000) {
        parser.error(entry.value, "retry_max must be from 0 (retry forever) to 1000000");
        continue;
      }
      fragment.retry_max = static_cast<int>(*value);
    } else if (key == "encrypt") {
      std::optional<std::string> value = parser.string(entry);
      if (!value) continue;
      if (Status status = validate_gossip_key(*value); !status.is_ok()) {
        parser.error(entry.value, "encrypt: " + status.message());
        continue;
      }
      fragment.encrypt = *value;
    } else if (key == "gossip") {
      for (const Entry& gossip_entry : parser.entries(entry.value, kGossipKeys, "gossip")) {
        const std::string_view name = gossip_entry.key;
        if (name == "profile") {
          std::optional<std::string> value = parser.string(gossip_entry);
          if (!value) continue;
          if (*value != "lan" && *value != "local") {
            parser.error(gossip_entry.value, "gossip profile \"" + *value + "\" is not one of lan, local");
            continue;
          }
          fragment.gossip_profile = *value;
        } else if (name == "max_members") {
          std::optional<long long> value = parser.integer(gossip_entry);
          if (!value) continue;
          // Peers refuse a push-pull that lists more than the wire's decode limit.
          if (*value < 16 || *value > 100000) {
            parser.error(gossip_entry.value, "max_members must be from 16 to 100000");
            continue;
          }
          fragment.gossip.max_members = static_cast<int>(*value);
        } else if (name == "suspicion_mult" || name == "retransmit_mult") {
          std::optional<long long> value = parser.integer(gossip_entry);
          if (!value) continue;
          if (*value < 1 || *value > 100) {
            parser.error(gossip_entry.value, std::string(name) + " must be from 1 to 100");
            continue;
          }
          (name == "suspicion_mult" ? fragment.gossip.suspicion_mult : fragment.gossip.retransmit_mult) =
              static_cast<int>(*value);
        } else {
          std::optional<Nanoseconds> value = parser.duration(gossip_entry);
          if (!value) continue;
          if (name == "probe_interval") fragment.gossip.probe_interval = *value;
          else if (name == "probe_timeout") fragment.gossip.probe_timeout = *value;
          else if (name == "gossip_interval") fragment.gossip.gossip_interval = *value;
          else fragment.gossip.push_pull_interval = *value;
        }
      }
    } else if (key == "limits") {
      for (const Entry& limits_entry : parser.entries(entry.value, kLimitsKeys, "limits")) {
        std::optional<long long> value = parser.integer(limits_entry);
        if (!value) continue;
        if (limits_entry.key == "http_max_conns_per_client") {
          if (*value < 0 || *value > 1000000) {
            parser.error(limits_entry.value, "http_max_conns_per_client must be from 0 (no limit) to 1000000");
            continue;
          }
          fragment.http_max_conns_per_client = static_cast<int>(*value);
        } else {
          if (*value < 1024 * 1024) {
            parser.error(limits_entry.value, "http_max_unsent_response_bytes must be at least 1048576 (1 MiB)");
            continue;
          }
          fragment.http_max_unsent_response_bytes = static_cast<uint64_t>(*value);
        }
      }
    } else if (key == "exec") {
      for (const Entry& exec_entry : parser.entries(entry.value, kExecKeys, "exec")) {
        if (exec_entry.key == "enabled") {
          if (std::optional<bool> value = parser.boolean(exec_entry)) fragment.exec_enabled = *value;
        } else if (exec_entry.key == "root") {
          std::optional<std::string> value = parser.string(exec_entry);
          if (!value) continue;
          if (Status status = validate_exec_root_syntax(*value); !status.is_ok()) {
            parser.error(exec_entry.value, "exec root: " + status.message());
            continue;
          }
          fragment.exec_root = *value;
        } else if (exec_entry.key == "system") {
          std::optional<std::string> value = parser.string(exec_entry);
          if (!value) continue;
          if (*value != "real" && *value != "sandbox") {
            parser.error(exec_entry.value, "exec system must be \"real\" (apt and systemd) or \"sandbox\", got \"" +
                                               *value + "\"");
            continue;
          }
          fragment.exec_system = *value;
        } else {
          std::optional<std::vector<std::string>> value = parser.string_list(exec_entry);
          if (!value) continue;
          bool ok = true;
          for (size_t i = 0; i < value->size(); ++i) {
            if (Status status = validate_trusted_key((*value)[i]); !status.is_ok()) {
              parser.error(exec_entry.value[i], "exec trusted_keys: " + status.message());
              ok = false;
            }
          }
          if (ok) fragment.exec_trusted_keys = *value;
        }
      }
    } else if (key == "tags") {
      fragment.tags = parser.string_map(entry, [](const std::string& k, const std::string& v) { return validate_tag(k, v); });
    } else if (key == "service" || key == "check") {
      (key == "service" ? service_nodes : check_nodes).push_back(entry.value);
    } else if (key == "services" || key == "checks") {
      if (entry.value.IsNull()) continue;
      if (!entry.value.IsSequence()) {
        parser.error(entry.value, std::string(key) + " must be a list, got " + type_name(entry.value));
        continue;
      }
      for (const YAML::Node& item : entry.value) (key == "services" ? service_nodes : check_nodes).push_back(item);
    }
  }

  for (const YAML::Node& node : service_nodes) {
    std::optional<ParsedService> service = parse_service(parser, node);
    if (!service) continue;
    for (size_t i = 0; i < fragment.services.size(); ++i) {
      if (fragment.services[i].id == service->service.id) {
        parser.error(node, "service id \"" + service->service.id + "\" is already defined at line " +
                               std::to_string(fragment.service_locations[i].line) +
                               "; give each service its own id");
        service.reset();
        break;
      }
    }
    if (!service) continue;
    fragment.services.push_back(std::move(service->service));
    fragment.service_locations.push_back(std::move(service->location));
  }
  for (const YAML::Node& node : check_nodes) {
    std::optional<ParsedCheck> check = parse_check(parser, node, /*in_service=*/false);
    if (!check) continue;
    for (size_t i = 0; i < fragment.checks.size(); ++i) {
      if (fragment.checks[i].id == check->check.id) {
        parser.error(node, "check id \"" + check->check.id + "\" is already defined at line " +
                               std::to_string(fragment.check_locations[i].line) + "; give each check its own id");
        check.reset();
        break;
      }
    }
    if (!check) continue;
    fragment.checks.push_back(std::move(check->check));
    fragment.check_locations.push_back(std::move(check->location));
  }
}

}  // namespace

ConfigFragment parse_config_text(const std::string& text, const std::string& source_name,
                                 std::vector<ConfigError>& errors) {
  ConfigFragment fragment;
  Parser parser(source_name, errors);
  if (size_t nul = text.find('\0'); nul != std::string::npos) {
    // yaml-cpp would stop reading at the NUL and accept the file.
    int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(nul), '\n'));
    parser.error_at(line, "holds a NUL byte; a config file must be YAML text");
    return fragment;
  }
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(text);
    if (!documents.empty()) parse_document(parser, documents.front(), fragment);
    if (documents.size() > 1) {
      parser.error(documents[1], "a config file holds one YAML document; found " + std::to_string(documents.size()));
    }
  } catch (const YAML::Exception& e) {
    parser.error_at(e.mark.is_null() ? 0 : e.mark.line + 1, "YAML syntax: " + e.msg);
  } catch (const std::exception& e) {
    parser.error_at(0, std::string("could not read config: ") + e.what());
  }
  return fragment;
}

Result<std::string> read_config_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::invalid_argument("is a directory; pass it with -config-dir");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found(std::string("cannot read config file: ") + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::internal(std::string("cannot read config file: ") + std::strerror(errno));
  return buffer.str();
}

}  // namespace roster::config
