#include "io/resume_stream.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace runnel {

namespace {

// Line breaks in [p, p + n), eight bytes at a time: this runs over every byte read, and GCC
// does not vectorise std::count at -O2.
uint64_t CountNewlines(const char* p, size_t n) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kLow7 = 0x7F7F7F7F7F7F7F7FULL;
  uint64_t count = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    const uint64_t x = word ^ (kOnes * '\n');  // zero bytes where the line breaks are
    // The high bit of each byte that is zero, without carries between bytes.
    const uint64_t zero = ~(((x & kLow7) + kLow7) | x | kLow7);
    // Their number: one 0/1 per byte, summed into the top byte by the multiplication (a
    // popcount would be a libgcc call without -mpopcnt).
    count += ((zero >> 7) * kOnes) >> 56;
  }
  for (; i < n; ++i) count += p[i] == '\n' ? 1 : 0;
  return count;
}

}  // namespace

ResumeStream::ResumeStream(UniqueFd fd, std::string path, std::string prefix, uint64_t start,
                           uint64_t line_base, uint64_t end)
    : fd_(std::move(fd)),
      path_(std::move(path)),
      prefix_(std::move(prefix)),
      prefix_newlines_(CountNewlines(prefix_.data(), prefix_.size())),
      start_(start),
      line_base_(line_base),
      end_(end) {}

Result<size_t> ResumeStream::Read(char* buf, size_t n) {
  if (prefix_pos_ < prefix_.size()) {
    const size_t count = std::min(n, prefix_.size() - prefix_pos_);
    std::memcpy(buf, prefix_.data() + prefix_pos_, count);
    prefix_pos_ += count;
    return count;
  }
  const uint64_t at = start_ + fd_bytes_;
  if (at >= end_) return size_t{0};
  n = static_cast<size_t>(std::min<uint64_t>(n, end_ - at));
  while (true) {
    const ssize_t got = ::pread(fd_.get(), buf, n, static_cast<off_t>(at));
    if (got >= 0) {
      fd_bytes_ += static_cast<uint64_t>(got);
      newlines_ += CountNewlines(buf, static_cast<size_t>(got));
      return static_cast<size_t>(got);
    }
    if (errno == EINTR) continue;
    return Status::IoError("cannot read '" + path_ + "': " + ErrnoText(errno));
  }
}

uint64_t ResumeStream::FileOffset(uint64_t stream_offset) const {
  return stream_offset <= prefix_.size() ? start_ : start_ + stream_offset - prefix_.size();
}

uint64_t ResumeStream::FileLine(uint64_t stream_line) const {
  return line_base_ + stream_line - 1 - prefix_newlines_;
}

Result<std::string> ReadFileHead(int fd, const std::string& path, uint64_t size) {
  std::string head(size, '\0');
  size_t done = 0;
  while (done < head.size()) {
    const ssize_t got =
        ::pread(fd, head.data() + done, head.size() - done, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Status::IoError("cannot read '" + path + "': " + ErrnoText(errno));
    if (got == 0) {
      return Status::IoError("'" + path + "' is shorter than its " + std::to_string(size) +
                             "-byte header");
    }
    done += static_cast<size_t>(got);
  }
  return head;
}

}  // namespace runnel
