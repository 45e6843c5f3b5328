#pragma once

// Binary encoding of the catalog for snapshots and the command log
// (proto/catalog.proto). Decoding accepts untrusted bytes: anything malformed
// is an invalid_argument Status, never a crash.

#include <string>
#include <string_view>

#include "agent/catalog/command.h"
#include "agent/catalog/state_store.h"
#include "common/status.h"

namespace roster::catalog {

std::string encode_snapshot(const StoreData& data);
Result<StoreData> decode_snapshot(std::string_view bytes);

std::string encode_command(const Command& command);
Result<Command> decode_command(std::string_view bytes);

}  // namespace roster::catalog
