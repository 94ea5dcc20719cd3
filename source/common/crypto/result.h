#pragma once

// Error values for the crypto library. Nothing here throws or aborts: every fallible function
// returns a Status (ok or an error message) or a Result<T> (a value or an error message). The
// library is linked into both the proxy and the control plane, so it depends on nothing but
// OpenSSL and the standard library.

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace remora::crypto {

// Marks a failure. A separate type so that Result<std::string> can never mistake an error
// message for a value.
struct Error {
  std::string message;
};

// Ok, or an error message naming what was wrong.
class [[nodiscard]] Status {
 public:
  // Ok.
  Status() = default;
  // An error. An empty message is replaced by "unknown error" so that ok() stays truthful.
  Status(Error error)  // NOLINT(google-explicit-constructor): `return Error{...};` reads well.
      : error_(error.message.empty() ? "unknown error" : std::move(error.message)) {}

  bool ok() const { return !error_.has_value(); }
  // The error message; empty when ok().
  const std::string& error() const { return error_ ? *error_ : empty(); }

 private:
  static const std::string& empty() {
    static const std::string kEmpty;
    return kEmpty;
  }
  std::optional<std::string> error_;
};

// A T, or an error message naming what was wrong.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  // An empty message is replaced by "unknown error".
  Result(Error error)  // NOLINT(google-explicit-constructor)
      : error_(error.message.empty() ? "unknown error" : std::move(error.message)) {}

  bool ok() const { return value_.has_value(); }
  // The error message; empty when ok().
  const std::string& error() const { return error_; }
  // The value. Precondition: ok() (checked by the caller, like std::optional::operator*).
  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const T& operator*() const& { return *value_; }
  T& operator*() & { return *value_; }
  const T* operator->() const { return &*value_; }
  T* operator->() { return &*value_; }
  // The error as a Status, for forwarding a failure of a different Result type.
  Status status() const { return ok() ? Status() : Status(Error{error_}); }

 private:
  std::optional<T> value_;
  std::string error_;
};

// `text` in double quotes for an error message: bytes that are not printable ASCII (and the
// quote and backslash) are escaped as \xNN, and text longer than `max_length` is cut with
// "...". Error messages quote untrusted input (CSR SANs, caller-supplied IDs) that ends up in
// logs, so it must not carry control characters or be unbounded.
std::string quoteForMessage(std::string_view text, size_t max_length = 256);

}  // namespace remora::crypto
