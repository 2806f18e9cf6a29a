// POSIX file plumbing for the io module: an owning file descriptor, opening a file to read
// with its identity, a write loop and errno texts for messages. Internal to io/.
// Threading: objects are used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "runtime/status.h"

namespace runnel {

// "No space left on device" for ENOSPC; thread-safe, unlike strerror.
std::string ErrnoText(int error);

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Close(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now; returns 0 or the errno of close(2), which can carry a delayed write error.
  int Close();

 private:
  int fd_ = -1;
};

// A file opened to read, with its identity (device and inode: the same file also when
// renamed) and its size when opened.
struct InputFile {
  UniqueFd fd;
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
};

// Opens `path` read-only; IoError naming it when it cannot be opened or stat'ed.
Result<InputFile> OpenInputFile(const std::string& path);

// A second descriptor of the open file `fd` (for a reader on another thread: reads go by
// pread, so the shared file position does not matter); IoError naming `path`.
Result<UniqueFd> DuplicateFd(int fd, const std::string& path);

// Writes all of `data` to `fd`, retrying short writes and EINTR. Returns 0 or the errno.
int WriteAll(int fd, std::string_view data);

}  // namespace runnel
