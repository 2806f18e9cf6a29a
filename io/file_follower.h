// FileFollower: the follow mode of FileSource, `tail -F` over a file, a directory or a glob.
// It reads what exists (files in name order), then lines as they are appended and files as
// they appear. A file whose inode leaves the match (rotated away, deleted) is read to its
// current end and dropped; a file that became shorter than what was read (truncated) is read
// again from the start; an unterminated last line waits for its line break. A file idle for a
// while is closed ("parked") and reopened where it stopped once it grows, so a directory of
// many old logs holds neither descriptors nor buffers. Idle calls cost nothing until the next
// scan is due (one stat per file every rescan interval). Internal to io/.
// Threading: engine thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "io/file_source.h"
#include "io/file_source_position.h"
#include "io/record_file_reader.h"
#include "runtime/clock.h"
#include "runtime/logger.h"

namespace runnel {

class FileFollower {
 public:
  struct Options {
    std::string path;  // file, directory or glob
    FileFormat format = FileFormat::kCsv;
    std::vector<std::string> extensions;   // kept in directory listings (".csv")
    const RecordLayout* layout = nullptr;  // must outlive the follower
    const Clock* clock = nullptr;          // must outlive the follower
    Logger* logger = nullptr;              // must outlive the follower
    std::string prefix;                    // "source 'env'", for log messages
    // Nothing new anywhere: look again (read, stat, list) after this long.
    Duration rescan_interval = 100;
    // While data flows, still look for new, rotated and truncated files this often.
    Duration busy_rescan_interval = 1'000;
    // A file with nothing new for this long is closed until it grows.
    Duration park_after = 10'000;
  };

  // Scans the path once and opens what matches; no match is fine (the files may come later).
  // Errors: a matched CSV file whose header lacks a declared field, an unreadable file.
  static Result<std::unique_ptr<FileFollower>> Open(Options options);
  ~FileFollower();
  FileFollower(const FileFollower&) = delete;
  FileFollower& operator=(const FileFollower&) = delete;

  // kRecord, kRejected: as RecordFileReader (file() and line() say where). kNeedMore: nothing
  // new right now. kError: status() says what failed. Never kEnd.
  RecordFileReader::Outcome Next(Row* row, Timestamp* time, std::string* reason);

  const std::string& file() const { return file_; }  // of the last record returned
  uint64_t line() const { return line_; }            // its line in that file
  const Status& status() const { return status_; }

  // Where each followed file stands after the records returned so far, and which file is
  // read next: fills position->followed and position->cursor.
  void SavePosition(FileSourcePosition* position) const;
  // Right after Open (whose scan opened every match at its start): a file of the position
  // found by device and inode, also under a new name, resumes where it stopped, or from its
  // start when it is now shorter than that (truncated: a warning). One that left the match is
  // looked for in its old directory (rotated, e.g. app.log -> app.log.1), read to its end and
  // dropped; one found nowhere is reported gone. A match not in the position is new: read
  // from its start.
  Status RestorePosition(const FileSourcePosition& position);

  size_t files() const;       // files being followed
  size_t open_files() const;  // of which open (not parked)

 private:
  struct Followed;
  explicit FileFollower(Options options);

  // Lists the path, matches the result with the followed files by inode, and acts on renames,
  // rotations, truncations, growth of parked files and idle files. `initial`: the first scan.
  // Returns whether anything new may be readable.
  Result<bool> Scan(bool initial);
  // Opens `f` at f.position (replaying its header there), or from the start when position is 0.
  Status OpenAt(Followed& f);
  void Park(Followed& f);
  void Drop(size_t index);
  void Sort();

  Options options_;
  std::vector<std::unique_ptr<Followed>> files_;  // by (path, order)
  uint64_t next_order_ = 0;
  size_t cursor_ = 0;                // file the next read starts with
  Timestamp idle_since_ = kMinTime;  // when a sweep last found nothing new anywhere
  Timestamp last_scan_ = kMinTime;
  std::string last_scan_error_;  // logged once, not every scan
  std::string file_;
  uint64_t line_ = 0;
  Status status_;
};

}  // namespace runnel
