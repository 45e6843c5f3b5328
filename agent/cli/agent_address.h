#pragma once

// Where the CLI finds the agent, and with which token: flag first, then
// Roster's environment variables, then Consul's (so existing shells keep
// working), then the default.

#include <functional>
#include <optional>
#include <string>

namespace roster::cli {

// Returns an environment variable's value, or nullopt when unset or empty.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment.
EnvLookup process_environment();

// -http-addr, else ROSTER_HTTP_ADDR, else CONSUL_HTTP_ADDR, else
// 127.0.0.1:8500. The result always has a scheme ("http://" is added when
// missing) and no trailing '/'.
std::string resolve_http_addr(const std::string& flag_value, const EnvLookup& env);

// -token, else ROSTER_HTTP_TOKEN, else CONSUL_HTTP_TOKEN, else "" (no token).
std::string resolve_token(const std::string& flag_value, const EnvLookup& env);

}  // namespace roster::cli
