#include "io/file_follower.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "io/file_list.h"
#include "io/posix_file.h"

namespace runnel {

namespace {

// A file read from `start` on, with `prefix` (a CSV header) served first, so that a reader
// reopened in the middle of a file sees a header again. Counts what comes from the file: the
// follower turns stream offsets and line numbers back into file ones.
class FollowStream final : public ByteStream {
 public:
  FollowStream(UniqueFd fd, std::string path, std::string prefix, uint64_t start)
      : fd_(std::move(fd)), path_(std::move(path)), prefix_(std::move(prefix)), start_(start) {}

  Result<size_t> Read(char* buf, size_t n) override {
    if (prefix_pos_ < prefix_.size()) {
      const size_t count = std::min(n, prefix_.size() - prefix_pos_);
      std::memcpy(buf, prefix_.data() + prefix_pos_, count);
      prefix_pos_ += count;
      return count;
    }
    while (true) {
      const ssize_t got = ::read(fd_.get(), buf, n);
      if (got >= 0) {
        fd_bytes_ += static_cast<uint64_t>(got);
        newlines_ += static_cast<uint64_t>(std::count(buf, buf + got, '\n'));
        return static_cast<size_t>(got);
      }
      if (errno == EINTR) continue;
      return Status::IoError("cannot read '" + path_ + "': " + ErrnoText(errno));
    }
  }

  int fd() const { return fd_.get(); }
  size_t prefix_size() const { return prefix_.size(); }
  uint64_t start() const { return start_; }
  uint64_t fd_bytes() const { return fd_bytes_; }  // read from the file, after start()
  uint64_t newlines() const { return newlines_; }  // line breaks among them

