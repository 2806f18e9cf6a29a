#include "io/posix_file.h"

#include <fcntl.h>
#include <sys/stat.h>
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

Result<InputFile> OpenInputFile(const std::string& path) {
  InputFile file;
  file.fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.fd.valid()) return Status::IoError("cannot open '" + path + "': " + ErrnoText(errno));
  struct stat st;
  if (::fstat(file.fd.get(), &st) != 0) {
    return Status::IoError("cannot stat '" + path + "': " + ErrnoText(errno));
  }
  file.device = static_cast<uint64_t>(st.st_dev);
  file.inode = static_cast<uint64_t>(st.st_ino);
  file.size = static_cast<uint64_t>(st.st_size);
  return file;
}

Result<UniqueFd> DuplicateFd(int fd, const std::string& path) {
  UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!copy.valid()) {
    return Status::IoError("cannot open '" + path + "' again: " + ErrnoText(errno) +
                           " (too many open files? raise the limit, or set [runtime] "
                           "reader_threads = 0)");
  }
  return copy;
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
