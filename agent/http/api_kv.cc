// /v1/kv/<key>: Consul's KV store.

#include <charconv>

#include "agent/http/api_internal.h"

namespace roster::http {

namespace {

Result<uint64_t> parse_unsigned(const std::string& name, const std::string& text) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return Status::invalid_argument("Invalid " + name + " \"" + text + "\": must be an unsigned integer");
  }
  return value;
}

HandleResult kv_get(Context& context, const std::string& key) {
  const auto& store = context.core.store();
  catalog::WatchKeys watch;
  const HttpRequest& request = context.request;
  if (request.param("keys")) {
    std::string separator = request.param("separator").value_or("");
    auto keys = store.kv_keys(key, separator, &watch);
    if (keys.value.empty()) return finish_read(context, keys.index, watch, 404, "");
    return finish_read(context, keys.index, watch, json(keys.value));
  }
  if (key.empty() && !request.flag("recurse")) return respond_error(400, "Missing key name");
  if (request.flag("recurse")) {
    auto entries = store.kv_list(key, &watch);
    if (entries.value.empty()) return finish_read(context, entries.index, watch, 404, "");
    if (request.flag("raw")) return finish_read(context, entries.index, watch, 200, entries.value.front().value);
    json body = json::array();
    for (const auto& entry : entries.value) body.push_back(kv_json(entry));
    return finish_read(context, entries.index, watch, body);
  }
  auto entry = store.kv_get(key, &watch);
  if (!entry.value) return finish_read(context, entry.index, watch, 404, "");
  if (request.flag("raw")) {
    HandleResult result = finish_read(context, entry.index, watch, 200, entry.value->value);
    if (!result.wait) result.response.content_type = "application/octet-stream";
    return result;
  }
  return finish_read(context, entry.index, watch, json::array({kv_json(*entry.value)}));
}

HandleResult kv_put(Context& context, const std::string& key) {
  const HttpRequest& request = context.request;
  if (key.empty()) return respond_error(400, "Missing key name");
  if (request.body.size() > context.options.max_kv_value_bytes) {
    return respond_error(413, "Request body(" + std::to_string(request.body.size()) +
                                  " bytes) too large, max size: " +
                                  std::to_string(context.options.max_kv_value_bytes) + " bytes");
  }
  catalog::KvCommand command;
  command.key = key;
  command.value = request.body;
  if (auto flags = request.param("flags")) {
    auto parsed = parse_unsigned("flags", *flags);
    if (!parsed.is_ok()) return respond_status(parsed.status());
    command.flags = *parsed;
  }
  auto acquire = request.param("acquire");
  auto release = request.param("release");
  auto cas = request.param("cas");
  if (static_cast<int>(acquire.has_value()) + static_cast<int>(release.has_value()) + static_cast<int>(cas.has_value()) > 1) {
    return respond_error(400, "Conflicting flags: use only one of cas, acquire and release");
  }
  if (acquire) {
    if (acquire->empty()) return respond_error(400, "Missing session id for acquire");
    command.op = catalog::KvOp::lock;
    command.session = *acquire;
  } else if (release) {
    if (release->empty()) return respond_error(400, "Missing session id for release");
    command.op = catalog::KvOp::unlock;
    command.session = *release;
  } else if (cas) {
    auto parsed = parse_unsigned("cas", *cas);
    if (!parsed.is_ok()) return respond_status(parsed.status());
    command.op = catalog::KvOp::cas;
    command.cas_index = *parsed;
  }
  return write_and_respond(context, std::move(command),
                           [](const Result<catalog::Index>& result) { return bool_answer(result, true); });
}

HandleResult kv_delete(Context& context, const std::string& key) {
  const HttpRequest& request = context.request;
  catalog::KvCommand command;
  command.key = key;
  if (request.flag("recurse")) {
    command.op = catalog::KvOp::delete_tree;
  } else {
    if (key.empty()) return respond_error(400, "Missing key name");
    command.op = catalog::KvOp::delete_key;
    if (auto cas = request.param("cas")) {
      auto parsed = parse_unsigned("cas", *cas);
      if (!parsed.is_ok()) return respond_status(parsed.status());
      command.op = catalog::KvOp::delete_cas;
      command.cas_index = *parsed;
    }
  }
  return write_and_respond(context, std::move(command),
                           [](const Result<catalog::Index>& result) { return bool_answer(result, true); });
}

}  // namespace

Status validate_kv_key(const std::string& key, size_t max_bytes) {
  if (key.size() > max_bytes) {
    return Status::invalid_argument("Key too long: " + std::to_string(key.size()) + " bytes, max " +
                                    std::to_string(max_bytes));
  }
  for (size_t i = 0; i < key.size();) {
    auto byte = static_cast<unsigned char>(key[i]);
    if (byte < 0x20 || byte == 0x7F) {
      return Status::invalid_argument("Invalid key: control byte 0x" + std::string(1, "0123456789abcdef"[byte >> 4]) +
                                      std::string(1, "0123456789abcdef"[byte & 15]) + " at offset " +
                                      std::to_string(i));
    }
    // Lead bytes C0, C1 and F5-FF never occur in UTF-8 (overlong or past U+10FFFF).
    size_t length = byte < 0x80                   ? 1
                    : byte >= 0xC2 && byte <= 0xDF ? 2
                    : (byte >> 4) == 0xE           ? 3
                    : byte >= 0xF0 && byte <= 0xF4 ? 4
                                                   : 0;
    if (length == 0 || i + length > key.size()) {
      return Status::invalid_argument("Invalid key: not valid UTF-8 at offset " + std::to_string(i));
    }
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(key[i + k]) >> 6) != 0x2) {
        return Status::invalid_argument("Invalid key: not valid UTF-8 at offset " + std::to_string(i));
      }
    }
    // Second-byte limits: no overlong 3/4-byte forms, no surrogates, nothing past U+10FFFF.
    auto second = static_cast<unsigned char>(length > 1 ? key[i + 1] : 0);
    if ((byte == 0xE0 && second < 0xA0) || (byte == 0xED && second > 0x9F) || (byte == 0xF0 && second < 0x90) ||
        (byte == 0xF4 && second > 0x8F)) {
      return Status::invalid_argument("Invalid key: not valid UTF-8 at offset " + std::to_string(i));
    }
    i += length;
  }
  return Status::ok();
}

HandleResult handle_kv(Context& context) {
  std::string key = context.rest;
  Status valid = validate_kv_key(key, context.options.max_key_bytes);
  if (!valid.is_ok()) return respond_status(valid);
  const std::string& method = context.request.method;
  if (method == "GET" || method == "HEAD") return kv_get(context, key);
  if (method == "PUT" || method == "POST") return kv_put(context, key);
  return kv_delete(context, key);
}

}  // namespace roster::http
