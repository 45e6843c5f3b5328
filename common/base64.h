#pragma once

// Standard base64 (RFC 4648, padded), as Consul uses for KV values.

#include <string>
#include <string_view>

#include "common/status.h"

namespace roster {

std::string base64_encode(std::string_view bytes);
// Rejects bad characters and bad padding.
Result<std::string> base64_decode(std::string_view text);

}  // namespace roster
