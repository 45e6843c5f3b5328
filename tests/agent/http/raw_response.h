#pragma once

// Reading HTTP responses off a blocking socket byte for byte, so the HTTP
// adapter's tests see exactly what went on the wire (an extra or a torn
// response included).

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>

#include <string>

namespace roster::http::testing {

struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers, without the blank line
  std::string body;
};

// Reads one response and its Content-Length body. Bytes past it stay in `buffer`.
inline RawResponse read_response(boost::asio::ip::tcp::socket& socket, boost::asio::streambuf& buffer) {
  namespace asio = boost::asio;
  RawResponse response;
  asio::read_until(socket, buffer, "\r\n\r\n");
  std::string data(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
  size_t end = data.find("\r\n\r\n");
  response.head = data.substr(0, end);
  buffer.consume(end + 4);
  response.status = std::stoi(response.head.substr(9, 3));
  size_t length_at = response.head.find("Content-Length: ");
  size_t length = length_at == std::string::npos ? 0 : std::stoul(response.head.substr(length_at + 16));
  if (buffer.size() < length) asio::read(socket, buffer, asio::transfer_exactly(length - buffer.size()));
  std::string rest(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
  response.body = rest.substr(0, length);
  buffer.consume(length);
  return response;
}

// A header's value, or "" when the response has none.
inline std::string header_value(const RawResponse& response, const std::string& name) {
  size_t at = response.head.find(name + ": ");
  if (at == std::string::npos) return "";
  size_t end = response.head.find("\r\n", at);
  return response.head.substr(at + name.size() + 2, end - at - name.size() - 2);
}

}  // namespace roster::http::testing
