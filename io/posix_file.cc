#include "io/posix_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace runnel {

std::string ErrnoText(int error) { return std::generic_category().message(error); }

int UniqueFd::Close() {
  if (fd_ < 0) return 0;
  const int fd = std::exchange(fd_, -1);
  // Linux releases the descriptor even when close fails, so retrying on EINTR would be wrong.
  return ::close(fd) == 0 ? 0 : errno;
}

Result<std::unique_ptr<FileByteStream>> FileByteStream::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::IoError("cannot open '" + path + "': " + ErrnoText(errno));
  // Sequential scans of large logs: ask for aggressive read-ahead. Only advice, so ignore
  // failures (e.g. on pipes).
  (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::make_unique<FileByteStream>(path, std::move(fd));
}

Result<size_t> FileByteStream::Read(char* buf, size_t n) {
  while (true) {
    const ssize_t got = ::read(fd_.get(), buf, n);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno == EINTR) continue;
    return Status::IoError("cannot read '" + path_ + "': " + ErrnoText(errno));
  }
}

int WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

}  // namespace runnel
