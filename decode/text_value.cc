#include "decode/text_value.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace runnel {

namespace {

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

// from_chars does not take the '+' that many loggers write before positive numbers. A second
// sign after it ("+-1") stays invalid.
std::string_view StripPlus(std::string_view text) {
  if (text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+') {
    text.remove_prefix(1);
  }
  return text;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// Sensor logs are mostly short plain numbers (epoch times, readings); the fast paths below
// parse them without the generality, and cost, of from_chars, and leave the rest to it.

// Eight ASCII digits loaded little-endian (first character in the low byte), as in fast_float.
bool IsEightDigits(uint64_t v) {
  return ((v & 0xF0F0F0F0F0F0F0F0) | (((v + 0x0606060606060606) & 0xF0F0F0F0F0F0F0F0) >> 4)) ==
         0x3333333333333333;
}

uint64_t ParseEightDigits(uint64_t v) {
  constexpr uint64_t kMask = 0x000000FF000000FF;
  constexpr uint64_t kMul1 = 100 + (1000000ULL << 32);
  constexpr uint64_t kMul2 = 1 + (10000ULL << 32);
  v -= 0x3030303030303030;
  v = (v * 10) + (v >> 8);
  return (((v & kMask) * kMul1) + (((v >> 16) & kMask) * kMul2)) >> 32;
}

// Up to 18 digits with an optional '-': cannot overflow an int64. Whole 8-digit groups go
// through SWAR; a 13-digit epoch-ms time is two overlapping 8-byte loads.
bool FastParseInt(std::string_view t, int64_t* out) {
  const char* p = t.data();
  const char* const end = p + t.size();
  const bool negative = p != end && *p == '-';
  if (negative) ++p;
  const size_t n = static_cast<size_t>(end - p);
  if (n == 0 || n > 18) return false;
  uint64_t value = 0;
  if constexpr (std::endian::native == std::endian::little) {
    if (n >= 8 && n <= 16) {
      uint64_t head, tail;
      std::memcpy(&head, p, sizeof(head));
      std::memcpy(&tail, end - 8, sizeof(tail));
      if (!IsEightDigits(head) || !IsEightDigits(tail)) return false;
      const size_t extra = n - 8;  // digits before the last eight
      if (extra > 0) {
        // Keep the first `extra` digits, as the low digits of an 8-digit group led by zeros.
        const unsigned shift = static_cast<unsigned>(8 * (8 - extra));
        if (shift > 0) head = (head << shift) | (0x3030303030303030ULL >> (64 - shift));
        value = ParseEightDigits(head) * 100000000;
      }
      value += ParseEightDigits(tail);
      *out = negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
      return true;
    }
  }
  for (; p < end; ++p) {
    const unsigned d = static_cast<unsigned char>(*p) - '0';
    if (d > 9) return false;
    value = value * 10 + d;
  }
  *out = negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
  return true;
}

// Clinger's fast path: "[-]digits[.digits]" with at most 15 significant digits is an integer
// below 2^53 divided by an exact power of ten, and IEEE division rounds correctly, so the
// result is exactly what from_chars returns.
bool FastParseFloat(std::string_view t, double* out) {
  static constexpr double kPow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  const char* p = t.data();
  const char* const end = p + t.size();
  const bool negative = p != end && *p == '-';
  if (negative) ++p;
  const char* const start = p;
  uint64_t mantissa = 0;
  unsigned d;
  while (p != end && (d = static_cast<unsigned char>(*p) - '0') <= 9) {
    mantissa = mantissa * 10 + d;
    ++p;
  }
  int fraction = 0;
  const bool has_point = p != end && *p == '.';
  if (has_point) {
    const char* const point = ++p;
    while (p != end && (d = static_cast<unsigned char>(*p) - '0') <= 9) {
      mantissa = mantissa * 10 + d;
      ++p;
    }
    fraction = static_cast<int>(p - point);
  }
  const long digits = (p - start) - (has_point ? 1 : 0);
  if (p != end || digits == 0 || digits > 15) return false;
  double value = static_cast<double>(mantissa);
  if (fraction > 0) value /= kPow10[fraction];
  *out = negative ? -value : value;
  return true;
}

enum class FloatError { kNone, kInvalid, kInfinite, kOutOfRange };

FloatError ParseFloatImpl(std::string_view raw, double* out) {
  if (FastParseFloat(raw, out)) return FloatError::kNone;
  const std::string_view text = StripPlus(TrimSpaces(raw));
  if (FastParseFloat(text, out)) return FloatError::kNone;
  const char* const end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  if (text.empty() || ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return FloatError::kInvalid;
  }
  if (ec == std::errc::result_out_of_range) {
    // from_chars leaves *out untouched here. Underflow (a negative exponent or a long run of
    // fraction zeros) reads as zero, as every float parser does; overflow has no finite value.
    const size_t e = text.find_first_of("eE");
    const bool underflow = e != std::string_view::npos
                               ? e + 1 < text.size() && text[e + 1] == '-'
                               : text.find('.') != std::string_view::npos &&
                                     text.find_first_of("123456789") > text.find('.');
    if (!underflow) return FloatError::kOutOfRange;
    *out = text[0] == '-' ? -0.0 : 0.0;
    return FloatError::kNone;
  }
  if (std::isinf(*out)) return FloatError::kInfinite;
  return FloatError::kNone;
}

}  // namespace

bool TryParseInt(std::string_view raw, int64_t* out) {
  if (FastParseInt(raw, out)) return true;
  const std::string_view text = StripPlus(TrimSpaces(raw));
  if (FastParseInt(text, out)) return true;
  const char* const end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  if (ec == std::errc() && ptr == end) return true;
  if (ec == std::errc::result_out_of_range && ptr == end) return false;
  // Exporters that pass ints through a float column write "3.0"; accept exact integers.
  double d = 0;
  auto [fptr, fec] = std::from_chars(text.data(), end, d);
  constexpr double kLimit = 9223372036854775808.0;  // 2^63
  if (fec == std::errc() && fptr == end && !text.empty() && std::isfinite(d) &&
      d == std::trunc(d) && d >= -kLimit && d < kLimit) {
    *out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

bool TryParseFloat(std::string_view text, double* out) {
  return ParseFloatImpl(text, out) == FloatError::kNone;
}

Status ParseIntText(std::string_view raw, int64_t* out) {
  if (TryParseInt(raw, out)) return Status::Ok();
  const std::string_view text = StripPlus(TrimSpaces(raw));
  int64_t ignored = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), ignored);
  if (ec == std::errc::result_out_of_range && ptr == text.data() + text.size()) {
    return Status::Invalid("int " + Quote(raw) + " is out of range");
  }
  return Status::Invalid("invalid int " + Quote(raw));
}

Status ParseFloatText(std::string_view raw, double* out) {
  switch (ParseFloatImpl(raw, out)) {
    case FloatError::kNone:
      return Status::Ok();
    case FloatError::kInvalid:
      return Status::Invalid("invalid float " + Quote(raw));
    case FloatError::kInfinite:
      return Status::Invalid("float " + Quote(raw) + " is infinite");
    case FloatError::kOutOfRange:
      break;
  }
  return Status::Invalid("float " + Quote(raw) + " is out of range");
}

Status ParseTextValue(std::string_view text, ValueType type, const NullValues& nulls, Value* out,
                      bool quoted) {
  if (text.empty()) {
    *out = quoted && type == ValueType::kString ? Value::String(std::string()) : Value();
    return Status::Ok();
  }
  if (!nulls.empty() && nulls.Contains(text)) {
    *out = Value();
    return Status::Ok();
  }
  switch (type) {
    case ValueType::kString:
      *out = Value::String(std::string(text));
      return Status::Ok();
    case ValueType::kInt: {
      int64_t i = 0;
      if (TryParseInt(text, &i)) {
        *out = Value::Int(i);
        return Status::Ok();
      }
      if (!TrimSpaces(text).empty()) return ParseIntText(text, &i);
      break;
    }
    case ValueType::kFloat: {
      double d = 0;
      if (TryParseFloat(text, &d)) {
        *out = std::isnan(d) ? Value() : Value::Float(d);
        return Status::Ok();
      }
      if (!TrimSpaces(text).empty()) return ParseFloatText(text, &d);
      break;
    }
    case ValueType::kBool: {
      const std::string_view t = TrimSpaces(text);
      if (t == "1" || EqualsIgnoreCase(t, "true")) {
        *out = Value::Bool(true);
        return Status::Ok();
      }
      if (t == "0" || EqualsIgnoreCase(t, "false")) {
        *out = Value::Bool(false);
        return Status::Ok();
      }
      if (t.empty()) break;
      return Status::Invalid("invalid bool " + Quote(text) + " (use true, false, 1 or 0)");
    }
    case ValueType::kNull:
      break;
  }
  // Only spaces (or a column of unknown type): nothing to read.
  *out = Value();
  return Status::Ok();
}

}  // namespace runnel
