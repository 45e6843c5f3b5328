#include "agent/config/flags.h"

#include <CLI/CLI.hpp>

#include <cctype>
#include <charconv>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>

#include "agent/config/defaults.h"
#include "agent/config/validation.h"
#include "common/duration.h"

namespace roster::config {
namespace {

constexpr const char* kHelpHint = "run `roster agent -help` for the flags";

// Raw values as CLI11 fills them; checked and converted after parsing so every
// message reads the same way.
struct RawFlags {
  bool dev = false;
  std::string node_name;
  std::string datacenter;
  std::string data_dir;
  std::string bind_addr;
  std::string advertise_addr;
  std::string client_addr;
  std::string http_port;
  std::string serf_lan_port;
  std::string server_port;
  std::string bootstrap_expect;
  bool bootstrap = false;
  std::string rpc_hold_timeout;
  std::vector<std::string> join;
  std::vector<std::string> retry_join;
  std::string retry_interval;
  std::string retry_max;
  std::string encrypt;
  std::string log_level;
  bool enable_script_checks = false;
  bool server = false;
  std::string exec_root;
  std::vector<std::string> config_files;
  std::vector<std::string> config_dirs;
  std::vector<std::string> tags;
};

struct Options {
  CLI::Option* node_name = nullptr;
  CLI::Option* datacenter = nullptr;
  CLI::Option* data_dir = nullptr;
  CLI::Option* bind_addr = nullptr;
  CLI::Option* advertise_addr = nullptr;
  CLI::Option* client_addr = nullptr;
  CLI::Option* http_port = nullptr;
  CLI::Option* serf_lan_port = nullptr;
  CLI::Option* server_port = nullptr;
  CLI::Option* bootstrap_expect = nullptr;
  CLI::Option* bootstrap = nullptr;
  CLI::Option* rpc_hold_timeout = nullptr;
  CLI::Option* retry_interval = nullptr;
  CLI::Option* retry_max = nullptr;
  CLI::Option* encrypt = nullptr;
  CLI::Option* log_level = nullptr;
  CLI::Option* enable_script_checks = nullptr;
  CLI::Option* server = nullptr;
  CLI::Option* exec_root = nullptr;
};

Options define_flags(CLI::App& app, RawFlags& raw) {
  Options options;
  app.set_help_flag("-h,--help", "Print this help and exit.");
  app.add_flag("--dev", raw.dev,
               "Development mode: no data dir needed (main makes a temporary one), and the agent "
               "advertises 127.0.0.1 when bound to 0.0.0.0. Never use it in production. Default: off.");
  options.server = app.add_flag("--server", raw.server,
                                "This agent is a server: it holds the catalog, answers other agents' catalog "
                                "requests and reconciles the gossip pool into the catalog. -dev implies it. "
                                "Default: off (a client agent, which reaches the catalog through a server).");
  options.server_port = app.add_option("--server-port", raw.server_port,
                                       "Port of the server RPC and Raft traffic on the -bind address (Consul's "
                                       "ports.server); 0 picks a free port. Default: 8300.")
                            ->type_name("PORT");
  options.bootstrap_expect =
      app.add_option("--bootstrap-expect", raw.bootstrap_expect,
                     "Servers to wait for before the first Raft election; needs -server. 1 behaves as -bootstrap. "
                     "Default: 0 (off).")
          ->type_name("N");
  options.bootstrap = app.add_flag("--bootstrap",
                                   raw.bootstrap,
                                   "Let this server elect itself leader alone (a one-server cluster, or the first "
                                   "of several); needs -server, excludes -bootstrap-expect. Default: off.");
  options.rpc_hold_timeout = app.add_option("--rpc-hold-timeout", raw.rpc_hold_timeout,
                                            "How long a server-bound RPC waits and retries while there is no "
                                            "leader (performance.rpc_hold_timeout; a Go duration). Default: 7s.")
                                 ->type_name("DURATION");
  options.node_name = app.add_option("--node", raw.node_name,
                                     "Name of this node; unique in the cluster. Default: the hostname.")
                          ->type_name("NAME");
  options.datacenter = app.add_option("--datacenter", raw.datacenter,
                                      "Datacenter this agent belongs to (lowercase letters, digits, '_', '-'). "
                                      "Default: dc1.")
                           ->type_name("DC");
  options.data_dir = app.add_option("--data-dir", raw.data_dir,
                                    "Directory for the agent's state (node ID, runtime tags, Raft data). "
                                    "Required unless -dev.")
                         ->type_name("PATH");
  options.bind_addr = app.add_option("--bind", raw.bind_addr,
                                     "Address the cluster (gossip and RPC) listens on; gossip uses UDP and TCP "
                                     "on -serf-lan-port. Default: 0.0.0.0 (127.0.0.1 with -dev).")
                          ->type_name("IP");
  options.advertise_addr = app.add_option("--advertise", raw.advertise_addr,
                                          "Address other agents use to reach this one. Default: the bind "
                                          "address, or the host's private IPv4 address when bound to 0.0.0.0 "
                                          "(127.0.0.1 with -dev).")
                               ->type_name("IP");
  options.client_addr = app.add_option("--client", raw.client_addr,
                                       "Address the HTTP API listens on. Default: 127.0.0.1.")
                            ->type_name("IP");
  options.http_port = app.add_option("--http-port", raw.http_port,
                                     "Port of the HTTP API; 0 picks a free port. Default: 8500.")
                          ->type_name("PORT");
  options.serf_lan_port = app.add_option("--serf-lan-port", raw.serf_lan_port,
                                         "Gossip port (UDP and TCP) on the -bind address; 0 picks a free port. "
                                         "Default: 8301.")
                              ->type_name("PORT");
  app.add_option("--join", raw.join,
                 "Gossip address (ip, ip:port or host:port) of an agent to join at start; repeat for several. "
                 "The agent exits if none answers. Default: none (with none of -join and -retry-join, the "
                 "agent rejoins the peers it last saw, kept in the data dir).")
      ->type_name("ADDR")
      ->allow_extra_args(false);
  app.add_option("--retry-join", raw.retry_join,
                 "Like -join, but keeps retrying with exponential backoff (from 1s, capped at -retry-interval) "
                 "until one address answers; repeat for several. Default: none.")
      ->type_name("ADDR")
      ->allow_extra_args(false);
  options.retry_interval = app.add_option("--retry-interval", raw.retry_interval,
                                          "Longest wait between -retry-join attempts (a Go duration). Default: 30s.")
                               ->type_name("DURATION");
  options.retry_max = app.add_option("--retry-max", raw.retry_max,
                                     "-retry-join attempts before the agent gives up and exits; 0 retries "
                                     "forever. Default: 0.")
                          ->type_name("N");
  options.encrypt = app.add_option("--encrypt", raw.encrypt,
                                   "Gossip encryption key (base64 of 32 bytes, from `roster keygen`). Saved to "
                                   "<data-dir>/gossip.keyring at first use; once that file exists it wins and "
                                   "-encrypt is ignored (change keys with `roster keyring`). Default: none "
                                   "(gossip in the clear).")
                        ->type_name("KEY");
  app.add_option("--config-file", raw.config_files,
                 "YAML config file to load; repeat for several, loaded in order. Default: none.")
      ->type_name("PATH")
      ->allow_extra_args(false);
  app.add_option("--config-dir", raw.config_dirs,
                 "Directory whose *.yaml and *.yml files are loaded, sorted by name, after the config files; "
                 "repeat for several. Default: none.")
      ->type_name("PATH")
      ->allow_extra_args(false);
  options.log_level = app.add_option("--log-level", raw.log_level,
                                     "One of trace, debug, info, warn, error, critical, off. Default: info.")
                          ->type_name("LEVEL");
  options.enable_script_checks =
      app.add_flag("--enable-script-checks", raw.enable_script_checks,
                   "Allow checks that run programs (args). Only enable it when every service definition "
                   "is trusted. Default: off.");
  options.exec_root = app.add_option("--exec-root", raw.exec_root,
                                     "Directory prefixed to every path a deploy task names (exec.root), so "
                                     "bundles can run in a sandbox. Deploy bundles run only with exec.enabled "
                                     "and exec.trusted_keys in a config file. Default: /.")
                          ->type_name("DIR");
  app.add_option("--tag", raw.tags,
                 "Image tag key=value for this node (the lowest tag layer); repeat for several. Overrides "
                 "the config files' tags with the same key. Default: none.")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app.footer(
      "Flags override the config files. Flags take one dash or two, and a value after a space or '='\n"
      "(-node web-1, -node=web-1). The config file format is described in docs/CONFIG.md.");
  return options;
}

std::unique_ptr<CLI::App> make_app(RawFlags& raw, Options& options) {
  auto app = std::make_unique<CLI::App>("Runs a Roster agent: registers this node, its services and health checks, and serves the "
               "Consul-compatible HTTP API.",
               "roster agent");
  options = define_flags(*app, raw);
  // Wide enough for "--rpc-hold-timeout DURATION" plus three spaces, so two are
  // left once single_dash drops a dash: wrap_help finds a description by them.
  app->get_formatter()->column_width(32);
  return app;
}

// Consul's flags take one dash; CLI11 wants two for long names.
std::vector<std::string> normalize_dashes(int argc, const char* const* argv) {
  std::vector<std::string> out;
  bool after_terminator = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i] == nullptr ? "" : argv[i];
    if (i > 0 && !after_terminator) {
      if (arg == "--") {
        after_terminator = true;
      } else if (arg.size() > 2 && arg[0] == '-' && arg[1] != '-' &&
                 std::isalpha(static_cast<unsigned char>(arg[1])) != 0 && arg[2] != '=') {
        arg.insert(0, "-");
      }
    }
    out.push_back(std::move(arg));
  }
  return out;
}

