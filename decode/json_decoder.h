// JsonRecordDecoder: decodes one JSON object (a JSON Lines line; later an MQTT payload) into a
// Row with the given columns, by key. A missing key or null is null; int columns take integral
// numbers (3.0 too) and numeric strings; float columns numbers and numeric strings; bool
// columns true/false; string columns strings, and numbers as their text. Anything else fails
// the whole record. Keys that are no column are ignored. simdjson stays behind this class.
// Threading: one thread at a time (the parser's buffers are reused across calls).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "decode/text_value.h"
#include "runtime/schema.h"
#include "runtime/status.h"
#include "runtime/value.h"

namespace runnel {

class JsonRecordDecoder {
 public:
  JsonRecordDecoder(std::vector<Column> columns, NullValues nulls);
  ~JsonRecordDecoder();
  JsonRecordDecoder(const JsonRecordDecoder&) = delete;
  JsonRecordDecoder& operator=(const JsonRecordDecoder&) = delete;

  // Fills *row (resized to the columns) from `text`. On failure returns Invalid with the
  // reason, e.g. `field 'temp': expected float, found an array`; *row is then unspecified.
  Status Decode(std::string_view text, Row* row);

 private:
  struct Parser;
  std::vector<Column> columns_;
  NullValues nulls_;
  std::unique_ptr<Parser> parser_;
};

}  // namespace runnel
