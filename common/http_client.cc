#include "common/http_client.h"

#include <cpprest/http_client.h>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <system_error>

namespace roster {
namespace {

std::string with_scheme(const std::string& base_url) {
  std::string url = base_url.find("://") == std::string::npos ? "http://" + base_url : base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string unreachable_message(const std::string& url, const std::string& reason) {
  return "cannot reach the agent at " + url + ": " + reason + "; is `roster agent` running?";
}

// cpprestsdk reports every failed resolve or connect as "host unreachable" or
// worse, whatever the cause. An operator needs to tell "nothing listens there"
// from "wrong host", so ask the socket layer directly, with one bounded
// connect attempt. Returns "" when the connect succeeds (the failure was
// later in the exchange).
std::string diagnose_connect_failure(const web::uri& uri, std::chrono::milliseconds timeout) {
  const std::string host = uri.host();
  int port = uri.port();
  if (port <= 0) port = uri.scheme() == "https" ? 443 : 80;

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  const int resolved = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &addresses);
  if (resolved != 0) return std::string("cannot resolve ") + host + " (" + ::gai_strerror(resolved) + ")";
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(addresses, &::freeaddrinfo);

  const int fd = ::socket(addresses->ai_family, addresses->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          addresses->ai_protocol);
  if (fd < 0) return std::strerror(errno);
  int error = 0;
  if (::connect(fd, addresses->ai_addr, addresses->ai_addrlen) != 0) {
    error = errno;
    if (error == EINPROGRESS) {
      pollfd waiting{fd, POLLOUT, 0};
      const auto wait = std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(2));
      if (::poll(&waiting, 1, static_cast<int>(wait.count())) == 1) {
        socklen_t length = sizeof(error);
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      } else {
        error = ETIMEDOUT;
      }
    }
  }
  ::close(fd);
  if (error == 0) return "";  // it accepts connections: the failure came later in the exchange
  if (error == ECONNREFUSED) return "connection refused";
  if (error == ETIMEDOUT) return "connection timed out";
  return std::strerror(error);
}

// cpprestsdk reports socket errors as system error codes; name the common
// ones the way an operator would search for them.
std::string describe_transport_error(const std::error_code& code, const char* what) {
  if (code == std::errc::connection_refused) return "connection refused";
  if (code == std::errc::network_unreachable) return "network unreachable";
  if (code == std::errc::connection_reset) return "connection reset by the agent";
  if (code == std::errc::host_unreachable) return "host unreachable";
  if (code.value() != 0) return code.message();
  return what;
}

}  // namespace

Result<HttpResponse> http_request(const std::string& method, const std::string& base_url,
                                  const std::string& path_and_query, const std::string& body,
                                  std::chrono::milliseconds timeout,
                                  const std::map<std::string, std::string>& headers) {
  const std::string url = with_scheme(base_url);
  if (path_and_query.empty() || path_and_query.front() != '/') {
    return Status::invalid_argument("request path must start with '/': \"" + path_and_query + "\"");
  }

  // cpprestsdk reports everything, bad URIs included, by throwing; this is
  // the edge where those exceptions stop.
  try {
    web::http::client::http_client_config config;
    config.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
    config.set_proxy(web::web_proxy(web::web_proxy::disabled));

    web::http::client::http_client client(web::uri(url), config);
    web::http::http_request request(method);
    request.set_request_uri(web::uri(path_and_query));
    std::string content_type = "application/octet-stream";
    for (const auto& [name, value] : headers) {
      if (utility::details::str_iequal(name, web::http::header_names::content_type)) {
        content_type = value;
      } else {
        request.headers().add(name, value);
      }
    }
    if (!body.empty() || method == "PUT" || method == "POST") {
      request.set_body(body, content_type);
    }

    web::http::http_response response = client.request(request).get();
    HttpResponse result;
    result.status = response.status_code();
    for (const auto& [name, value] : response.headers()) result.headers[name] = value;
    std::vector<unsigned char> bytes = response.extract_vector().get();
    result.body.assign(bytes.begin(), bytes.end());
    return result;
  } catch (const web::http::http_exception& e) {
    if (e.error_code() == std::errc::timed_out) {
      return Status::unavailable("the agent at " + url + " did not answer within " +
                                 std::to_string(timeout.count()) + "ms");
    }
    std::string reason = diagnose_connect_failure(web::uri(url), timeout);
    if (reason.empty()) reason = describe_transport_error(e.error_code(), e.what());
    return Status::unavailable(unreachable_message(url, reason));
  } catch (const web::uri_exception& e) {
    return Status::invalid_argument("invalid agent address or path \"" + url + path_and_query + "\": " + e.what());
  } catch (const std::exception& e) {
    return Status::unavailable(unreachable_message(url, e.what()));
  }
}

}  // namespace roster