// CLI11 names flags with two dashes; say them the way the user most likely typed them.
std::string single_dash(std::string text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    bool starts_flag = text.compare(i, 2, "--") == 0 && i + 2 < text.size() &&
                       std::isalpha(static_cast<unsigned char>(text[i + 2])) != 0 &&
                       (i == 0 || text[i - 1] == ' ' || text[i - 1] == ',' || text[i - 1] == '(');
    if (starts_flag) ++i;
    out.push_back(text[i]);
  }
  return out;
}

// CLI11 does not wrap; keep each flag's description under kHelpWidth columns,
// continuing under the description's first column.
constexpr size_t kHelpWidth = 100;

std::string wrap_help(const std::string& help) {
  std::istringstream in(help);
  std::string out;
  std::string line;
  while (std::getline(in, line)) {
    size_t gap = line.compare(0, 3, "  -") == 0 ? line.find("  ", 2) : std::string::npos;
    size_t start = gap == std::string::npos ? std::string::npos : line.find_first_not_of(' ', gap);
    if (line.size() <= kHelpWidth || start == std::string::npos || start > kHelpWidth / 2) {
      out += line + "\n";
      continue;
    }
    std::string current = line.substr(0, start);
    std::istringstream words(line.substr(start));
    std::string word;
    bool first_word = true;
    while (words >> word) {
      if (!first_word && current.size() + 1 + word.size() > kHelpWidth) {
        out += current + "\n";
        current = std::string(start, ' ') + word;
      } else {
        current += (first_word ? "" : " ") + word;
      }
      first_word = false;
    }
    out += current + "\n";
  }
  return out;
}

