#include "agent/config/validation.h"

#include "common/base64.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <system_error>

namespace roster::config {
namespace {

bool is_tag_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.' || c == '/';
}

bool has_control_char(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Status validate_key(std::string_view what, std::string_view key) {
  if (key.empty()) return Status::invalid_argument(std::string(what) + " key is empty");
  if (key.size() > kMaxTagKeyLength) {
    return Status::invalid_argument(std::string(what) + " key \"" + std::string(key.substr(0, 32)) + "...\" is " +
                                    std::to_string(key.size()) + " characters; the limit is " +
                                    std::to_string(kMaxTagKeyLength));
  }
  if (!std::all_of(key.begin(), key.end(), is_tag_key_char)) {
    return Status::invalid_argument(std::string(what) + " key \"" + std::string(key) +
                                    "\" may hold only letters, digits, '_', '-', '.' and '/'");
  }
  return Status::ok();
}

Status validate_value(std::string_view what, std::string_view key, std::string_view value) {
  if (value.size() > kMaxTagValueLength) {
    return Status::invalid_argument(std::string(what) + " \"" + std::string(key) + "\" has a value of " +
                                    std::to_string(value.size()) + " characters; the limit is " +
                                    std::to_string(kMaxTagValueLength));
  }
  if (has_control_char(value)) {
    return Status::invalid_argument(std::string(what) + " \"" + std::string(key) + "\" has a control character in its value");
  }
  return Status::ok();
}

}  // namespace

Status validate_tag(std::string_view key, std::string_view value) {
  if (Status status = validate_key("tag", key); !status.is_ok()) return status;
  if (value.empty()) return Status::invalid_argument("tag \"" + std::string(key) + "\" has an empty value");
  return validate_value("tag", key, value);
}

Status validate_meta(std::string_view key, std::string_view value) {
  if (Status status = validate_key("meta", key); !status.is_ok()) return status;
  return validate_value("meta", key, value);
}

bool is_ip_address(const std::string& text) {
  unsigned char buffer[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 || inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

Status validate_host_port(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return Status::invalid_argument(quoted + " is not host:port");
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.empty()) return Status::invalid_argument(quoted + " has no host; expected host:port");
  if (host.front() == '[' ? host.back() != ']' : host.find(':') != std::string_view::npos) {
    return Status::invalid_argument(quoted + " is not host:port; write IPv6 hosts in brackets, like [::1]:80");
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status::invalid_argument(quoted + " has no port number; expected host:port");
  }
  int number = std::stoi(std::string(port));
  if (number < 1 || number > 65535) return Status::invalid_argument(quoted + " has port " + std::string(port) + "; ports are 1-65535");
  return Status::ok();
}

Result<std::string> normalize_log_level(std::string_view text) {
  std::string level = lowercase(text);
  static constexpr std::array<std::string_view, 9> kLevels = {"trace", "debug", "info",     "warn", "warning",
                                                              "error", "err",   "critical", "off"};
  if (std::find(kLevels.begin(), kLevels.end(), level) == kLevels.end()) {
    return Status::invalid_argument("log level \"" + std::string(text) +
                                    "\" is not one of trace, debug, info, warn, error, critical, off");
  }
  if (level == "warning") level = "warn";
  if (level == "err") level = "error";
  return level;
}

Result<std::string> normalize_datacenter(std::string_view text) {
  std::string name = lowercase(text);
  bool valid = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  if (!valid) {
    return Status::invalid_argument("datacenter \"" + std::string(text) +
                                    "\" must be 1-64 letters, digits, '_' or '-'");
  }
  return name;
}

Status validate_node_name(std::string_view text) {
  if (text.empty()) return Status::invalid_argument("node name is empty");
  if (text.size() > 128) return Status::invalid_argument("node name is longer than 128 characters");
  if (has_control_char(text) || text.find(' ') != std::string_view::npos) {
    return Status::invalid_argument("node name \"" + std::string(text) + "\" has whitespace or control characters");
  }
  return Status::ok();
}

Status validate_gossip_key(std::string_view text) {
  Result<std::string> raw = base64_decode(text);
  if (!raw.is_ok()) return Status::invalid_argument("the key is not base64; make one with `roster keygen`");
  if (raw->size() != 32) {
    return Status::invalid_argument("the key is " + std::to_string(raw->size()) +
                                    " bytes; it must be 32 (AES-256); make one with `roster keygen`");
  }
  return Status::ok();
}

Status validate_trusted_key(std::string_view text) {
  Result<std::string> raw = base64_decode(text);
  if (!raw.is_ok()) {
    return Status::invalid_argument("\"" + std::string(text) + "\" is not base64; list the public keys that " +
                                    "`roster-deploy keygen` prints");
  }
  if (raw->size() != 32) {
    return Status::invalid_argument("\"" + std::string(text) + "\" is " + std::to_string(raw->size()) +
                                    " bytes; an Ed25519 public key is 32 (as `roster-deploy keygen` prints it)");
  }
  return Status::ok();
}

Status validate_exec_root_syntax(std::string_view text) {
  if (text.empty() || text.front() != '/') {
    return Status::invalid_argument("\"" + std::string(text) + "\" is not an absolute path");
  }
  return Status::ok();
}

Status validate_exec(const ExecSettings& exec) {
  if (Status status = validate_exec_root_syntax(exec.root); !status.is_ok()) {
    return Status::invalid_argument("exec root: " + status.message());
  }
  if (!exec.enabled) return Status::ok();  // nothing runs, so nothing else matters
  std::error_code error;
  if (!std::filesystem::is_directory(exec.root, error)) {
    return Status::invalid_argument("exec root \"" + exec.root + "\" is not an existing directory");
  }
  if (exec.trusted_keys.empty()) {
    return Status::invalid_argument("exec is enabled but exec.trusted_keys is empty: the agent would refuse every "
                                    "bundle; list the deploy server's public key (`roster-deploy keygen`)");
  }
  for (const std::string& key : exec.trusted_keys) {
    if (Status status = validate_trusted_key(key); !status.is_ok()) {
      return Status::invalid_argument("exec trusted_keys: " + status.message());
    }
  }
  return Status::ok();
}

std::vector<ConfigError> validate_bootstrap(const AgentConfig& config,
                                            const std::map<std::string, SourceLocation>& locations, bool mode_known) {
  std::vector<ConfigError> errors;
  auto report = [&](const std::string& key, std::string message) {
    auto found = locations.find(key);
    if (found == locations.end()) {
      errors.push_back({"", 0, std::move(message)});
    } else {
      errors.push_back({found->second.file, found->second.line, std::move(message)});
    }
  };
  const bool expect = config.bootstrap_expect > 0;
  if (config.bootstrap && expect) {
    // Point at whichever a file set; bootstrap_expect first, as Consul reports it.
    report(locations.count("bootstrap_expect") > 0 ? "bootstrap_expect" : "bootstrap",
           "bootstrap and bootstrap_expect are mutually exclusive: bootstrap elects this server alone, "
           "bootstrap_expect " + std::to_string(config.bootstrap_expect) + " waits for that many servers; keep one");
  }
  if (!mode_known) return errors;
  if (config.dev) {
    if (expect) {
      report("bootstrap_expect", "bootstrap_expect is not allowed with -dev: a dev agent is always a single "
                                 "in-memory server");
    }
    if (config.bootstrap) {
      report("bootstrap", "bootstrap is not allowed with -dev: a dev agent is always a single in-memory server");
    }
    return errors;
  }
  if (!config.server) {
    if (expect) report("bootstrap_expect", "bootstrap_expect requires server mode: set server: true or pass -server");
    if (config.bootstrap) report("bootstrap", "bootstrap requires server mode: set server: true or pass -server");
  }
  return errors;
}

}  // namespace roster::config
