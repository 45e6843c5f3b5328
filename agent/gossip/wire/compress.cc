#include "agent/gossip/wire/compress.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <memory>

namespace roster::gossip::wire {

namespace {

// zlib counts in uInt; pieces of at most 1 GiB stay inside it.
constexpr size_t kMaxPiece = size_t{1} << 30;

unsigned char* bytes_of(std::string_view bytes) {
  // zlib's next_in is not const-qualified but is only read.
  return reinterpret_cast<unsigned char*>(const_cast<char*>(bytes.data()));
}

}  // namespace

std::string compress(std::string_view bytes) {
  z_stream stream{};
  // Level 6 is zlib's default: almost all of level 9's gain at a fraction of the time.
  if (deflateInit(&stream, 6) != Z_OK) return {};
  std::unique_ptr<z_stream, int (*)(z_streamp)> guard(&stream, deflateEnd);
  std::string out(deflateBound(&stream, static_cast<uLong>(bytes.size())), '\0');
  stream.next_in = bytes_of(bytes);
  stream.next_out = reinterpret_cast<unsigned char*>(out.data());
  size_t in_left = bytes.size();
  size_t out_left = out.size();
  int result = Z_OK;
  while (result == Z_OK) {
    const size_t in_piece = std::min(in_left, kMaxPiece);
    const size_t out_piece = std::min(out_left, kMaxPiece);
    stream.avail_in = static_cast<uInt>(in_piece);
    stream.avail_out = static_cast<uInt>(out_piece);
    result = deflate(&stream, in_piece == in_left ? Z_FINISH : Z_NO_FLUSH);
    in_left -= in_piece - stream.avail_in;
    out_left -= out_piece - stream.avail_out;
  }
  out.resize(out.size() - out_left);
  return out;
}

Result<std::string> decompress(std::string_view bytes, size_t max_bytes) {
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) return Status::internal("zlib: inflateInit failed");
  std::unique_ptr<z_stream, int (*)(z_streamp)> guard(&stream, inflateEnd);
  std::string out;
  size_t in_left = bytes.size();
  stream.next_in = bytes_of(bytes);
  for (;;) {
    if (out.size() - stream.total_out == 0) {
      if (out.size() >= max_bytes + 1) {
        return Status::too_large("compressed push-pull expands past " + std::to_string(max_bytes) + " bytes");
      }
      // Grow by doubling, starting from a few times the input, and allow one
      // byte beyond the limit so that reaching it is detected.
      const size_t grown = std::min(max_bytes + 1, std::max<size_t>(4 * bytes.size() + 64, 2 * out.size()));
      out.resize(grown);
    }
    const size_t written = stream.total_out;
    const size_t in_piece = std::min(in_left, kMaxPiece);
    const size_t out_piece = std::min(out.size() - written, kMaxPiece);
    stream.avail_in = static_cast<uInt>(in_piece);
    stream.next_out = reinterpret_cast<unsigned char*>(out.data()) + written;
    stream.avail_out = static_cast<uInt>(out_piece);
    const int result = inflate(&stream, Z_NO_FLUSH);
    in_left -= in_piece - stream.avail_in;
    if (result == Z_STREAM_END) {
      if (in_left != 0) return Status::invalid_argument("bytes after the end of the compressed push-pull");
      if (stream.total_out > max_bytes) {
        return Status::too_large("compressed push-pull expands past " + std::to_string(max_bytes) + " bytes");
      }
      out.resize(stream.total_out);
      return out;
    }
    if (result == Z_BUF_ERROR && in_left == 0 && stream.avail_out != 0) {
      return Status::invalid_argument("compressed push-pull is truncated");
    }
    if (result != Z_OK && result != Z_BUF_ERROR) {
      return Status::invalid_argument(std::string("compressed push-pull is corrupt: ") +
                                      (stream.msg ? stream.msg : "zlib error " + std::to_string(result)));
    }
  }
}

}  // namespace roster::gossip::wire