Status flag_error(const std::string& flag, const std::string& message) {
  return Status::invalid_argument("-" + flag + ": " + message);
}

// A decimal integer and nothing else.
std::optional<int> whole_number(const std::string& text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Result<AgentFlags> convert(const RawFlags& raw, const Options& options) {
  AgentFlags flags;
  flags.dev = raw.dev;
  if (options.node_name->count() > 0) {
    if (Status status = validate_node_name(raw.node_name); !status.is_ok()) return flag_error("node", status.message());
    flags.node_name = raw.node_name;
  }
  if (options.datacenter->count() > 0) {
    Result<std::string> name = normalize_datacenter(raw.datacenter);
    if (!name.is_ok()) return flag_error("datacenter", name.status().message());
    flags.datacenter = *name;
  }
  if (options.data_dir->count() > 0) {
    if (raw.data_dir.empty()) return flag_error("data-dir", "the path is empty");
    flags.data_dir = raw.data_dir;
  }
  struct AddressFlag {
    const char* name;
    CLI::Option* option;
    const std::string& value;
    std::optional<std::string>& into;
  };
  for (const AddressFlag& address : {AddressFlag{"bind", options.bind_addr, raw.bind_addr, flags.bind_addr},
                                     AddressFlag{"advertise", options.advertise_addr, raw.advertise_addr,
                                                 flags.advertise_addr},
                                     AddressFlag{"client", options.client_addr, raw.client_addr, flags.client_addr}}) {
    if (address.option->count() == 0) continue;
    if (!is_ip_address(address.value)) {
      return flag_error(address.name, "\"" + address.value + "\" is not an IP address");
    }
    address.into = address.value;
  }
  if (options.http_port->count() > 0) {
    int port = -1;
    const std::string& text = raw.http_port;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port < 0 || port > 65535) {
      return flag_error("http-port", "\"" + text + "\" is not a port number (0-65535)");
    }
    flags.http_port = port;
  }
  if (options.serf_lan_port->count() > 0) {
    int port = -1;
    const std::string& text = raw.serf_lan_port;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port < 0 || port > 65535) {
      return flag_error("serf-lan-port", "\"" + text + "\" is not a port number (0-65535)");
    }
    flags.serf_lan_port = port;
  }
  if (options.server_port->count() > 0) {
    std::optional<int> port = whole_number(raw.server_port);
    if (!port || *port < 0 || *port > 65535) {
      return flag_error("server-port", "\"" + raw.server_port + "\" is not a port number (0-65535)");
    }
    flags.server_port = *port;
  }
  if (options.bootstrap_expect->count() > 0) {
    std::optional<int> value = whole_number(raw.bootstrap_expect);
    if (!value || *value < 0) {
      return flag_error("bootstrap-expect", "\"" + raw.bootstrap_expect +
                                                "\" is not a whole number >= 0 (the number of servers to wait for)");
    }
    if (*value > kMaxBootstrapExpect) {
      return flag_error("bootstrap-expect", raw.bootstrap_expect + " is more than " +
                                                std::to_string(kMaxBootstrapExpect) + " servers");
    }
    flags.bootstrap_expect = *value;
  }
  if (options.bootstrap->count() > 0) flags.bootstrap = raw.bootstrap;
  if (options.rpc_hold_timeout->count() > 0) {
    Result<Nanoseconds> timeout = parse_go_duration(raw.rpc_hold_timeout);
    if (!timeout.is_ok()) return flag_error("rpc-hold-timeout", timeout.status().message());
    if (timeout->count() <= 0) return flag_error("rpc-hold-timeout", "must be longer than zero");
    flags.rpc_hold_timeout = *timeout;
  }
  for (const std::string& address : raw.join) {
    if (address.empty()) return flag_error("join", "the address is empty");
    flags.join.push_back(address);
  }
  for (const std::string& address : raw.retry_join) {
    if (address.empty()) return flag_error("retry-join", "the address is empty");
    flags.retry_join.push_back(address);
  }
  if (options.retry_interval->count() > 0) {
    Result<Nanoseconds> interval = parse_go_duration(raw.retry_interval);
    if (!interval.is_ok()) return flag_error("retry-interval", interval.status().message());
    if (interval->count() <= 0) return flag_error("retry-interval", "must be longer than zero");
    flags.retry_interval = *interval;
  }
  if (options.retry_max->count() > 0) {
    int value = -1;
    const std::string& text = raw.retry_max;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 0) {
      return flag_error("retry-max", "\"" + text + "\" is not a whole number >= 0");
    }
    flags.retry_max = value;
  }
  if (options.encrypt->count() > 0) {
    if (Status status = validate_gossip_key(raw.encrypt); !status.is_ok()) return flag_error("encrypt", status.message());
    flags.encrypt = raw.encrypt;
  }
  if (options.log_level->count() > 0) {
    Result<std::string> level = normalize_log_level(raw.log_level);
    if (!level.is_ok()) return flag_error("log-level", level.status().message());
    flags.log_level = *level;
  }
  if (options.enable_script_checks->count() > 0) flags.enable_script_checks = raw.enable_script_checks;
  if (options.server->count() > 0) flags.server = raw.server;
  if (options.exec_root->count() > 0) {
    if (Status status = validate_exec_root_syntax(raw.exec_root); !status.is_ok()) {
      return flag_error("exec-root", status.message());
    }
    flags.exec_root = raw.exec_root;
  }
  flags.config_files = raw.config_files;
  flags.config_dirs = raw.config_dirs;
  for (const std::string& tag : raw.tags) {
    size_t equals = tag.find('=');
    if (equals == std::string::npos) return flag_error("tag", "\"" + tag + "\" is not key=value");
    std::string key = tag.substr(0, equals);
    std::string value = tag.substr(equals + 1);
    if (Status status = validate_tag(key, value); !status.is_ok()) return flag_error("tag", status.message());
    flags.tags[key] = value;
  }
  return flags;
}

}  // namespace

