#pragma once

// The outcome of one health-check run, in Consul's terms.

#include <string>

namespace roster::checks {

struct CheckResult {
  std::string status;  // "passing", "warning" or "critical"
  std::string output;
  bool operator==(const CheckResult&) const = default;
};

inline constexpr const char* kPassing = "passing";
inline constexpr const char* kWarning = "warning";
inline constexpr const char* kCritical = "critical";

// True for "passing", "warning" and "critical".
bool is_valid_check_status(const std::string& status);

// Cuts `output` to at most `max_bytes`, backing off so that a multi-byte
// UTF-8 sequence is never split.
std::string truncate_output(std::string output, size_t max_bytes);

}  // namespace roster::checks
