#pragma once

// The node's ID: a random UUIDv4 made at the agent's first start and kept in
// <data_dir>/node-id, so it is never baked into a golden image and survives
// restarts.

#include <string>
#include <string_view>

#include "common/status.h"
#include "common/uuid.h"  // is_uuid, generate_uuid_v4

namespace roster::config {

inline constexpr const char* kNodeIdFileName = "node-id";

// Returns the ID in <data_dir>/node-id (lowercased, surrounding whitespace
// ignored). If the file is missing, creates data_dir if needed and writes a new
// random UUIDv4 atomically (temp file, fsync, rename, fsync of the dir). A file
// that does not hold a UUID is an error that tells the user to delete it.
// Not safe against two agents sharing one data dir at the same moment.
Result<std::string> load_or_create_node_id(const std::string& data_dir);

}  // namespace roster::config
