// CsvReader: splits an RFC 4180 byte stream into records of fields. Comma separator,
// double-quoted fields with "" escapes that may hold commas and line breaks, CRLF or LF line
// endings, a UTF-8 byte order mark at the start skipped, empty lines skipped. Fields are
// views into the reader's buffer (quoted fields are unescaped in place), valid until the next
// call. Reads the stream in big chunks and never holds more than about one chunk plus the
// longest record. Threading: one thread at a time.
#pragma once

#include <cstdint>
#include <span>
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

// One record; the reader reuses its storage, so reading allocates nothing per record.
class CsvRecord {
 public:
  std::span<const CsvField> fields() const { return {fields_.data(), count_}; }
  size_t size() const { return count_; }
  const CsvField& field(size_t i) const { return fields_[i]; }
  uint64_t line() const { return line_; }            // 1-based line where the record starts
  uint64_t offset() const { return offset_; }        // byte offset where the record starts
  std::string_view error() const { return error_; }  // kMalformed: why the record is unusable

 private:
  friend class CsvReader;
  std::vector<CsvField> fields_;  // the first count_ are this record's
  size_t count_ = 0;
  uint64_t line_ = 0;
  uint64_t offset_ = 0;
  std::string_view error_;
};

// Per-record results are a plain enum, not a Result<>: readers run once per record on the hot
// path, and an I/O error (kError) is rare enough to be fetched separately with status().
enum class ReadOutcome {
  kRecord,     // *record holds the next record
  kMalformed,  // a record that breaks the quoting rules; its line() and error() say where/why
  kNeedMore,   // the stream has no complete record yet (only when the input is not final)
  kEnd,        // the input is read whole
  kError,      // the stream failed; status() says how
};

class CsvReader {
 public:
  // `stream` must outlive the reader. With `final_input` the end of the stream ends the last
  // record even without a line break; otherwise (a growing file) an unterminated last line
  // waits for more bytes (kNeedMore).
  explicit CsvReader(ByteStream* stream, bool final_input = true,
                     size_t chunk = InputBuffer::kDefaultChunk);

  ReadOutcome Next(CsvRecord* record);
  // The stream's error after kError.
  const Status& status() const { return status_; }

  // Offset just past the last record returned (where reading would resume).
  uint64_t offset() const { return buffer_.offset(); }

 private:
  // Splits the line [p, line_end) on commas; false (and no record) when a field starts with a
  // quote, which needs ParseQuoted. A quote inside an unquoted field is a literal.
  bool SplitPlain(char* p, char* line_end, CsvRecord* record);
  // Parses a record with quotes starting at p. Returns the bytes it spans including its line
  // break, or 0 when the buffer ends before the record does.
  size_t ParseQuoted(char* p, char* e, bool at_eof, CsvRecord* record);

  // Reads more into the buffer; false (and status_ set) on an I/O error.
  bool Fill(bool* at_eof);

  InputBuffer buffer_;
  bool final_input_;
  bool at_start_ = true;
  uint64_t line_ = 1;
  Status status_;
};

}  // namespace runnel
