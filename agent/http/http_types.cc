#include "agent/http/http_types.h"

namespace roster::http {

bool HttpRequest::flag(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return !(value == "false" || value == "0");
  }
  return false;
}

std::optional<std::string> HttpRequest::param(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::vector<std::string> HttpRequest::params(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : query) {
    if (key == name) values.push_back(value);
  }
  return values;
}

std::optional<std::string> HttpRequest::header(std::string_view lower_case_name) const {
  auto found = headers.find(std::string(lower_case_name));
  if (found == headers.end()) return std::nullopt;
  return found->second;
}

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

HttpResponse HttpResponse::text(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.content_type = "text/plain; charset=utf-8";
  return response;
}

HttpResponse HttpResponse::error(int status, std::string message) {
  if (message.empty() || message.back() != '\n') message += '\n';
  return text(status, std::move(message));
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int high = hex_value(in[i + 1]);
      int low = hex_value(in[i + 2]);
      if (high < 0 || low < 0) return false;
      char decoded = static_cast<char>(high * 16 + low);
      if (decoded == '\0') return false;
      out.push_back(decoded);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '\0') {
      return false;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool parse_target(std::string_view target, std::string& path,
                  std::vector<std::pair<std::string, std::string>>& query) {
  query.clear();
  size_t question = target.find('?');
  if (!percent_decode(target.substr(0, question), path, false)) return false;
  if (question == std::string_view::npos) return true;
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t equals = pair.find('=');
    std::string key;
    std::string value;
    if (!percent_decode(pair.substr(0, equals), key, true)) return false;
    if (equals != std::string_view::npos && !percent_decode(pair.substr(equals + 1), value, true)) return false;
    query.emplace_back(std::move(key), std::move(value));
  }
  return true;
}

}  // namespace roster::http
