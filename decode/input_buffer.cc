#include "decode/input_buffer.h"

#include <algorithm>
#include <cstring>

namespace runnel {

Result<size_t> StringByteStream::Read(char* buf, size_t n) {
  const size_t count = std::min({n, max_read_, text_.size() - pos_});
  std::memcpy(buf, text_.data() + pos_, count);
  pos_ += count;
  return count;
}

InputBuffer::InputBuffer(ByteStream* stream, size_t chunk)
    : stream_(stream), chunk_(std::max<size_t>(chunk, 16)) {}

Result<size_t> InputBuffer::Fill() {
  if (!data_) {
    capacity_ = chunk_;
    data_ = std::make_unique_for_overwrite<char[]>(capacity_ + kPadding);
  }
  // Keep only the unconsumed tail (usually a partial record, much smaller than a chunk).
  if (pos_ > 0) {
    std::memmove(data_.get(), data_.get() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  // A record longer than the buffer: double it, so long records cost amortised O(n).
  if (capacity_ - end_ < chunk_ / 2) {
    const size_t bigger = std::max(capacity_ * 2, end_ + chunk_);
    auto grown = std::make_unique_for_overwrite<char[]>(bigger + kPadding);
    std::memcpy(grown.get(), data_.get(), end_);
    data_ = std::move(grown);
    capacity_ = bigger;
  }
  RUNNEL_ASSIGN_OR_RETURN(size_t n, stream_->Read(data_.get() + end_, capacity_ - end_));
  end_ += n;
  return n;
}

}  // namespace runnel
