#include "agent/checks/http_url.h"

#include <algorithm>
#include <cctype>

namespace roster::checks {
namespace {

bool valid_port(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  if (!std::all_of(port.begin(), port.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return false;
  }
  int value = std::stoi(std::string(port));
  return value > 0 && value <= 65535;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Splits an authority into host and optional port ("" when absent).
Result<std::pair<std::string, std::string>> split_authority(std::string_view authority, bool port_required) {
  std::string host;
  std::string_view rest;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::invalid_argument("unterminated IPv6 address");
    host = std::string(authority.substr(1, close - 1));
    rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return Status::invalid_argument("unexpected text after IPv6 address");
  } else {
    size_t colon = authority.rfind(':');
    host = std::string(authority.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
    if (host.find(':') != std::string::npos) {
      return Status::invalid_argument("IPv6 addresses must be written in brackets");
    }
  }
  if (host.empty()) return Status::invalid_argument("missing host");
  std::string port;
  if (!rest.empty()) {
    port = std::string(rest.substr(1));
    if (!valid_port(port)) return Status::invalid_argument("invalid port \"" + port + "\"");
  } else if (port_required) {
    return Status::invalid_argument("missing port");
  }
  return std::make_pair(std::move(host), std::move(port));
}

}  // namespace

Result<HttpUrl> parse_http_url(std::string_view url) {
  HttpUrl parsed;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return Status::invalid_argument("URL \"" + std::string(url) + "\" has no scheme; want http:// or https://");
  }
  std::string scheme = lowercase(url.substr(0, scheme_end));
  if (scheme == "https") {
    parsed.tls = true;
  } else if (scheme != "http") {
    return Status::invalid_argument("unsupported scheme \"" + scheme + "\"; want http or https");
  }
  std::string_view rest = url.substr(scheme_end + 3);
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  if (authority.find('@') != std::string_view::npos) {
    return Status::invalid_argument("user info in check URLs is not supported");
  }
  auto host_port = split_authority(authority, false);
  if (!host_port.is_ok()) {
    return Status::invalid_argument("URL \"" + std::string(url) + "\": " + host_port.status().message());
  }
  parsed.host = host_port->first;
  parsed.port = host_port->second.empty() ? (parsed.tls ? "443" : "80") : host_port->second;
  parsed.host_header = std::string(authority);
  parsed.target = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (parsed.target.front() == '?') parsed.target.insert(0, "/");
  return parsed;
}

Result<std::pair<std::string, std::string>> split_host_port(std::string_view address) {
  auto host_port = split_authority(address, true);
  if (!host_port.is_ok()) {
    return Status::invalid_argument("address \"" + std::string(address) + "\": " + host_port.status().message());
  }
  return host_port;
}

}  // namespace roster::checks
