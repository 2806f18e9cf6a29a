// LineReader: splits a byte stream into lines (LF or CRLF) for line-oriented formats such as
// JSON Lines. Skips a UTF-8 byte order mark at the start. Lines are views into the reader's
// buffer, valid until the next call; the buffer keeps InputBuffer::kPadding readable bytes
// after every line. Threading: one thread at a time.
#pragma once

#include <cstdint>
#include <string_view>

#include "decode/byte_stream.h"
#include "decode/csv_reader.h"
#include "decode/input_buffer.h"
#include "runtime/status.h"

namespace runnel {

class LineReader {
 public:
  // See CsvReader for `final_input`.
  explicit LineReader(ByteStream* stream, bool final_input = true,
                      size_t chunk = InputBuffer::kDefaultChunk);

  // kRecord: *line holds the next line without its line break, *line_number its 1-based
  // number. Never returns kMalformed; after kError, status() says what failed.
  ReadOutcome Next(std::string_view* line, uint64_t* line_number);
  const Status& status() const { return status_; }

  uint64_t offset() const { return buffer_.offset(); }

 private:
  InputBuffer buffer_;
  bool final_input_;
  bool at_start_ = true;
  uint64_t line_ = 1;
  Status status_;
};

}  // namespace runnel
