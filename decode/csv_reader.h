// CsvReader: splits an RFC 4180 byte stream into records of fields. Comma separator,
// double-quoted fields with "" escapes that may hold commas and line breaks, CRLF or LF line
// endings, a UTF-8 byte order mark at the start skipped, empty lines skipped. Fields are
// views into the reader's buffer (quoted fields are unescaped in place), valid until the next
// call. Reads the stream in big chunks and never holds more than about one chunk plus the
// longest record. Threading: one thread at a time.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "decode/byte_stream.h"
#include "decode/input_buffer.h"
#include "runtime/status.h"

namespace runnel {

struct CsvField {
  std::string_view text;  // unescaped
  bool quoted = false;    // `""` (quoted, empty) is an empty string; an empty field is null
};

struct CsvRecord {
  std::vector<CsvField> fields;
  uint64_t line = 0;      // 1-based line where the record starts
  uint64_t offset = 0;    // byte offset where the record starts
  std::string_view error; // set for kMalformed: why the record is unusable
};

enum class ReadOutcome {
  kRecord,     // *record holds the next record
  kMalformed,  // a record that breaks the quoting rules; record->line and ->error say where/why
  kNeedMore,   // the stream has no complete record yet (only when the input is not final)
  kEnd,        // the input is read whole
};

class CsvReader {
 public:
  // `stream` must outlive the reader. With `final_input` the end of the stream ends the last
  // record even without a line break; otherwise (a growing file) an unterminated last line
  // waits for more bytes (kNeedMore).
  explicit CsvReader(ByteStream* stream, bool final_input = true,
                     size_t chunk = InputBuffer::kDefaultChunk);

  // I/O errors of the stream are returned as a Status.
  Result<ReadOutcome> Next(CsvRecord* record);

  // Offset just past the last record returned (where reading would resume).
  uint64_t offset() const { return buffer_.offset(); }

 private:
  // Splits a record without quotes in [p, line_end) on commas.
  void SplitPlain(char* p, char* line_end, CsvRecord* record);
  // Parses a record with quotes starting at p. Returns the bytes it spans including its line
  // break, or 0 when the buffer ends before the record does.
  size_t ParseQuoted(char* p, char* e, bool at_eof, CsvRecord* record);

  InputBuffer buffer_;
  bool final_input_;
  bool at_start_ = true;
  uint64_t line_ = 1;
};

}  // namespace runnel