 private:
  UniqueFd fd_;
  std::string path_;
  std::string prefix_;
  size_t prefix_pos_ = 0;
  uint64_t start_;
  uint64_t fd_bytes_ = 0;
  uint64_t newlines_ = 0;
};

// Clock time since `since`. A clock that went backwards (an NTP step at boot) counts as a
// long time, so that nothing waits for the wall clock to catch up with an old reading.
Duration Since(Timestamp now, Timestamp since) {
  if (since == kMinTime || now < since) return kMaxTime;
  return now - since;
}

uint64_t CountNewlines(const std::string& text) {
  return static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

struct FileFollower::Followed {
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
  uint64_t order = 0;                        // opening order: breaks ties between equal paths
  std::unique_ptr<RecordFileReader> reader;  // null while parked (or ignored)
  FollowStream* stream = nullptr;            // owned by reader
  bool finishing = false;  // gone from the match: read to its current end, then dropped
  bool ignored = false;    // its header does not fit the declared fields
  // Where the current reader started, or where a parked file resumes.
  uint64_t position = 0;   // file offset
  uint64_t line_base = 1;  // file line at `position`
  std::string header;      // CSV header bytes, replayed when reopening at position > 0
  uint64_t header_newlines = 0;
  Timestamp last_data = 0;  // clock time of the last record

  uint64_t ReadEnd() const { return stream->start() + stream->fd_bytes(); }
  // Everything read is consumed: no partial line is pending.
  bool AtBoundary() const { return reader->offset() == stream->prefix_size() + stream->fd_bytes(); }
  uint64_t FileLine(uint64_t stream_line) const {
    return line_base + stream_line - 1 - header_newlines;
  }
  void Restart() {
    reader.reset();
    stream = nullptr;
    position = 0;
    line_base = 1;
    header.clear();
    header_newlines = 0;
  }
};

FileFollower::FileFollower(Options options) : options_(std::move(options)) {}
FileFollower::~FileFollower() = default;

Result<std::unique_ptr<FileFollower>> FileFollower::Open(Options options) {
  std::unique_ptr<FileFollower> follower(new FileFollower(std::move(options)));
  Result<bool> scanned = follower->Scan(/*initial=*/true);
  if (!scanned.ok()) return scanned.status();
  if (follower->files_.empty()) {
    follower->options_.logger->Info(follower->options_.prefix + ": nothing matches '" +
                                    follower->options_.path + "' yet; waiting for files");
  }
  return follower;
}

size_t FileFollower::files() const { return files_.size(); }

size_t FileFollower::open_files() const {
  return static_cast<size_t>(std::count_if(files_.begin(), files_.end(),
                                           [](const auto& f) { return f->reader != nullptr; }));
}

RecordFileReader::Outcome FileFollower::Next(Row* row, Timestamp* time, std::string* reason) {
  using Outcome = RecordFileReader::Outcome;
  const Timestamp now = options_.clock->NowMillis();
  const auto scan = [&]() {
    Result<bool> changed = Scan(/*initial=*/false);
    if (!changed.ok()) status_ = changed.status();
    return changed;
  };
  if (Since(now, last_scan_) >= options_.busy_rescan_interval) {
    if (!scan().ok()) return Outcome::kError;
  }
  if (Since(now, idle_since_) < options_.rescan_interval) return Outcome::kNeedMore;
  for (int pass = 0; pass < 2; ++pass) {
    // Each file is read to its current end before the next one (from where the last call
    // stopped), so what exists is read in name order; a sweep that finds nothing anywhere
    // ends the pass.
    size_t quiet = 0;
    while (quiet < files_.size()) {
      if (cursor_ >= files_.size()) cursor_ = 0;
      Followed& f = *files_[cursor_];
      if (f.reader != nullptr) {
        const Outcome outcome = f.reader->Next(row, time, reason);
        switch (outcome) {
          case Outcome::kRecord:
          case Outcome::kRejected:
            f.last_data = now;
            idle_since_ = kMinTime;
            file_ = f.path;
            line_ = f.FileLine(f.reader->line());
            return outcome;
          case Outcome::kError: {
            const Status& error = f.reader->status();
            if (error.code() != StatusCode::kInvalid) {
              status_ = error;
              return Outcome::kError;
            }
            // A header that lacks a declared field: a stray file must not stop a gateway.
            options_.logger->Warning(options_.prefix + ": " + error.message() +
                                     "; ignoring this file");
            f.reader.reset();
            f.stream = nullptr;
            f.ignored = true;
            break;
          }
          case Outcome::kNeedMore:
          case Outcome::kEnd:
            if (f.finishing) {
              if (!f.AtBoundary()) {
                options_.logger->Warning(options_.prefix + ": '" + f.path +
                                         "' ended with an incomplete last line; skipped it");
              }
              Drop(cursor_);
              continue;
            }
            break;
        }
      }
      ++quiet;
      ++cursor_;
    }
    if (pass > 0 || Since(now, last_scan_) < options_.rescan_interval) break;
    Result<bool> changed = scan();
    if (!changed.ok()) return Outcome::kError;
    if (!*changed) break;
  }
  idle_since_ = now;
  return Outcome::kNeedMore;
}

Result<bool> FileFollower::Scan(bool initial) {
  const Timestamp now = options_.clock->NowMillis();
  last_scan_ = now;
  std::vector<std::string> paths;
  Result<std::vector<std::string>> listed = ResolveInputFiles(options_.path, options_.extensions);
  if (listed.ok()) {
    paths = std::move(listed).value();
    last_scan_error_.clear();
  } else if (listed.status().code() != StatusCode::kInvalid) {
    // kInvalid means "nothing matches (yet)", which is normal here; anything else (a
    // directory we may not list) is worth saying once, and may pass.
    if (initial) return listed.status();
    if (listed.status().message() != last_scan_error_) {
      last_scan_error_ = listed.status().message();
      options_.logger->Warning(options_.prefix + ": " + last_scan_error_);
    }
    return false;
  }

  struct Entry {
    std::string path;
    struct stat st;
    bool claimed = false;
  };
  std::vector<Entry> entries;
  for (std::string& path : paths) {
    Entry entry{std::move(path), {}, false};
    // stat, not lstat: a symlink is followed to the file it names, as tail -F does.
    if (::stat(entry.path.c_str(), &entry.st) == 0 && S_ISREG(entry.st.st_mode)) {
      entries.push_back(std::move(entry));
    }
  }

  bool changed = false;
  bool resort = false;
  const std::string& prefix = options_.prefix;
  for (size_t i = 0; i < files_.size();) {
    Followed& f = *files_[i];
    auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) {
      return !e.claimed && e.st.st_dev == f.dev && e.st.st_ino == f.ino;
    });
    if (it == entries.end()) {
      if (f.finishing) {
        ++i;
      } else if (f.reader != nullptr) {
        // Rotated away or deleted: what was appended before is still ours (the open
        // descriptor reads it); then the file goes.
        options_.logger->Info(prefix + ": '" + f.path +
                              "' was rotated or removed; reading it to its end");
        f.finishing = true;
        changed = true;
        ++i;
      } else {
        Drop(i);
      }
      continue;
    }
    it->claimed = true;
    ++i;
    if (it->path != f.path) {  // renamed, still matched: the same file goes on
      f.path = it->path;
      resort = true;
    }
    f.finishing = false;
    if (f.ignored) continue;
    if (f.reader != nullptr) {
      struct stat st;
      if (::fstat(f.stream->fd(), &st) == 0 && static_cast<uint64_t>(st.st_size) < f.ReadEnd()) {
        options_.logger->Warning(prefix + ": '" + f.path + "' was truncated to " +
                                 std::to_string(st.st_size) + " bytes after " +
                                 std::to_string(f.ReadEnd()) +
                                 " were read; reading it again from the start");
        f.Restart();
        RUNNEL_RETURN_IF_ERROR(OpenAt(f));
        changed = true;
      } else if (now < f.last_data) {
        f.last_data = now;  // the clock went back: the idle time starts again
      } else if (f.AtBoundary() && now - f.last_data >= options_.park_after) {
        Park(f);
      }
    } else {
      const uint64_t size = static_cast<uint64_t>(it->st.st_size);
      if (size < f.position) {
        options_.logger->Warning(prefix + ": '" + f.path + "' was truncated to " +
                                 std::to_string(size) + " bytes after " +
                                 std::to_string(f.position) +
                                 " were read; reading it again from the start");
        f.Restart();
      }
      if (size > f.position) {
        RUNNEL_RETURN_IF_ERROR(OpenAt(f));
        changed = true;
      }
    }
  }