Result<ParsedFlags> parse_agent_flags(int argc, const char* const* argv) {
  RawFlags raw;
  Options options;
  try {
    std::unique_ptr<CLI::App> app = make_app(raw, options);
    std::vector<std::string> args = normalize_dashes(argc, argv);
    if (args.empty()) args.emplace_back("agent");
    std::vector<const char*> pointers;
    for (const std::string& arg : args) pointers.push_back(arg.c_str());
    try {
      app->parse(static_cast<int>(pointers.size()), pointers.data());
    } catch (const CLI::CallForHelp&) {
      ParsedFlags parsed;
      parsed.help_text = agent_help();
      return parsed;
    } catch (const CLI::ExtrasError&) {
      std::string extras;
      for (const std::string& extra : app->remaining()) extras += (extras.empty() ? "" : " ") + single_dash(extra);
      return Status::invalid_argument("unknown flag or argument: " + extras + "; " + kHelpHint);
    } catch (const CLI::ParseError& e) {
      // "--node: 1 required NAME missing" reads better as "-node needs a value (NAME)".
      static const std::regex kMissingValue(R"(^(-[\w-]+): \d+ required (\S+) missing$)");
      std::string message = std::regex_replace(single_dash(e.what()), kMissingValue, "$1 needs a value ($2)");
      return Status::invalid_argument(message + "; " + std::string(kHelpHint));
    }
    Result<AgentFlags> flags = convert(raw, options);
    if (!flags.is_ok()) return flags.status();
    ParsedFlags parsed;
    parsed.flags = std::move(flags).value();
    return parsed;
  } catch (const std::exception& e) {
    return Status::invalid_argument(std::string("cannot parse flags: ") + e.what());
  }
}

