#pragma once

// The catalog as a file a person keeps (GET /v1/snapshot, `roster snapshot
// save`): self-describing, so a truncated or altered copy is refused before
// anything is restored from it.
//
//   "ROSTERSNAP1"   11 bytes, the magic and format version
//   index           u64 little-endian: the catalog index it was taken at
//   length          u64 little-endian: the payload's size
//   checksum        u64 little-endian: XXH64 (seed 0) of the payload
//   payload         encode_snapshot(data)
//
// Decoding accepts untrusted bytes: anything malformed is invalid_argument.

#include <string>
#include <string_view>

#include "agent/catalog/store_data.h"
#include "common/status.h"

namespace roster::catalog {

inline constexpr std::string_view kSnapshotFileMagic = "ROSTERSNAP1";
inline constexpr size_t kSnapshotFileHeaderBytes = kSnapshotFileMagic.size() + 3 * 8;

std::string encode_snapshot_file(const StoreData& data);
Result<StoreData> decode_snapshot_file(std::string_view bytes);

}  // namespace roster::catalog
