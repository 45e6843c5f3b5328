#include "agent/catalog/snapshot_file.h"

#include <xxhash.h>

#include <cstdint>

#include "agent/catalog/codec.h"

namespace roster::catalog {

namespace {

void put_u64(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t get_u64(std::string_view bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  return value;
}

}  // namespace

std::string encode_snapshot_file(const StoreData& data) {
  const std::string payload = encode_snapshot(data);
  std::string out;
  out.reserve(kSnapshotFileHeaderBytes + payload.size());
  out.append(kSnapshotFileMagic);
  put_u64(out, data.last_index);
  put_u64(out, payload.size());
  put_u64(out, XXH64(payload.data(), payload.size(), 0));
  out.append(payload);
  return out;
}

Result<StoreData> decode_snapshot_file(std::string_view bytes) {
  if (bytes.size() < kSnapshotFileHeaderBytes || bytes.substr(0, kSnapshotFileMagic.size()) != kSnapshotFileMagic) {
    return Status::invalid_argument("not a Roster snapshot (it does not start with ROSTERSNAP1)");
  }
  std::string_view header = bytes.substr(kSnapshotFileMagic.size());
  const uint64_t index = get_u64(header.substr(0, 8));
  const uint64_t length = get_u64(header.substr(8, 8));
  const uint64_t checksum = get_u64(header.substr(16, 8));
  std::string_view payload = bytes.substr(kSnapshotFileHeaderBytes);
  if (payload.size() != length) {
    return Status::invalid_argument("snapshot is " + std::to_string(payload.size()) + " bytes past its header, its header says " +
                                    std::to_string(length) + " (truncated or padded)");
  }
  if (XXH64(payload.data(), payload.size(), 0) != checksum) {
    return Status::invalid_argument("snapshot checksum mismatch: the file is corrupt");
  }
  auto data = decode_snapshot(payload);
  if (!data.is_ok()) return data.status();
  if (data->last_index != index) {
    return Status::invalid_argument("snapshot header says index " + std::to_string(index) + ", its catalog says " +
                                    std::to_string(data->last_index));
  }
  return data;
}

}  // namespace roster::catalog
