#pragma once

// `roster-deploy keygen -out FILE [-force]`: makes the Ed25519 key that signs
// deploy bundles. Writes the private key to FILE (PEM, mode 0600) and the
// public key to FILE.pub (base64 of its raw 32 bytes, and a newline), then
// prints the public key and the agent config that trusts it. Refuses to
// replace an existing FILE or FILE.pub unless -force is given.

#include <ostream>
#include <string>
#include <vector>

namespace roster::deploy {

// `args` are the words after "keygen". Returns the exit code: 0 done (or
// -help), 1 the key could not be written (or would replace one), 2 a usage
// error. Normal output goes to `out`, errors to `err`.
int run_keygen(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace roster::deploy
