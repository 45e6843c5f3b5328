// libFuzzer target for the deploy bundle codec (agent/exec/bundle_codec.h):
// bytes from the catalog KV, which anyone with KV write access controls.
// The properties: nothing crashes, leaks or trips a sanitizer; every refusal
// has one of the documented codes and words; a bundle that opens decodes the
// same way unverified, carries the hash of its content, and seals and opens
// again to the same tasks.
//
// Input layout:
//   byte 0   control bits:
//              bit 0  the rest is a BundlePayload: the harness signs it with
//                     the trusted key, so the payload decoder and the policy
//                     checks are reached without forging a signature
//   bytes 1..  the SignedBundle (or the payload).
//
// Seeds are in tests/fuzz/bundle_corpus/; bench/fuzz.sh 300 bundle_decode_fuzz
// builds and runs it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/exec/bundle_codec.h"
#include "exec.pb.h"

namespace exec = roster::exec;

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

// One key for the whole run: generated once, trusted by the policy.
const roster::SigningKey& trusted_key() {
  static const roster::SigningKey key = std::move(roster::SigningKey::generate()).value();
  return key;
}

exec::OpenPolicy policy() {
  exec::OpenPolicy policy;
  policy.node_id = "node-1";
  policy.last_generation = 5;
  policy.resume_generation = 0;
  policy.now_unix_ms = 1'800'000'000'000;
  policy.trusted_keys = {trusted_key().public_key_raw()};
  return policy;
}

std::string signed_by_trusted_key(std::string_view payload) {
  roster::proto::exec::SignedBundle signed_bundle;
  signed_bundle.set_payload(std::string(payload));
  signed_bundle.set_signature(trusted_key().sign(payload));
  signed_bundle.set_public_key(trusted_key().public_key_raw());
  return signed_bundle.SerializeAsString();
}

bool same_tasks(const std::vector<exec::Task>& a, const std::vector<exec::Task>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].module != b[i].module || a[i].args != b[i].args || a[i].notify != b[i].notify)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string bytes = (control & 1) ? signed_by_trusted_key(rest) : std::string(rest);
  const exec::OpenPolicy open_policy = policy();

  roster::Result<exec::OpenedBundle> opened = exec::open_bundle(bytes, open_policy);
  roster::Result<exec::OpenedBundle> decoded = exec::decode_bundle_unverified(bytes);
  if (!opened.is_ok()) {
    const roster::StatusCode code = opened.status().code();
    check(code == roster::StatusCode::invalid_argument || code == roster::StatusCode::permission_denied ||
          code == roster::StatusCode::conflict);
    check(!opened.status().message().empty());
    if (!decoded.is_ok()) check(decoded.status().code() == roster::StatusCode::invalid_argument);
    return 0;
  }
  check(decoded.is_ok());
  check(decoded->meta.generation == opened->meta.generation);
  check(same_tasks(decoded->bundle.tasks, opened->bundle.tasks));
  check(opened->meta.node_id == open_policy.node_id);
  check(opened->meta.generation > open_policy.last_generation);
  check(opened->meta.content_hash == exec::content_hash(opened->bundle, opened->meta.playbooks));

  const std::string resealed = exec::seal_bundle(opened->meta, opened->bundle, trusted_key());
  roster::Result<exec::OpenedBundle> again = exec::open_bundle(resealed, open_policy);
  check(again.is_ok());
  check(same_tasks(again->bundle.tasks, opened->bundle.tasks));
  check(same_tasks(again->bundle.handlers, opened->bundle.handlers));
  check(again->meta.content_hash == opened->meta.content_hash);
  return 0;
}
