// InputBuffer: the window of a ByteStream that a record reader is looking at. Readers scan
// [begin(), end()) in place and Consume() whole records; Fill() compacts the consumed prefix
// away and reads one big chunk, growing the buffer only when a single record outgrows it. The
// allocation always has kPadding spare bytes after end() for scanners that read ahead.
// Threading: owned by one reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "decode/byte_stream.h"
#include "runtime/status.h"

namespace runnel {

class InputBuffer {
 public:
  static constexpr size_t kDefaultChunk = size_t{1} << 20;
  static constexpr size_t kPadding = 64;

  // `stream` must outlive the buffer.
  explicit InputBuffer(ByteStream* stream, size_t chunk = kDefaultChunk);
  InputBuffer(const InputBuffer&) = delete;
  InputBuffer& operator=(const InputBuffer&) = delete;

  char* begin() { return data_.get() + pos_; }
  char* end() { return data_.get() + end_; }
  size_t size() const { return end_ - pos_; }

  // REQUIRES: n <= size()
  void Consume(size_t n) {
    pos_ += n;
    offset_ += n;
  }

  // Appends the next chunk of the stream after end(); returns how many bytes came (0: the
  // stream has nothing more for now). Invalidates pointers into the buffer.
  Result<size_t> Fill();

  // Stream offset of begin(): where the next unconsumed record starts.
  uint64_t offset() const { return offset_; }

 private:
  ByteStream* stream_;
  size_t chunk_;
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;  // usable bytes, excluding the padding
  size_t pos_ = 0;
  size_t end_ = 0;
  uint64_t offset_ = 0;
};

}  // namespace runnel
