#pragma once

// Transport-neutral HTTP request and response, so routing and handlers are
// plain functions that tests call without a socket (and without Beast).

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roster::http {

struct HttpRequest {
  std::string method;  // "GET", "PUT", ...
  int version = 11;    // HTTP version as major*10+minor: 10 or 11; set by the transport
  std::string path;    // percent-decoded, without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::map<std::string, std::string> headers;              // names lower-cased
  std::string body;

  // A flag counts by presence (`recurse`, `recurse=1`, `recurse=true`);
  // only an explicit "false" or "0" turns it off.
  bool flag(std::string_view name) const;
  // First value of a parameter, if present.
  std::optional<std::string> param(std::string_view name) const;
  std::vector<std::string> params(std::string_view name) const;
  std::optional<std::string> header(std::string_view lower_case_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse json(int status, std::string body);
  static HttpResponse text(int status, std::string body);
  static HttpResponse error(int status, std::string message);  // text/plain, Consul style
};

// Splits "a%2Fb?recurse&x=1" into a decoded path and query. Returns false on a
// malformed escape or a NUL byte.
bool parse_target(std::string_view target, std::string& path,
                  std::vector<std::pair<std::string, std::string>>& query);
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);

}  // namespace roster::http
