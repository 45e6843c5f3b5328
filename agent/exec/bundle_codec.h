#pragma once

// Deploy bundles on the wire (proto/exec.proto): roster-deploy seals them,
// the agent opens them. Protobuf stays in bundle_codec.cc.
//
// Opening checks, in this order, and refuses with a Status whose message a
// person can act on (it is written back to the catalog as the result):
//   invalid_argument     more than kMaxBundleBytes, or not a SignedBundle
//                        (no payload, signature or signer key);
//   permission_denied    signed by no trusted key, or the signature does not
//                        match (tampered); checked before the payload is
//                        decoded, so any altered payload byte is refused here;
//   invalid_argument     the signed payload is not a BundlePayload, has an
//                        unknown format, or content that is not a valid
//                        bundle (a task without a name or module, an argument
//                        without a value, two handlers of one name, a notify
//                        naming no handler);
//   failed_precondition  for another node ID ("bundle is for node ID X, this
//                        is Y"), expired, a generation not newer than the last
//                        one applied (a replay), or a content hash that does
//                        not match the content. Status has no separate code
//                        for these: they are StatusCode::conflict ("a
//                        precondition did not hold").
// Nothing here touches the disk or the clock: the caller passes the time.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/exec/executor.h"
#include "common/ed25519.h"
#include "common/status.h"

namespace roster::exec {

// Larger bundles are refused unread.
inline constexpr size_t kMaxBundleBytes = 4 * 1024 * 1024;

struct BundleMeta {
  std::string node_id;
  std::string node;
  uint64_t generation = 0;
  int64_t expires_unix_ms = 0;
  std::string content_hash;  // filled by seal_bundle
  std::string run_id;
  bool check_mode = false;
  std::vector<std::string> playbooks;
};

struct OpenedBundle {
  BundleMeta meta;
  Bundle bundle;
};

// Hex SHA-256 of the bundle's content (tasks, handlers, playbook names) in a
// deterministic encoding: equal content always gives an equal hash.
std::string content_hash(const Bundle& bundle, const std::vector<std::string>& playbooks);

// Bytes of the content's encoding: a sealed bundle is this plus a few
// hundred bytes of names, hash and signature. Lets roster-deploy refuse a
// bundle that agents would refuse as over kMaxBundleBytes.
size_t content_size(const Bundle& bundle, const std::vector<std::string>& playbooks);

// The serialized SignedBundle. meta.content_hash is computed here.
std::string seal_bundle(BundleMeta meta, const Bundle& bundle, const SigningKey& key);

struct OpenPolicy {
  std::string node_id;
  // The newest generation this node has finished (applied, failed or
  // refused). A bundle must be newer, except that `resume_generation`, when
  // non-zero, may be opened again: the bundle a killed agent was running.
  uint64_t last_generation = 0;
  uint64_t resume_generation = 0;
  int64_t now_unix_ms = 0;
  std::vector<std::string> trusted_keys;  // raw 32-byte public keys
};

Result<OpenedBundle> open_bundle(std::string_view bytes, const OpenPolicy& policy);

// Only decodes (no signature or policy check): for tools that show a bundle.
Result<OpenedBundle> decode_bundle_unverified(std::string_view bytes);

}  // namespace roster::exec
