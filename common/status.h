#pragma once

// Status and Result<T>: how Roster reports failures that can be expected
// (bad input, a failed compare-and-set, a missing key). Exceptions stop at the
// edges of the program; everything inside returns one of these.

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace roster {

enum class StatusCode {
  ok = 0,
  invalid_argument,   // the caller sent something malformed
  not_found,
  conflict,           // a precondition (CAS index, lock holder) did not hold
  permission_denied,
  too_large,
  unavailable,        // try again later (no leader, shutting down)
  internal,
  not_leader,         // this server is not the Raft leader; the caller may retry on the leader
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status invalid_argument(std::string message) { return {StatusCode::invalid_argument, std::move(message)}; }
  static Status not_found(std::string message) { return {StatusCode::not_found, std::move(message)}; }
  static Status conflict(std::string message) { return {StatusCode::conflict, std::move(message)}; }
  static Status permission_denied(std::string message) { return {StatusCode::permission_denied, std::move(message)}; }
  static Status too_large(std::string message) { return {StatusCode::too_large, std::move(message)}; }
  static Status unavailable(std::string message) { return {StatusCode::unavailable, std::move(message)}; }
  static Status internal(std::string message) { return {StatusCode::internal, std::move(message)}; }
  static Status not_leader(std::string message) { return {StatusCode::not_leader, std::move(message)}; }

  bool is_ok() const { return code_ == StatusCode::ok; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "conflict: CAS index 7 does not match 9", for logs and error bodies.
  std::string to_string() const;

  bool operator==(const Status&) const = default;

 private:
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

const char* status_code_name(StatusCode code);

// Either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!status_.is_ok() && "a Result built from a Status must carry an error");
  }

  bool is_ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // REQUIRES: is_ok().
  T& value() & { assert(is_ok()); return *value_; }
  const T& value() const& { assert(is_ok()); return *value_; }
  T&& value() && { assert(is_ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace roster
