#include "io/posix_file.h"

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
