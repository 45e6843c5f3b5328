#include "common/status.h"

namespace roster {

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::ok: return "ok";
    case StatusCode::invalid_argument: return "invalid argument";
    case StatusCode::not_found: return "not found";
    case StatusCode::conflict: return "conflict";
    case StatusCode::permission_denied: return "permission denied";
    case StatusCode::too_large: return "too large";
    case StatusCode::unavailable: return "unavailable";
    case StatusCode::internal: return "internal error";
    case StatusCode::not_leader: return "not leader";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(status_code_name(code_)) + ": " + message_;
}

}  // namespace roster
