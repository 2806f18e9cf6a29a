#include "io/file_chunker.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>

namespace runnel {

namespace {

// Bytes read at a time to look for quotes and line breaks.
constexpr size_t kScanBlock = 256 * 1024;
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

}  // namespace

FileChunker::FileChunker(Options options)
    : options_(std::move(options)), next_file_(options_.first_file), buffer_(kScanBlock) {}

std::optional<FileChunk> FileChunker::Next() {
  if (done_) return std::nullopt;
  FileChunk chunk;
  Status status;
  if (!fd_.valid()) {
    if (next_file_ == options_.files.size()) {
      done_ = true;
      return std::nullopt;
    }
    file_ = next_file_++;
    path_ = options_.files[file_];
    chunk.opens_file = true;
    if (options_.first_fd.valid()) {
      fd_ = std::move(options_.first_fd);
      chunk.position = options_.first_position;
      status = Begin(chunk.position);
    } else {
      status = OpenFile(&chunk.position);
    }
  }
  chunk.file = file_;
  if (status.ok()) {
    chunk.path = path_;
    chunk.start = next_start_;
    chunk.prefix = chunk.start > 0 ? header_ : std::string();
    Result<uint64_t> cut = FindCut(next_start_);
    if (!cut.ok()) {
      status = cut.status();
    } else if (*cut == ResumeStream::kToEnd) {
      chunk.fd = std::move(fd_);  // the file's last chunk: the next call opens the next file
    } else {
      chunk.end = *cut;
      next_start_ = *cut;
      Result<UniqueFd> fd = DuplicateFd(fd_.get(), path_);
      if (fd.ok()) {
        chunk.fd = std::move(fd).value();
      } else {
        status = fd.status();
      }
    }
  }
  if (status.ok()) return chunk;
  done_ = true;
  FileChunk failed;
  failed.file = file_;
  failed.error = status;
  return failed;
}

Status FileChunker::OpenFile(FilePosition* position) {
  RUNNEL_ASSIGN_OR_RETURN(InputFile file, OpenInputFile(path_));
  fd_ = std::move(file.fd);
  position->path = path_;
  position->device = file.device;
  position->inode = file.inode;
  if (options_.format == FileFormat::kCsv) {
    // The same header check as the sequential reader, on the reader it would use.
    RUNNEL_ASSIGN_OR_RETURN(UniqueFd fd, DuplicateFd(fd_.get(), path_));
    RUNNEL_ASSIGN_OR_RETURN(
        std::unique_ptr<RecordFileReader> reader,
        OpenRecordStream(std::make_unique<ResumeStream>(std::move(fd), path_, "", 0, 1), path_,
                         options_.format, options_.layout, /*final_input=*/true));
    position->header_size = reader->header_end();
  }
  return Begin(*position);
}

Status FileChunker::Begin(const FilePosition& position) {
  struct stat st;
  if (::fstat(fd_.get(), &st) != 0) {
    return Status::IoError("cannot stat '" + path_ + "': " + ErrnoText(errno));
  }
  size_ = static_cast<uint64_t>(st.st_size);
  header_size_ = position.header_size;
  header_.clear();
  if (header_size_ > 0) {
    RUNNEL_ASSIGN_OR_RETURN(header_, ReadFileHead(fd_.get(), path_, header_size_));
  }
  next_start_ = position.offset;
  splittable_ = true;
  // Sequential scans of large logs: ask for aggressive read-ahead (only advice).
  (void)::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return Status::Ok();
}

Result<uint64_t> FileChunker::FindCut(uint64_t from) {
  constexpr uint64_t kNone = ResumeStream::kToEnd;
  if (!splittable_) return kNone;
  // The cut is a line break at or after `target` - 1, and never inside the header.
  const uint64_t target = std::max(from + options_.chunk_bytes, header_size_);
  if (target >= size_) return kNone;
  const bool csv = options_.format == FileFormat::kCsv;
  // CSV: `from` (or the header's end) starts a record; every byte from there to the cut
  // must be quote-free for the cut to end a record.
  uint64_t at = csv ? std::max(from, header_size_) : target - 1;
  uint64_t newline_from = target - 1;
  while (at < size_) {
    RUNNEL_ASSIGN_OR_RETURN(const size_t got, ReadAt(at, buffer_.data(), buffer_.size()));
    if (got == 0) return kNone;
    const char* const block = buffer_.data();
    const char* const block_end = block + got;
    const char* newline = nullptr;
    if (at + got > newline_from) {
      const char* p = block + (newline_from > at ? newline_from - at : 0);
      newline = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(block_end - p)));
    }
    const char* const checked_end = newline != nullptr ? newline + 1 : block_end;
    if (csv && std::memchr(block, '"', static_cast<size_t>(checked_end - block)) != nullptr) {
      splittable_ = false;
      return kNone;
    }
    if (newline == nullptr) {
      at += got;
      continue;
    }
    const uint64_t cut = at + static_cast<uint64_t>(newline - block) + 1;
    if (cut >= size_) return kNone;
    char head[kUtf8Bom.size()];
    size_t head_size = std::min<size_t>(sizeof(head), static_cast<size_t>(block_end - newline - 1));
    std::memcpy(head, newline + 1, head_size);
    if (head_size < sizeof(head)) {
      RUNNEL_ASSIGN_OR_RETURN(head_size, ReadAt(cut, head, sizeof(head)));
    }
    if (std::string_view(head, head_size) != kUtf8Bom) return cut;
    at = cut;  // the line after starts with a byte order mark: cut at a later line break
    newline_from = cut;
  }
  return kNone;
}

Result<size_t> FileChunker::ReadAt(uint64_t offset, char* out, size_t n) {
  while (true) {
    const ssize_t got = ::pread(fd_.get(), out, n, static_cast<off_t>(offset));
    if (got >= 0) return static_cast<size_t>(got);
    if (errno != EINTR) return Status::IoError("cannot read '" + path_ + "': " + ErrnoText(errno));
  }
}

}  // namespace runnel
