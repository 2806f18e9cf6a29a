// ByteStream: a sequential byte input that the record readers pull from in large chunks (a
// file in io/, text in tests, later a growing file). Reading returns 0 at the current end of
// input, which for a growing file is not necessarily the final end.
// Threading: one reader thread at a time.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "runtime/status.h"

namespace runnel {

class ByteStream {
 public:
  ByteStream() = default;
  virtual ~ByteStream() = default;
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  // Reads up to `n` bytes into `buf`; returns how many (0: no more input for now).
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

// Serves an in-memory text, at most `max_read` bytes per Read (tests use small values to
// exercise records that straddle refills).
class StringByteStream final : public ByteStream {
 public:
  explicit StringByteStream(std::string text, size_t max_read = static_cast<size_t>(-1))
      : text_(std::move(text)), max_read_(max_read) {}
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  std::string text_;
  size_t max_read_;
  size_t pos_ = 0;
};

}  // namespace runnel
