#pragma once

// zlib compression of push-pull state. A member's record is mostly text that
// repeats from member to member (tag keys, address prefixes), so a full-state
// exchange shrinks to about a third (memberlist compresses the same exchange
// with LZW).

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace roster::gossip::wire {

// A zlib stream (RFC 1950: header, deflate data, Adler-32 check).
std::string compress(std::string_view bytes);

// Inflates a zlib stream of at most `max_bytes` uncompressed bytes. The
// output grows only as data arrives, so a small hostile stream cannot make
// it allocate the limit up front. Errors: too_large (more than max_bytes;
// a compression bomb stops here), invalid_argument (not a complete zlib
// stream, a bad checksum, or bytes after the stream's end).
Result<std::string> decompress(std::string_view bytes, size_t max_bytes);

}  // namespace roster::gossip::wire
