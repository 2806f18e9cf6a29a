#include "io/file_follower.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "io/file_list.h"
#include "io/posix_file.h"
#include "io/resume_stream.h"

namespace runnel {

namespace {

// A regular file in `path`'s directory that is the file `device`/`inode` (a rotation renames
// within the directory), or empty.
std::string FindByInode(const std::string& path, uint64_t device, uint64_t inode) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = fs::path(path).parent_path();
  for (fs::directory_iterator it(dir.empty() ? fs::path(".") : dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    struct stat st;
    if (::stat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<uint64_t>(st.st_dev) == device && static_cast<uint64_t>(st.st_ino) == inode) {
      return it->path().string();
    }
  }
  return {};
}

}  // namespace

struct FileFollower::Followed {
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
  uint64_t order = 0;                        // opening order: breaks ties between equal paths
  std::unique_ptr<RecordFileReader> reader;  // null while parked (or ignored)
  ResumeStream* stream = nullptr;            // owned by reader
  bool finishing = false;  // gone from the match: read to its current end, then dropped
  bool ignored = false;    // its header does not fit the declared fields
  // Where the current reader started, or where a parked file resumes.
  uint64_t position = 0;    // file offset
  uint64_t line_base = 1;   // file line at `position`
  std::string header;       // CSV header bytes, replayed when reopening at position > 0
  Timestamp last_data = 0;  // clock time of the last record
  // Just past the last record returned: what a saved position resumes from.
  uint64_t done_offset = 0;
  uint64_t done_line = 1;

  uint64_t ReadEnd() const { return stream->start() + stream->fd_bytes(); }
  // Everything read is consumed: no partial line is pending.
  bool AtBoundary() const { return reader->offset() == stream->prefix_size() + stream->fd_bytes(); }
  void Restart() {
    reader.reset();
    stream = nullptr;
    position = 0;
    line_base = 1;
    header.clear();
    done_offset = 0;
    done_line = 1;
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

void FileFollower::SavePosition(FileSourcePosition* position) const {
  position->followed.clear();
  position->cursor = 0;
  // Next() wraps a cursor past the end to the first file.
  const size_t cursor = cursor_ < files_.size() ? cursor_ : 0;
  for (size_t i = 0; i < files_.size(); ++i) {
    const Followed& f = *files_[i];
    if (f.ignored) continue;
    if (i < cursor) ++position->cursor;
    FilePosition file;
    file.path = f.path;
    file.device = static_cast<uint64_t>(f.dev);
    file.inode = static_cast<uint64_t>(f.ino);
    file.offset = f.done_offset;
    file.line = f.done_line;
    // A reader opened at the file's start knows the header; one resumed mid-file was given it.
    file.header_size = !f.header.empty()     ? f.header.size()
                       : f.reader != nullptr ? f.reader->header_end()
                                             : 0;
    position->followed.push_back(std::move(file));
  }
}

Status FileFollower::RestorePosition(const FileSourcePosition& position) {
  const std::string& prefix = options_.prefix;
  std::vector<Followed*> restored(position.followed.size(), nullptr);
  for (size_t i = 0; i < position.followed.size(); ++i) {
    const FilePosition& saved = position.followed[i];
    auto it = std::find_if(files_.begin(), files_.end(), [&](const auto& f) {
      return static_cast<uint64_t>(f->dev) == saved.device &&
             static_cast<uint64_t>(f->ino) == saved.inode;
    });
    Followed* f = nullptr;
    if (it != files_.end()) {
      f = it->get();
      if (f->ignored) continue;
      if (f->path != saved.path) {
        options_.logger->Info(prefix + ": '" + saved.path + "' is now '" + f->path +
                              "'; reading on where it stopped");
      }
    } else {
      const std::string moved = FindByInode(saved.path, saved.device, saved.inode);
      if (moved.empty()) {
        options_.logger->Warning(prefix + ": '" + saved.path +
                                 "' is gone since the last run; whatever was written to it "
                                 "after byte " +
                                 std::to_string(saved.offset) + " is lost");
        continue;
      }
      options_.logger->Info(prefix + ": '" + saved.path + "' was rotated to '" + moved +
                            "' while stopped; reading its rest");
      auto added = std::make_unique<Followed>();
      added->path = moved;
      added->dev = static_cast<dev_t>(saved.device);
      added->ino = static_cast<ino_t>(saved.inode);
      added->order = next_order_++;
      added->finishing = true;
      f = added.get();
      files_.push_back(std::move(added));
    }
    struct stat st;
    if (::stat(f->path.c_str(), &st) != 0) {
      return Status::IoError("cannot stat '" + f->path + "': " + ErrnoText(errno));
    }
    if (static_cast<uint64_t>(st.st_size) < saved.offset) {
      options_.logger->Warning(prefix + ": '" + f->path + "' was truncated to " +
                               std::to_string(st.st_size) + " bytes while stopped, after " +
                               std::to_string(saved.offset) +
                               " were read; reading it again from the start");
      f->Restart();
    } else {
      f->reader.reset();
      f->stream = nullptr;
      f->position = saved.offset;
      f->line_base = saved.line;
      f->header.clear();
      if (saved.offset > 0 && saved.header_size > 0) {
        UniqueFd fd(::open(f->path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd.valid()) {
          return Status::IoError("cannot open '" + f->path + "': " + ErrnoText(errno));
        }
        RUNNEL_ASSIGN_OR_RETURN(f->header, ReadFileHead(fd.get(), f->path, saved.header_size));
      }
    }
    RUNNEL_RETURN_IF_ERROR(OpenAt(*f));
    restored[i] = f;
  }
  Sort();
  if (position.cursor < restored.size() && restored[position.cursor] != nullptr) {
    const Followed* next = restored[position.cursor];
    const auto it =
        std::find_if(files_.begin(), files_.end(), [&](const auto& f) { return f.get() == next; });
    cursor_ = static_cast<size_t>(it - files_.begin());
  }
  return Status::Ok();
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
  if (ClockElapsed(now, last_scan_) >= options_.busy_rescan_interval) {
    if (!scan().ok()) return Outcome::kError;
  }
  if (ClockElapsed(now, idle_since_) < options_.rescan_interval) return Outcome::kNeedMore;
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
            line_ = f.stream->FileLine(f.reader->line());
            f.done_offset = f.stream->FileOffset(f.reader->offset());
            f.done_line = f.stream->FileLine(f.reader->next_line());
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
    if (pass > 0 || ClockElapsed(now, last_scan_) < options_.rescan_interval) break;
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
  auto stream =
      std::make_unique<ResumeStream>(std::move(fd), f.path, f.header, f.position, f.line_base);
  ResumeStream* raw = stream.get();
  RUNNEL_ASSIGN_OR_RETURN(f.reader, OpenRecordStream(std::move(stream), f.path, options_.format,
                                                     options_.layout, /*final_input=*/false));
  f.stream = raw;
  f.last_data = options_.clock->NowMillis();
  f.done_offset = f.position;
  f.done_line = f.line_base;
  return Status::Ok();
}

void FileFollower::Park(Followed& f) {
  if (options_.format == FileFormat::kCsv && f.header.empty() && f.reader->header_end() > 0) {
    // Read from the start, so the header is the file's first header_end() bytes.
    Result<std::string> header = ReadFileHead(f.stream->fd(), f.path, f.reader->header_end());
    if (!header.ok()) return;  // stays open; parking only saves resources
    f.header = std::move(header).value();
  }
  f.line_base += f.stream->newlines();
  f.position = f.ReadEnd();
  f.done_offset = f.position;
  f.done_line = f.line_base;
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
