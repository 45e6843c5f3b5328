#pragma once

// A Clock that moves only when the test says so.

#include <chrono>
#include <cstdint>

#include "common/clock.h"

namespace roster::fakes {

class ManualClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override { return now_; }
  int64_t unix_nanos() const override {
    return kUnixStart + std::chrono::duration_cast<std::chrono::nanoseconds>(now_.time_since_epoch()).count();
  }
  void advance(std::chrono::nanoseconds by) { now_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(by); }

 private:
  static constexpr int64_t kUnixStart = 1'700'000'000'000'000'000;  // November 2023
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
};

}  // namespace roster::fakes
