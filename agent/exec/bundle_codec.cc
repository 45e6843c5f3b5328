#include "agent/exec/bundle_codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <openssl/evp.h>

#include <algorithm>
#include <ctime>
#include <set>

#include "common/base64.h"
#include "exec.pb.h"

namespace roster::exec {
namespace {

namespace wire = roster::proto::exec;

constexpr uint32_t kFormat = 1;
constexpr size_t kPublicKeyBytes = 32;
constexpr size_t kSignatureBytes = 64;

void to_proto(const ArgValue& value, wire::ArgValue* out) {
  if (const auto* text = std::get_if<std::string>(&value)) {
    out->set_text(*text);
  } else if (const auto* flag = std::get_if<bool>(&value)) {
    out->set_flag(*flag);
  } else if (const auto* number = std::get_if<int64_t>(&value)) {
    out->set_number(*number);
  } else if (const auto* list = std::get_if<StringList>(&value)) {
    wire::StringList* wire_list = out->mutable_list();
    for (const std::string& item : *list) wire_list->add_values(item);
  }
}

void to_proto(const Task& task, wire::BundleTask* out) {
  out->set_name(task.name);
  out->set_module(task.module);
  for (const auto& [key, value] : task.args) to_proto(value, &(*out->mutable_args())[key]);
  for (const std::string& name : task.notify) out->add_notify(name);
}

void to_proto(const Bundle& bundle, const std::vector<std::string>& playbooks, wire::BundleContent* out) {
  for (const Task& task : bundle.tasks) to_proto(task, out->add_tasks());
  for (const Task& handler : bundle.handlers) to_proto(handler, out->add_handlers());
  for (const std::string& name : playbooks) out->add_playbooks(name);
}

// Map entries are written in key order, so equal content gives equal bytes.
std::string serialize_deterministically(const google::protobuf::MessageLite& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

std::string hex_sha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0f];
  }
  return out;
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

Result<Task> from_proto(const wire::BundleTask& wire_task, const std::string& what) {
  Task task;
  task.name = wire_task.name();
  task.module = wire_task.module();
  if (task.name.empty()) return Status::invalid_argument(what + " has no name");
  if (task.module.empty()) return Status::invalid_argument(what + " " + quoted(task.name) + " has no module");
  for (const auto& [key, value] : wire_task.args()) {
    switch (value.value_case()) {
      case wire::ArgValue::kText: task.args.emplace(key, value.text()); break;
      case wire::ArgValue::kFlag: task.args.emplace(key, value.flag()); break;
      case wire::ArgValue::kNumber: task.args.emplace(key, static_cast<int64_t>(value.number())); break;
      case wire::ArgValue::kList:
        task.args.emplace(key, StringList(value.list().values().begin(), value.list().values().end()));
        break;
      case wire::ArgValue::VALUE_NOT_SET:
        return Status::invalid_argument("argument " + quoted(key) + " of " + what + " " + quoted(task.name) +
                                        " has no value");
    }
  }
  task.notify.assign(wire_task.notify().begin(), wire_task.notify().end());
  return task;
}

Result<OpenedBundle> from_proto(const wire::BundlePayload& payload) {
  if (payload.format() != kFormat) {
    return Status::invalid_argument("unknown bundle format " + std::to_string(payload.format()) +
                                    "; this agent reads format " + std::to_string(kFormat) +
                                    " (is roster-deploy newer than the agent?)");
  }
  OpenedBundle opened;
  BundleMeta& meta = opened.meta;
  meta.node_id = payload.node_id();
  meta.node = payload.node();
  meta.generation = payload.generation();
  meta.expires_unix_ms = payload.expires_unix_ms();
  meta.content_hash = payload.content_hash();
  meta.run_id = payload.run_id();
  meta.check_mode = payload.check_mode();
  const wire::BundleContent& content = payload.content();
  meta.playbooks.assign(content.playbooks().begin(), content.playbooks().end());

  for (int i = 0; i < content.tasks_size(); ++i) {
    Result<Task> task = from_proto(content.tasks(i), "task " + std::to_string(i + 1));
    if (!task.is_ok()) return Status::invalid_argument("bad bundle content: " + task.status().message());
    opened.bundle.tasks.push_back(std::move(*task));
  }
  std::set<std::string> handler_names;
  for (int i = 0; i < content.handlers_size(); ++i) {
    Result<Task> handler = from_proto(content.handlers(i), "handler " + std::to_string(i + 1));
    if (!handler.is_ok()) return Status::invalid_argument("bad bundle content: " + handler.status().message());
    if (!handler_names.insert(handler->name).second) {
      return Status::invalid_argument("bad bundle content: two handlers are named " + quoted(handler->name));
    }
    opened.bundle.handlers.push_back(std::move(*handler));
  }
  for (const Task& task : opened.bundle.tasks) {
    for (const std::string& name : task.notify) {
      if (!handler_names.count(name)) {
        return Status::invalid_argument("bad bundle content: task " + quoted(task.name) + " notifies " +
                                        quoted(name) + ", which the bundle has no handler for");
      }
    }
  }
  return opened;
}

Result<wire::SignedBundle> parse_signed(std::string_view bytes) {
  if (bytes.size() > kMaxBundleBytes) {
    return Status::invalid_argument("bundle is " + std::to_string(bytes.size()) + " bytes; the limit is " +
                                    std::to_string(kMaxBundleBytes));
  }
  wire::SignedBundle signed_bundle;
  if (bytes.empty() || !signed_bundle.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::invalid_argument("not a deploy bundle: the " + std::to_string(bytes.size()) +
                                    " bytes do not decode as a SignedBundle");
  }
  if (signed_bundle.payload().empty() || signed_bundle.signature().size() != kSignatureBytes ||
      signed_bundle.public_key().size() != kPublicKeyBytes) {
    return Status::invalid_argument(
        "not a signed deploy bundle: it needs a payload, a 64-byte signature and the signer's 32-byte public key");
  }
  return signed_bundle;
}

Result<OpenedBundle> parse_payload(const std::string& bytes) {
  wire::BundlePayload payload;
  if (!payload.ParseFromString(bytes)) {
    return Status::invalid_argument("the signed payload does not decode as a BundlePayload");
  }
  return from_proto(payload);
}

std::string utc_time(int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm parts{};
  if (gmtime_r(&seconds, &parts) == nullptr) return std::to_string(unix_ms) + " ms after the epoch";
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

}  // namespace

std::string content_hash(const Bundle& bundle, const std::vector<std::string>& playbooks) {
  wire::BundleContent content;
  to_proto(bundle, playbooks, &content);
  return hex_sha256(serialize_deterministically(content));
}

size_t content_size(const Bundle& bundle, const std::vector<std::string>& playbooks) {
  wire::BundleContent content;
  to_proto(bundle, playbooks, &content);
  return content.ByteSizeLong();
}

std::string seal_bundle(BundleMeta meta, const Bundle& bundle, const SigningKey& key) {
  meta.content_hash = content_hash(bundle, meta.playbooks);
  wire::BundlePayload payload;
  payload.set_format(kFormat);
  payload.set_node_id(meta.node_id);
  payload.set_node(meta.node);
  payload.set_generation(meta.generation);
  payload.set_expires_unix_ms(meta.expires_unix_ms);
  payload.set_content_hash(meta.content_hash);
  payload.set_run_id(meta.run_id);
  payload.set_check_mode(meta.check_mode);
  to_proto(bundle, meta.playbooks, payload.mutable_content());

  wire::SignedBundle signed_bundle;
  signed_bundle.set_payload(serialize_deterministically(payload));
  signed_bundle.set_signature(key.sign(signed_bundle.payload()));
  signed_bundle.set_public_key(key.public_key_raw());
  return serialize_deterministically(signed_bundle);
}

Result<OpenedBundle> open_bundle(std::string_view bytes, const OpenPolicy& policy) {
  Result<wire::SignedBundle> signed_bundle = parse_signed(bytes);
  if (!signed_bundle.is_ok()) return signed_bundle.status();

  const std::string& signer = signed_bundle->public_key();
  const std::string signer_text = base64_encode(signer);
  if (policy.trusted_keys.empty()) {
    return Status::permission_denied("bundle signed by key " + signer_text +
                                     ", but this agent trusts no key (exec.trusted_keys is empty)");
  }
  if (std::find(policy.trusted_keys.begin(), policy.trusted_keys.end(), signer) == policy.trusted_keys.end()) {
    return Status::permission_denied("bundle signed by key " + signer_text +
                                     ", which is not in this agent's exec.trusted_keys");
  }
  if (!verify_ed25519(signer, signed_bundle->payload(), signed_bundle->signature())) {
    return Status::permission_denied("bundle signature does not match its payload for key " + signer_text +
                                     ": the bundle was altered after it was signed");
  }

  Result<OpenedBundle> opened = parse_payload(signed_bundle->payload());
  if (!opened.is_ok()) return opened.status();
  const BundleMeta& meta = opened->meta;

  if (meta.node_id != policy.node_id) {
    return Status::conflict("bundle is for node ID " + quoted(meta.node_id) + " (" + quoted(meta.node) +
                            "), this is " + quoted(policy.node_id));
  }
  if (policy.now_unix_ms >= meta.expires_unix_ms) {
    return Status::conflict("bundle generation " + std::to_string(meta.generation) + " expired at " +
                            utc_time(meta.expires_unix_ms) + "; it is now " + utc_time(policy.now_unix_ms));
  }
  const bool resuming = policy.resume_generation != 0 && meta.generation == policy.resume_generation;
  if (meta.generation <= policy.last_generation && !resuming) {
    return Status::conflict("bundle generation " + std::to_string(meta.generation) +
                            " is not newer than generation " + std::to_string(policy.last_generation) +
                            ", the last one this node finished: a replay is refused");
  }
  const std::string actual_hash = content_hash(opened->bundle, meta.playbooks);
  if (actual_hash != meta.content_hash) {
    return Status::conflict("bundle content hashes to " + actual_hash + " but the bundle names " +
                            quoted(meta.content_hash));
  }
  return opened;
}

Result<OpenedBundle> decode_bundle_unverified(std::string_view bytes) {
  Result<wire::SignedBundle> signed_bundle = parse_signed(bytes);
  if (!signed_bundle.is_ok()) return signed_bundle.status();
  return parse_payload(signed_bundle->payload());
}

}  // namespace roster::exec
