#include "server/deploy/http_catalog_api.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/http_client.h"

namespace roster::deploy {

namespace {

using nlohmann::json;

constexpr std::chrono::milliseconds kRequestTimeout = std::chrono::seconds(10);

// Percent-encodes all but RFC 3986 unreserved characters and '/'.
std::string escape_path(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

std::string blocking(uint64_t index, std::chrono::milliseconds wait) {
  return "index=" + std::to_string(index) + "&wait=" + std::to_string(wait.count()) + "ms";
}

// A blocking query waits up to `wait` (Consul adds up to wait/16 of jitter).
std::chrono::milliseconds timeout_for(std::chrono::milliseconds wait) { return wait + wait / 16 + kRequestTimeout; }

uint64_t index_of(const HttpResponse& response) {
  for (const auto& [name, value] : response.headers) {
    if (name.size() != 14 || !std::equal(name.begin(), name.end(), "x-consul-index",
                                         [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; })) {
      continue;
    }
    uint64_t index = 0;
    std::from_chars(value.data(), value.data() + value.size(), index);
    return index;
  }
  return 0;
}

Status http_error(const std::string& what, const HttpResponse& response) {
  std::string body = response.body.substr(0, 200);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  const std::string message = what + ": HTTP " + std::to_string(response.status) + (body.empty() ? "" : ": " + body);
  if (response.status == 403) return Status::permission_denied(message);
  if (response.status >= 500) return Status::unavailable(message);
  return Status::invalid_argument(message);
}

std::string string_field(const json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

HttpCatalogApi::HttpCatalogApi(std::string address, std::string token) : base_url_(std::move(address)) {
  if (!token.empty()) headers_["X-Consul-Token"] = std::move(token);
}

Result<NodeList> HttpCatalogApi::nodes(uint64_t index, std::chrono::milliseconds wait) {
  auto response = http_request("GET", base_url_, "/v1/catalog/nodes?" + blocking(index, wait), "", timeout_for(wait), headers_);
  if (!response.is_ok()) return response.status();
  if (response->status != 200) return http_error("GET /v1/catalog/nodes", *response);
  NodeList list;
  list.index = index_of(*response);
  try {
    const json body = json::parse(response->body);
    if (!body.is_array()) return Status::invalid_argument("GET /v1/catalog/nodes: not a JSON array");
    for (const json& item : body) {
      if (!item.is_object()) continue;
      CatalogNode node;
      node.name = string_field(item, "Node");
      node.id = string_field(item, "ID");
      node.address = string_field(item, "Address");
      if (auto meta = item.find("Meta"); meta != item.end() && meta->is_object()) {
        for (auto it = meta->begin(); it != meta->end(); ++it) {
          if (it->is_string()) node.tags[it.key()] = it->get<std::string>();
        }
      }
      if (!node.name.empty()) list.nodes.push_back(std::move(node));
    }
  } catch (const json::exception& error) {
    return Status::invalid_argument(std::string("GET /v1/catalog/nodes: malformed JSON: ") + error.what());
  }
  std::sort(list.nodes.begin(), list.nodes.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return list;
}

Result<KvTree> HttpCatalogApi::read_kv(const std::string& key, bool recurse, uint64_t index,
                                       std::chrono::milliseconds wait) {
  const std::string path = "/v1/kv/" + escape_path(key);
  auto response = http_request("GET", base_url_, path + "?" + (recurse ? "recurse&" : "") + blocking(index, wait), "",
                               timeout_for(wait), headers_);
  if (!response.is_ok()) return response.status();
  KvTree tree;
  tree.index = index_of(*response);
  if (response->status == 404) return tree;
  if (response->status != 200) return http_error("GET " + path, *response);
  try {
    const json body = json::parse(response->body);
    if (!body.is_array()) return Status::invalid_argument("GET " + path + ": not a JSON array");
    for (const json& item : body) {
      if (!item.is_object()) continue;
      KvEntry entry;
      entry.key = string_field(item, "Key");
      entry.session = string_field(item, "Session");
      if (auto modify = item.find("ModifyIndex"); modify != item.end() && modify->is_number_unsigned()) {
        entry.modify_index = modify->get<uint64_t>();
      }
      const std::string encoded = string_field(item, "Value");
      if (!encoded.empty()) {
        auto decoded = base64_decode(encoded);
        if (!decoded.is_ok()) return Status::invalid_argument("GET " + path + ": " + entry.key + ": bad base64 value");
        entry.value = std::move(decoded).value();
      }
      tree.entries.push_back(std::move(entry));
    }
  } catch (const json::exception& error) {
    return Status::invalid_argument("GET " + path + ": malformed JSON: " + error.what());
  }
  std::sort(tree.entries.begin(), tree.entries.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return tree;
}

Result<KvTree> HttpCatalogApi::kv_tree(const std::string& prefix, uint64_t index, std::chrono::milliseconds wait) {
  return read_kv(prefix, true, index, wait);
}

Result<KvTree> HttpCatalogApi::kv_get(const std::string& key, uint64_t index, std::chrono::milliseconds wait) {
  return read_kv(key, false, index, wait);
}

Result<bool> HttpCatalogApi::put_bool(const std::string& path_and_query, const std::string& body) {
  auto response = http_request("PUT", base_url_, path_and_query, body, kRequestTimeout, headers_);
  if (!response.is_ok()) return response.status();
  if (response->status != 200) return http_error("PUT " + path_and_query, *response);
  std::string text = response->body;
  std::erase_if(text, [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
  return text == "true";
}

Status HttpCatalogApi::kv_put(const std::string& key, const std::string& value) {
  auto written = put_bool("/v1/kv/" + escape_path(key), value);
  if (!written.is_ok()) return written.status();
  if (!*written) return Status::conflict("PUT /v1/kv/" + key + " was refused");
  return Status::ok();
}

Status HttpCatalogApi::kv_delete(const std::string& key) {
  auto response = http_request("DELETE", base_url_, "/v1/kv/" + escape_path(key), "", kRequestTimeout, headers_);
  if (!response.is_ok()) return response.status();
  if (response->status != 200) return http_error("DELETE /v1/kv/" + key, *response);
  return Status::ok();
}

Result<std::string> HttpCatalogApi::session_create(const std::string& name, std::chrono::seconds ttl,
                                                   std::chrono::seconds lock_delay) {
  // No checks: only the TTL ties the session to this process.
  const json body{{"Name", name},
                  {"TTL", std::to_string(ttl.count()) + "s"},
                  {"LockDelay", std::to_string(lock_delay.count()) + "s"},
                  {"Behavior", "delete"},
                  {"Checks", json::array()}};
  auto headers = headers_;
  headers["Content-Type"] = "application/json";
  auto response = http_request("PUT", base_url_, "/v1/session/create", body.dump(), kRequestTimeout, headers);
  if (!response.is_ok()) return response.status();
  if (response->status != 200) return http_error("PUT /v1/session/create", *response);
  try {
    const json answer = json::parse(response->body);
    std::string id = answer.is_object() ? string_field(answer, "ID") : "";
    if (id.empty()) return Status::invalid_argument("PUT /v1/session/create: no ID in the answer");
    return id;
  } catch (const json::exception& error) {
    return Status::invalid_argument(std::string("PUT /v1/session/create: malformed JSON: ") + error.what());
  }
}

Status HttpCatalogApi::session_renew(const std::string& session) {
  auto response = http_request("PUT", base_url_, "/v1/session/renew/" + escape_path(session), "", kRequestTimeout, headers_);
  if (!response.is_ok()) return response.status();
  if (response->status == 404) return Status::not_found("session " + session + " no longer exists");
  if (response->status != 200) return http_error("PUT /v1/session/renew", *response);
  return Status::ok();
}

Status HttpCatalogApi::session_destroy(const std::string& session) {
  auto response = http_request("PUT", base_url_, "/v1/session/destroy/" + escape_path(session), "", kRequestTimeout, headers_);
  if (!response.is_ok()) return response.status();
  if (response->status != 200) return http_error("PUT /v1/session/destroy", *response);
  return Status::ok();
}

Result<bool> HttpCatalogApi::kv_acquire(const std::string& key, const std::string& value, const std::string& session) {
  auto response = http_request("PUT", base_url_, "/v1/kv/" + escape_path(key) + "?acquire=" + escape_path(session),
                               value, kRequestTimeout, headers_);
  if (!response.is_ok()) return response.status();
  // The agent answers 400/500 for a session that no longer exists.
  if (response->status != 200) {
    Status error = http_error("PUT /v1/kv/" + key + "?acquire", *response);
    if (response->body.find("session") != std::string::npos || response->body.find("Session") != std::string::npos) {
      return Status::invalid_argument(error.message());
    }
    return error;
  }
  std::string text = response->body;
  std::erase_if(text, [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
  return text == "true";
}

Result<bool> HttpCatalogApi::kv_release(const std::string& key, const std::string& session) {
  return put_bool("/v1/kv/" + escape_path(key) + "?release=" + escape_path(session), "");
}

}  // namespace roster::deploy
