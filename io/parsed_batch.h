// ParsedBatch: records of a static file source parsed on a reader thread, in input order,
// with what the engine thread needs to emit them as if it had parsed them itself: event
// times, where each record ends in its file (restart positions), rejects with their lines and
// reasons, and how the chunk the batch belongs to starts or ends. Internal to io/.
// Threading: filled by one reader thread, then handed whole to the engine thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/file_source_position.h"
#include "runtime/status.h"
#include "runtime/time.h"
#include "runtime/value.h"

namespace runnel {

// Lines are counted from the start of the batch's chunk (1: its first line); the engine thread
// adds the file line where the chunk starts, known once the chunks before it are read.
struct ParsedRecord {
  Timestamp time = 0;
  uint64_t end_offset = 0;  // file offset just past the record (or rejected line)
  uint64_t next_line = 0;   // chunk line just past it
  int32_t reject = -1;      // index into ParsedBatch::rejects; -1: a record, in rows[i]
};

struct ParsedReject {
  uint64_t line = 0;  // chunk line where the rejected record starts
  std::string reason;
};

struct ParsedBatch {
  enum class End {
    kNone,   // more batches of the same chunk follow
    kChunk,  // the chunk is read whole; `newlines` line breaks were in it
    kError,  // the chunk failed (its file cannot be opened or read): `status`
    kInput,  // no more input at all (the reader's last batch; holds no records)
  };

  // The first batch of a file's first chunk: the engine thread moves on to files[file],
  // read from `position` (path, identity, header size, start offset and line).
  bool opens_file = false;
  size_t file = 0;
  FilePosition position;

  // records[i] is rows[i] or a reject; rows may hold more (unused) rows kept for reuse.
  std::vector<ParsedRecord> records;
  std::vector<Row> rows;
  std::vector<ParsedReject> rejects;

  End end = End::kNone;
  uint64_t newlines = 0;
  Status status;

  // Empties the batch for reuse, keeping the rows' storage.
  void Clear() {
    opens_file = false;
    records.clear();
    rejects.clear();
    end = End::kNone;
    newlines = 0;
    status = Status::Ok();
  }
};

}  // namespace runnel