std::string agent_help() {
  RawFlags raw;
  Options options;
  return wrap_help(single_dash(make_app(raw, options)->help()));
}

void apply_flags(AgentConfig& config, const AgentFlags& flags) {
  if (flags.dev) config.dev = true;
  if (flags.node_name) config.node_name = *flags.node_name;
  if (flags.datacenter) config.datacenter = *flags.datacenter;
  if (flags.data_dir) config.data_dir = *flags.data_dir;
  if (flags.bind_addr) config.bind_addr = *flags.bind_addr;
  if (flags.advertise_addr) config.advertise_addr = *flags.advertise_addr;
  if (flags.client_addr) config.client_addr = *flags.client_addr;
  if (flags.http_port) config.http_port = *flags.http_port;
  if (flags.serf_lan_port) config.serf_lan_port = *flags.serf_lan_port;
  if (flags.server_port) config.server_port = *flags.server_port;
  if (flags.bootstrap_expect) config.bootstrap_expect = *flags.bootstrap_expect;
  if (flags.bootstrap) config.bootstrap = *flags.bootstrap;
  if (flags.rpc_hold_timeout) config.rpc_hold_timeout = *flags.rpc_hold_timeout;
  config.start_join.insert(config.start_join.end(), flags.join.begin(), flags.join.end());
  config.retry_join.insert(config.retry_join.end(), flags.retry_join.begin(), flags.retry_join.end());
  if (flags.retry_interval) config.retry_interval = *flags.retry_interval;
  if (flags.retry_max) config.retry_max = *flags.retry_max;
  if (flags.encrypt) config.encrypt = *flags.encrypt;
  if (flags.log_level) config.log_level = *flags.log_level;
  if (flags.enable_script_checks) config.enable_script_checks = *flags.enable_script_checks;
  if (flags.server) config.server = *flags.server;
  if (flags.exec_root) config.exec.root = *flags.exec_root;
  for (const auto& [key, value] : flags.tags) config.tags[key] = value;
}

LoadResult load_agent_config(const AgentFlags& flags, const HostInfo& host) {
  LoadResult result = load_config_sources(flags.config_files, flags.config_dirs);
  apply_flags(result.config, flags);
  // A flag's value is not at any file's line.
  if (flags.bootstrap_expect) result.locations.erase("bootstrap_expect");
  if (flags.bootstrap) result.locations.erase("bootstrap");
  std::vector<ConfigError> errors = apply_defaults(result.config, host);
  result.errors.insert(result.errors.end(), errors.begin(), errors.end());
  // Known only once the flags are in: -enable-script-checks may switch it on.
  if (!result.config.enable_script_checks) {
    auto refuse = [&](const local::CheckDefinition& check) {
      if (check.type() != "script") return;
      result.errors.push_back({"", 0, "check \"" + check.id + "\" runs a program (args), but script checks are off; "
                                      "set enable_script_checks: true or pass -enable-script-checks"});
    };
    for (const local::ServiceDefinition& service : result.config.services) {
      for (const local::CheckDefinition& check : service.checks) refuse(check);
    }
    for (const local::CheckDefinition& check : result.config.checks) refuse(check);
  }
  if (Status status = validate_exec(result.config.exec); !status.is_ok()) {
    result.errors.push_back({"", 0, status.message()});
  }
  std::vector<ConfigError> bootstrap = validate_bootstrap(result.config, result.locations, /*mode_known=*/true);
  result.errors.insert(result.errors.end(), bootstrap.begin(), bootstrap.end());
  return result;
}

}  // namespace roster::config
