// ResumeStream: a file read from an offset on (up to an end offset, or to its current end),
// with a prefix (a CSV header) served first, so that a record reader reopened in the middle
// of a file (follow mode parking, a restart from a saved position, a chunk of a split file)
// sees its header again. It counts what comes from the file, to turn stream offsets and line
// numbers back into file ones. Internal to io/. Threading: one thread at a time; it reads
// with pread(2), so streams over one open file may run on different threads.
#pragma once

#include <cstdint>
#include <string>

#include "decode/byte_stream.h"
#include "io/posix_file.h"
#include "runtime/status.h"

namespace runnel {

class ResumeStream final : public ByteStream {
 public:
  static constexpr uint64_t kToEnd = UINT64_MAX;

  // Reads the file `fd` from offset `start` (whatever its file position) to `end`;
  // `line_base` is the file line at `start`.
  ResumeStream(UniqueFd fd, std::string path, std::string prefix, uint64_t start,
               uint64_t line_base, uint64_t end = kToEnd);

  Result<size_t> Read(char* buf, size_t n) override;

  int fd() const { return fd_.get(); }
  size_t prefix_size() const { return prefix_.size(); }
  uint64_t start() const { return start_; }
  uint64_t fd_bytes() const { return fd_bytes_; }  // read from the file, after start()
  uint64_t newlines() const { return newlines_; }  // line breaks among them
  // The file offset and file line of a reader's stream offset and stream line (both past
  // the prefix).
  uint64_t FileOffset(uint64_t stream_offset) const;
  uint64_t FileLine(uint64_t stream_line) const;

 private:
  UniqueFd fd_;
  std::string path_;
  std::string prefix_;
  uint64_t prefix_newlines_;
  size_t prefix_pos_ = 0;
  uint64_t start_;
  uint64_t line_base_;
  uint64_t end_;
  uint64_t fd_bytes_ = 0;
  uint64_t newlines_ = 0;
};

// The first `size` bytes of the open file `fd` (a CSV header to replay); IoError naming
// `path` when the file is shorter or cannot be read.
Result<std::string> ReadFileHead(int fd, const std::string& path, uint64_t size);

}  // namespace runnel
