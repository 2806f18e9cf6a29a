// FileSourcePosition: where a file source stands in its input after the records it emitted,
// as saved with every committed step (SPEC §6) and given back to a restarted source, and its
// versioned byte encoding. Internal to io/. Threading: a plain value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/file_source.h"
#include "runtime/status.h"
#include "runtime/time.h"

namespace runnel {

// Where reading one file stands.
struct FilePosition {
  std::string path;
  uint64_t device = 0;  // with inode: the same file, also when renamed
  uint64_t inode = 0;
  uint64_t offset = 0;  // just past the last record emitted (or skipped)
  uint64_t line = 1;    // file line at offset, for messages
  // CSV: the header's size at the file's start, served again to a reader resumed mid-file.
  uint64_t header_size = 0;

  bool operator==(const FilePosition&) const = default;
};

struct FileSourcePosition {
  FileSourceMode mode = FileSourceMode::kStatic;
  uint64_t records_read = 0;
  uint64_t records_rejected = 0;
  Timestamp max_time = kMinTime;  // keeps the watermark from going back after a restart
  // static and replay: the input was read whole (a restored source still reads what was
  // added since).
  bool finished = false;
  // static and replay: the file being read (or read last) and how many files sorted before
  // it.
  FilePosition current;
  uint64_t files_before = 0;
  // follow: every followed file, and the index of the one read next (== followed.size():
  // none).
  std::vector<FilePosition> followed;
  uint64_t cursor = 0;

  bool operator==(const FileSourcePosition&) const = default;
};

std::string EncodeFileSourcePosition(const FileSourcePosition& position);
// Corruption saying what is wrong with `bytes` (the caller names the source).
Result<FileSourcePosition> DecodeFileSourcePosition(std::string_view bytes);

}  // namespace runnel
