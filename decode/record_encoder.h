// Encoders that append one Value in the text forms Runnel writes: a CSV field (RFC 4180) and a
// JSON value (RFC 8259), and a whole change as a JSON object. All are what the decoders in
// this module read back to the same Value. Pure functions and immutable objects; they only
// append to `out`, so callers reuse one buffer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/schema.h"
#include "runtime/value.h"

namespace runnel {

// null -> empty field; strings are quoted when they are empty (so "" reads back as the empty
// string, not null) or hold a comma, quote, CR or LF, or start or end with a space (tools
// that trim would lose it); floats in shortest round-trip form; bools true/false.
void AppendCsvField(std::string& out, const Value& value);
void AppendCsvString(std::string& out, std::string_view text);

// null, true/false, integers, floats in shortest round-trip form (non-finite floats, which a
// pipeline never holds, as null), and strings escaped per RFC 8259.
void AppendJsonValue(std::string& out, const Value& value);
// A quoted JSON string: '"' and '\' escaped, control characters as \n, \t, ... or \u00XX.
void AppendJsonString(std::string& out, std::string_view text);

// One change of a view as a JSON object: the schema's columns in order, then "diff":
// {"device":"a","n":2,"diff":1}. What JSONL file sinks write per line and MQTT sinks publish.
// A row shorter than the schema (which operators never emit) gets null for the missing columns.
class JsonChangeEncoder {
 public:
  // Without `with_diff`, plain records (`runnel export`).
  explicit JsonChangeEncoder(const Schema& schema, bool with_diff = true);
  // Appends the object, without a line break.
  void Append(std::string& out, const Row& row, int64_t diff) const;

 private:
  std::vector<std::string> keys_;  // each column's `{"name":` or `,"name":`, built once
  std::string diff_key_;
  bool with_diff_;
};

}  // namespace runnel
