// A test helper for the exec integration test: makes a deploy key and seals
// a one-task bundle with it, as roster-deploy would.
//
//   seal_bundle_tool keygen KEY_FILE
//       writes a new private key, prints its public key (base64)
//   seal_bundle_tool seal KEY_FILE NODE_ID NODE GENERATION DEST CONTENT OUT_FILE [SLEEP_SECONDS]
//       writes a SignedBundle that copies CONTENT to DEST, valid for 10 minutes;
//       with SLEEP_SECONDS, a `sleep` command runs first (time to kill the agent)

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>

#include "agent/exec/bundle_codec.h"
#include "common/ed25519.h"

namespace {

int fail(const std::string& message) {
  std::cerr << "seal_bundle_tool: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string verb = argc > 1 ? argv[1] : "";
  if (verb == "keygen" && argc == 3) {
    auto key = roster::SigningKey::generate();
    if (!key.is_ok()) return fail(key.status().message());
    if (auto status = key->save(argv[2], true); !status.is_ok()) return fail(status.message());
    std::cout << key->public_key_base64() << "\n";
    return 0;
  }
  if (verb == "seal" && (argc == 9 || argc == 10)) {
    auto key = roster::SigningKey::load(argv[2]);
    if (!key.is_ok()) return fail(key.status().message());
    roster::exec::BundleMeta meta;
    meta.node_id = argv[3];
    meta.node = argv[4];
    meta.generation = std::stoull(argv[5]);
    meta.run_id = "integration-" + std::string(argv[5]);
    meta.expires_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch() + std::chrono::minutes(10))
                               .count();
    roster::exec::Task copy{"write the file", "copy", {}, {}};
    copy.args.emplace("dest", std::string(argv[6]));
    copy.args.emplace("content", std::string(argv[7]));
    roster::exec::Bundle bundle{{copy}, {}};
    if (argc == 10) {
      roster::exec::Task pause{"pause", "command", {}, {}};
      pause.args.emplace("argv", roster::exec::StringList{"sleep", argv[9]});
      bundle.tasks.insert(bundle.tasks.begin(), pause);
    }
    const std::string bytes = roster::exec::seal_bundle(meta, bundle, *key);
    std::ofstream out(argv[8], std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out) return fail(std::string("cannot write ") + argv[8]);
    return 0;
  }
  return fail("usage: keygen KEY_FILE | seal KEY_FILE NODE_ID NODE GENERATION DEST CONTENT OUT_FILE [SLEEP_SECONDS]");
}
