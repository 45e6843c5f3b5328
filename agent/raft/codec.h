#pragma once

// Little-endian integers and the XXH3 checksum that the WAL, the snapshot
// files and configuration entries are built from. The byte helpers are
// header-only, so the pure core uses them too; the checksum lives in the
// storage library (roster_raft_storage).

#include <cstdint>
#include <string>
#include <string_view>

namespace roster::raft::codec {

inline void put_u8(std::string& out, uint8_t value) { out.push_back(static_cast<char>(value)); }

inline void put_u32(std::string& out, uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>(value >> shift));
}

inline void put_u64(std::string& out, uint64_t value) {
  for (int shift = 0; shift < 64; shift += 8) out.push_back(static_cast<char>(value >> shift));
}

// Sixteen lowercase hex digits, for file names that sort by number.
inline std::string hex16(uint64_t value) {
  std::string text(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) text[static_cast<size_t>(i)] = "0123456789abcdef"[value & 0xf];
  return text;
}

inline uint64_t load_le(std::string_view bytes, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  return value;
}

// Reads fields in order; every getter returns false, and reads nothing, once
// the input runs out.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool u8(uint8_t& value) { return fixed(value, 1); }
  bool u32(uint32_t& value) { return fixed(value, 4); }
  bool u64(uint64_t& value) { return fixed(value, 8); }
  bool bytes(size_t length, std::string_view& value) {
    if (bytes_.size() < length) return false;
    value = bytes_.substr(0, length);
    bytes_.remove_prefix(length);
    return true;
  }
  std::string_view rest() const { return bytes_; }
  bool done() const { return bytes_.empty(); }

 private:
  template <typename T>
  bool fixed(T& value, size_t width) {
    if (bytes_.size() < width) return false;
    value = static_cast<T>(load_le(bytes_, width));
    bytes_.remove_prefix(width);
    return true;
  }
  std::string_view bytes_;
};

// XXH3-64 (xxhash.h stays out of this header).
uint64_t checksum(std::string_view bytes);
uint64_t checksum(std::string_view first, std::string_view second);

}  // namespace roster::raft::codec
