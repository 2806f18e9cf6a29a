// Status and Result<T>: how every expected failure travels in Runnel (LevelDB style).
// A Status is either OK or carries a code and a message that says what failed, where, and
// what to do. Result<T> holds a T or a non-OK Status, shaped like std::expected.
// Value types; not synchronised.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace runnel {

enum class StatusCode {
  kOk,
  kInvalid,     // bad usage, config, pipeline or input: exit code 2 when fatal
  kIoError,     // a file, socket or disk operation failed
  kCorruption,  // stored state is unreadable or foreign
  kRuntime,     // anything else that stops a run: exit code 1
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Invalid(std::string message) {
    return Status(StatusCode::kInvalid, std::move(message));
  }
  static Status IoError(std::string message) {
    return Status(StatusCode::kIoError, std::move(message));
  }
  static Status Corruption(std::string message) {
    return Status(StatusCode::kCorruption, std::move(message));
  }
  static Status Runtime(std::string message) {
    return Status(StatusCode::kRuntime, std::move(message));
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "prefix: message"; used to add context while unwinding.
  Status WithContext(const std::string& prefix) const {
    if (ok()) return *this;
    return Status(code_, prefix + ": " + message_);
  }

 private:
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT: implicit by design, like std::expected
  Result(Status status) : data_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(data_).ok() && "a Result is built from a non-OK Status");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }

  // REQUIRES: !ok()
  const Status& status() const { return std::get<Status>(data_); }
  // REQUIRES: ok()
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace runnel

// Propagates a non-OK Status from an expression returning Status.
#define RUNNEL_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::runnel::Status runnel_status_ = (expr);        \
    if (!runnel_status_.ok()) return runnel_status_; \
  } while (0)

#define RUNNEL_CONCAT_INNER(a, b) a##b
#define RUNNEL_CONCAT(a, b) RUNNEL_CONCAT_INNER(a, b)
// Declares `lhs` from a Result<T> expression, or returns its Status.
#define RUNNEL_ASSIGN_OR_RETURN(lhs, expr)                   \
  auto RUNNEL_CONCAT(runnel_result_, __LINE__) = (expr);     \
  if (!RUNNEL_CONCAT(runnel_result_, __LINE__).ok())         \
    return RUNNEL_CONCAT(runnel_result_, __LINE__).status(); \
  lhs = std::move(RUNNEL_CONCAT(runnel_result_, __LINE__)).value()
