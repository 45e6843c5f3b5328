#include "agent/gossip/wire/wire_error.h"

namespace roster::gossip::wire {

const char* wire_error_name(WireError error) {
  switch (error) {
    case WireError::none: return "none";
    case WireError::truncated: return "truncated";
    case WireError::garbage: return "garbage";
    case WireError::oversized: return "oversized";
    case WireError::unknown_type: return "unknown_type";
    case WireError::wrong_key: return "wrong_key";
    case WireError::plain_refused: return "plain_refused";
    case WireError::replayed: return "replayed";
  }
  return "unknown";
}

namespace {

uint64_t* slot(WireCounters& counters, WireError error) {
  switch (error) {
    case WireError::none: return nullptr;
    case WireError::truncated: return &counters.truncated;
    case WireError::garbage: return &counters.garbage;
    case WireError::oversized: return &counters.oversized;
    case WireError::unknown_type: return &counters.unknown_type;
    case WireError::wrong_key: return &counters.wrong_key;
    case WireError::plain_refused: return &counters.plain_refused;
    case WireError::replayed: return &counters.replayed;
  }
  return nullptr;
}

}  // namespace

void WireCounters::add(WireError error, uint64_t count) {
  if (uint64_t* counter = slot(*this, error)) *counter += count;
}

uint64_t WireCounters::get(WireError error) const {
  const uint64_t* counter = slot(const_cast<WireCounters&>(*this), error);
  return counter ? *counter : 0;
}

uint64_t WireCounters::total() const {
  return truncated + garbage + oversized + unknown_type + wrong_key + plain_refused + replayed;
}

}  // namespace roster::gossip::wire
