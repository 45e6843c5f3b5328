#include "common/accept_backoff.h"

#include <algorithm>
#include <cerrno>

namespace roster {

bool is_resource_exhaustion(const boost::system::error_code& error) {
  if (error.category() != boost::system::system_category() && error.category() != boost::system::generic_category()) {
    return false;
  }
  const int value = error.value();
  return value == EMFILE || value == ENFILE || value == ENOBUFS || value == ENOMEM;
}

AcceptBackoff::Decision AcceptBackoff::failed(TimePoint now) {
  delay_ = delay_ == Duration::zero() ? first_ : std::min(delay_ * 2, max_);
  Decision decision;
  decision.retry_after = delay_;
  if (!reported_ || now - last_report_ >= report_interval_) {
    decision.report = true;
    decision.unreported = unreported_;
    reported_ = true;
    last_report_ = now;
    unreported_ = 0;
  } else {
    ++unreported_;
  }
  return decision;
}

}  // namespace roster
