#pragma once

// Time as an injected dependency: protocol and store code never read the wall
// clock themselves, so tests can move a manual clock.

#include <chrono>
#include <cstdint>

namespace roster {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for timeouts and intervals.
  virtual std::chrono::steady_clock::time_point now() const = 0;
  // Wall-clock time in nanoseconds since the Unix epoch, for timestamps that
  // travel in commands (lock-delay deadlines).
  virtual int64_t unix_nanos() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override { return std::chrono::steady_clock::now(); }
  int64_t unix_nanos() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch()).count();
  }
};

}  // namespace roster
