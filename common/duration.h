#pragma once

// Go-style durations ("9.73s", "60000ms", "1h2m", "500us"), as Consul's
// clients send them in ?wait= and in check definitions.

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"

namespace roster {

using Nanoseconds = std::chrono::nanoseconds;

// Parses a Go duration exactly as Go's time.ParseDuration accepts it, which
// is what Consul applies to ?wait=: every number needs a unit ("5" is an
// error; only "0" may stand alone). Negative and overflowing values are
// rejected.
Result<Nanoseconds> parse_go_duration(std::string_view text);

// Formats like Go's time.Duration.String(): "1m30s", "10s", "1.5s", "250ms", "0s".
std::string format_go_duration(Nanoseconds duration);

}  // namespace roster
