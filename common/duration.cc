#include "common/duration.h"

#include <cmath>
#include <cstdint>
#include <limits>

namespace roster {
namespace {

struct Unit {
  std::string_view name;
  double nanoseconds;
};

// Longest names first so "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {
    {"ns", 1.0},     {"us", 1e3},     {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3},
    {"ms", 1e6},     {"s", 1e9},      {"m", 60e9},        {"h", 3600e9},
};

}  // namespace

Result<Nanoseconds> parse_go_duration(std::string_view text) {
  const std::string original(text);
  if (text.empty()) return Status::invalid_argument("empty duration");
  if (text.front() == '-') return Status::invalid_argument("negative duration \"" + original + "\"");
  if (text.front() == '+') text.remove_prefix(1);
  if (text == "0") return Nanoseconds(0);

  double total = 0;
  while (!text.empty()) {
    size_t digits = 0;
    bool seen_dot = false;
    bool seen_digit = false;
    while (digits < text.size() && ((text[digits] >= '0' && text[digits] <= '9') || (text[digits] == '.' && !seen_dot))) {
      if (text[digits] == '.') seen_dot = true; else seen_digit = true;
      ++digits;
    }
    if (!seen_digit) return Status::invalid_argument("invalid duration \"" + original + "\"");
    double number = 0;
    try {
      number = std::stod(std::string(text.substr(0, digits)));
    } catch (...) {
      return Status::invalid_argument("invalid duration \"" + original + "\"");
    }
    text.remove_prefix(digits);
    if (text.empty()) return Status::invalid_argument("missing unit in duration \"" + original + "\"");
    const Unit* matched = nullptr;
    for (const Unit& unit : kUnits) {
      if (text.substr(0, unit.name.size()) == unit.name &&
          (matched == nullptr || unit.name.size() > matched->name.size())) {
        matched = &unit;
      }
    }
    if (matched == nullptr) return Status::invalid_argument("unknown unit in duration \"" + original + "\"");
    text.remove_prefix(matched->name.size());
    total += number * matched->nanoseconds;
  }
  if (!std::isfinite(total) || total > static_cast<double>(std::numeric_limits<int64_t>::max() / 2)) {
    return Status::invalid_argument("duration \"" + original + "\" is too large");
  }
  return Nanoseconds(static_cast<int64_t>(std::llround(total)));
}

std::string format_go_duration(Nanoseconds duration) {
  int64_t ns = duration.count();
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t magnitude = ns < 0 ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  auto trim = [](std::string text) {
    if (text.find('.') != std::string::npos) {
      while (!text.empty() && text.back() == '0') text.pop_back();
      if (!text.empty() && text.back() == '.') text.pop_back();
    }
    return text;
  };
  auto fixed = [&](uint64_t value, uint64_t unit, const char* suffix) {
    std::string whole = std::to_string(value / unit);
    uint64_t remainder = value % unit;
    if (remainder == 0) return whole + suffix;
    std::string fraction = std::to_string(remainder);
    size_t width = std::to_string(unit).size() - 1;
    fraction = std::string(width - fraction.size(), '0') + fraction;
    return trim(whole + "." + fraction) + suffix;
  };
  if (magnitude < 1000) return sign + std::to_string(magnitude) + "ns";
  if (magnitude < 1000000) return sign + fixed(magnitude, 1000, "µs");
  if (magnitude < 1000000000) return sign + fixed(magnitude, 1000000, "ms");
  uint64_t hours = magnitude / 3600000000000ULL;
  uint64_t rest = magnitude % 3600000000000ULL;
  uint64_t minutes = rest / 60000000000ULL;
  rest %= 60000000000ULL;
  std::string out = sign;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  out += fixed(rest, 1000000000, "s");
  return out;
}

}  // namespace roster
