#pragma once

// The outcome of one health-check run, in Consul's terms.

#include <string>

#include "common/check_status.h"

namespace roster::checks {

struct CheckResult {
  std::string status;  // "passing", "warning" or "critical"
  std::string output;
  bool operator==(const CheckResult&) const = default;
};

using roster::is_valid_check_status;
using roster::kCritical;
using roster::kPassing;
using roster::kWarning;

// Cuts `output` to at most `max_bytes`, backing off so that a multi-byte
// UTF-8 sequence is never split.
std::string truncate_output(std::string output, size_t max_bytes);

}  // namespace roster::checks
