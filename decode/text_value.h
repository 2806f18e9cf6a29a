// Text to typed Value conversion shared by the CSV reader path, JSON strings and payload
// decoders: "" and the source's null values read as null; ints and floats are parsed with
// std::from_chars (surrounding spaces trimmed, a leading '+' allowed, integral floats such as
// "3.0" accepted for ints); NaN reads as null and infinities are errors, since pipeline floats
// are always finite; bools are true/false/1/0 in any case. Pure functions.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/status.h"
#include "runtime/value.h"

namespace runnel {

// Raw texts a source reads as null besides the empty text (e.g. "NA", "-200").
class NullValues {
 public:
  NullValues() = default;
  explicit NullValues(std::vector<std::string> values) : values_(std::move(values)) {}

  bool Contains(std::string_view text) const {
    for (const std::string& v : values_) {
      if (v == text) return true;
    }
    return false;
  }
  bool empty() const { return values_.empty(); }

 private:
  std::vector<std::string> values_;
};

// Parses `text` as a `type` value into *out. An empty text is null, except that a quoted
// empty CSV field (`quoted`) is the empty string for string fields. On failure returns
// Invalid, e.g. `invalid int "12a"`, and leaves *out unspecified.
Status ParseTextValue(std::string_view text, ValueType type, const NullValues& nulls, Value* out,
                      bool quoted = false);

// The number parsers behind ParseTextValue, for callers that need a number without a Value.
// Both trim spaces and accept a leading '+'. Ints accept integral floats ("3.0"). Floats are
// NaN for "nan"; infinities and out-of-range values are errors (tiny values underflow to 0).
// The Try forms only say whether the text parses: no allocation, for hot paths.
bool TryParseInt(std::string_view text, int64_t* out);
bool TryParseFloat(std::string_view text, double* out);
Status ParseIntText(std::string_view text, int64_t* out);
Status ParseFloatText(std::string_view text, double* out);

// Trims ASCII spaces and tabs at both ends.
inline std::string_view TrimSpaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The common cases of ParseTextValue inline, for per-field loops: a non-empty text that is no
// null value and parses as `type`. Returns false, leaving *out alone, for everything else
// (nulls, errors, bools); the caller then calls ParseTextValue for the result or the message.
inline bool ParseTextValueFast(std::string_view text, ValueType type, const NullValues& nulls,
                               Value* out) {
  if (text.empty() || (!nulls.empty() && nulls.Contains(text))) return false;
  switch (type) {
    case ValueType::kString:
      *out = Value::String(std::string(text));
      return true;
    case ValueType::kInt:
      if (int64_t i = 0; TryParseInt(text, &i)) {
        *out = Value::Int(i);
        return true;
      }
      return false;
    case ValueType::kFloat:
      // NaN is null: the full path handles it.
      if (double d = 0; TryParseFloat(text, &d) && !std::isnan(d)) {
        *out = Value::Float(d);
        return true;
      }
      return false;
    default:
      return false;
  }
}

}  // namespace runnel