  for (Entry& entry : entries) {
    if (entry.claimed) continue;
    auto f = std::make_unique<Followed>();
    f->path = entry.path;
    f->order = next_order_++;
    Status opened = OpenAt(*f);
    if (!opened.ok()) {
      if (initial) return opened;
      // Remembered as ignored so that the warning comes once, not every scan.
      options_.logger->Warning(prefix + ": " + opened.message() + "; ignoring this file");
      f->ignored = true;
      f->dev = entry.st.st_dev;
      f->ino = entry.st.st_ino;
    } else if (!initial) {
      options_.logger->Info(prefix + ": following new file '" + f->path + "'");
    }
    files_.push_back(std::move(f));
    changed = true;
  }
  if (changed || resort) Sort();
  return changed;
}

Status FileFollower::OpenAt(Followed& f) {
  UniqueFd fd(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::IoError("cannot open '" + f.path + "': " + ErrnoText(errno));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return Status::IoError("cannot stat '" + f.path + "': " + ErrnoText(errno));
  }
  if (f.ino == 0) {
    f.dev = st.st_dev;
    f.ino = st.st_ino;
  } else if (st.st_dev != f.dev || st.st_ino != f.ino) {
    // The path was replaced between the listing and the open: the next scan sorts it out.
    return Status::Ok();
  }
  if (f.position > 0 && ::lseek(fd.get(), static_cast<off_t>(f.position), SEEK_SET) < 0) {
    return Status::IoError("cannot seek in '" + f.path + "': " + ErrnoText(errno));
  }
  auto stream = std::make_unique<FollowStream>(std::move(fd), f.path, f.header, f.position);
  FollowStream* raw = stream.get();
  RUNNEL_ASSIGN_OR_RETURN(f.reader, OpenRecordStream(std::move(stream), f.path, options_.format,
                                                     options_.layout, /*final_input=*/false));
  f.stream = raw;
  f.last_data = options_.clock->NowMillis();
  return Status::Ok();
}

void FileFollower::Park(Followed& f) {
  if (options_.format == FileFormat::kCsv && f.header.empty() && f.reader->header_end() > 0) {
    // Read from the start, so the header is the file's first header_end() bytes.
    std::string header(f.reader->header_end(), '\0');
    if (::pread(f.stream->fd(), header.data(), header.size(), 0) !=
        static_cast<ssize_t>(header.size())) {
      return;  // stays open; parking only saves resources
    }
    f.header = std::move(header);
    f.header_newlines = CountNewlines(f.header);
  }
  f.line_base += f.stream->newlines();
  f.position = f.ReadEnd();
  f.reader.reset();
  f.stream = nullptr;
}

void FileFollower::Drop(size_t index) {
  files_.erase(files_.begin() + static_cast<std::ptrdiff_t>(index));
  if (index < cursor_) --cursor_;
}

void FileFollower::Sort() {
  std::sort(files_.begin(), files_.end(), [](const auto& a, const auto& b) {
    return a->path != b->path ? a->path < b->path : a->order < b->order;
  });
  cursor_ = 0;
}

}  // namespace runnel
