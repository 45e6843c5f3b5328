#pragma once

// Health-check states, in Consul's spelling.

#include <string_view>

namespace roster {

inline constexpr const char* kPassing = "passing";
inline constexpr const char* kWarning = "warning";
inline constexpr const char* kCritical = "critical";

// True for "passing", "warning" and "critical".
inline bool is_valid_check_status(std::string_view status) {
  return status == kPassing || status == kWarning || status == kCritical;
}

}  // namespace roster
