#pragma once

// The parts of an HTTP check's URL that the client needs. Pure parsing.

#include <string>
#include <string_view>

#include "common/status.h"

namespace roster::checks {

struct HttpUrl {
  bool tls = false;      // https://
  std::string host;      // without brackets for IPv6 literals
  std::string port;      // explicit, or "80"/"443" by scheme
  std::string target;    // path and query, "/" when empty
  std::string host_header;  // host[:port] as written in the URL
};

// Accepts http:// and https:// URLs ("http://127.0.0.1:8080/health?x=1",
// "https://[::1]/"). Fragments are dropped, as clients never send them.
// Anything else, including user-info, is invalid_argument.
Result<HttpUrl> parse_http_url(std::string_view url);

// Splits "host:port" or "[v6]:port" for TCP checks. The port is required.
Result<std::pair<std::string, std::string>> split_host_port(std::string_view address);

}  // namespace roster::checks
