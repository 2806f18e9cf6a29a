#include "runtime/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>

namespace runnel {

std::string_view TypeName(ValueType type) {
  switch (type) {
    case ValueType::kNull:
      return "null";
    case ValueType::kBool:
      return "bool";
    case ValueType::kInt:
      return "int";
    case ValueType::kFloat:
      return "float";
    case ValueType::kString:
      return "string";
  }
  return "?";
}

Result<ValueType> ParseTypeName(std::string_view name) {
  if (name == "bool") return ValueType::kBool;
  if (name == "int") return ValueType::kInt;
  if (name == "float") return ValueType::kFloat;
  if (name == "string") return ValueType::kString;
  return Status::Invalid("unknown type \"" + std::string(name) +
                         "\": use \"bool\", \"int\", \"float\" or \"string\"");
}

namespace {
int Rank(ValueType t) {
  switch (t) {
    case ValueType::kNull:
      return 0;
    case ValueType::kBool:
      return 1;
    case ValueType::kInt:
    case ValueType::kFloat:
      return 2;
    case ValueType::kString:
      return 3;
  }
  return 4;
}
}  // namespace

std::weak_ordering operator<=>(const Value& a, const Value& b) {
  const ValueType ta = a.type(), tb = b.type();
  if (Rank(ta) != Rank(tb)) return Rank(ta) <=> Rank(tb);
  switch (ta) {
    case ValueType::kNull:
      return std::weak_ordering::equivalent;
    case ValueType::kBool:
      return a.AsBool() <=> b.AsBool();
    case ValueType::kString:
      return a.AsString() <=> b.AsString();
    case ValueType::kInt:
      if (tb == ValueType::kInt) return a.AsInt() <=> b.AsInt();
      [[fallthrough]];
    case ValueType::kFloat: {
      const double x = a.AsNumber(), y = b.AsNumber();
      if (x < y) return std::weak_ordering::less;
      if (x > y) return std::weak_ordering::greater;
      return std::weak_ordering::equivalent;
    }
  }
  return std::weak_ordering::equivalent;
}

size_t Value::Hash() const {
  const size_t seed = data_.index() * 0x9e3779b97f4a7c15ULL;
  switch (type()) {
    case ValueType::kNull:
      return seed;
    case ValueType::kBool:
      return seed ^ static_cast<size_t>(AsBool());
    case ValueType::kInt:
      return seed ^ std::hash<int64_t>()(AsInt()) * 0xff51afd7ed558ccdULL;
    case ValueType::kFloat:
      return seed ^ std::hash<double>()(AsFloat()) * 0xc4ceb9fe1a85ec53ULL;
    case ValueType::kString:
      return seed ^ std::hash<std::string>()(AsString());
  }
  return seed;
}

std::string Value::DebugString() const {
  switch (type()) {
    case ValueType::kNull:
      return "null";
    case ValueType::kBool:
      return AsBool() ? "true" : "false";
    case ValueType::kInt:
      return std::to_string(AsInt());
    case ValueType::kFloat:
      return FormatFloat(AsFloat());
    case ValueType::kString:
      return "\"" + AsString() + "\"";
  }
  return "?";
}

size_t RowHash::operator()(const Row& row) const {
  size_t h = 0xcbf29ce484222325ULL;
  for (const Value& v : row) h = (h ^ v.Hash()) * 0x100000001b3ULL;
  return h;
}

namespace {

// std::to_chars' shortest form of `d` for the values sensors produce, a few decimals
// (4.53, 0.971, -12): several times faster than the general algorithm. With K = 8 decimals,
// m = round(|d| * 10^K) is an exact integer below 2^50 and 10^K an exact double, so the
// correctly rounded m / 10^K == |d| is the same test as parsing the text back. Below 2^50 at
// most one integer passes it, so m without its trailing zeros is the shortest round-trip
// text and the one to_chars picks, unless the exponent form is shorter (1e+05): then, and
// for values with more decimals or too large, it returns false and writes nothing.
bool AppendShortDecimal(std::string& out, double d) {
  constexpr int kDecimals = 8;
  constexpr double kScale = 1e8;
  constexpr double kLimit = 1125899906842624.0 / kScale;  // m < 2^50
  const double magnitude = std::fabs(d);
  if (!(magnitude < kLimit)) return false;  // also NaN
  const double scaled = magnitude * kScale;
  // Rounds to nearest (scaled + 0.5 is exact below 2^50).
  const auto m = static_cast<int64_t>(scaled + 0.5);
  if (static_cast<double>(m) / kScale != magnitude) return false;
  char text[24];
  char* text_end = std::to_chars(text, text + sizeof(text), m).ptr;
  int k = kDecimals;
  while (k > 0 && text_end - text > 1 && text_end[-1] == '0') {
    --text_end;
    --k;
  }
  const int digits = static_cast<int>(text_end - text);
  // to_chars prefers the exponent form only when it is strictly shorter; an integer's
  // trailing zeros do not count in it.
  int significant_digits = digits;
  while (k == 0 && significant_digits > 1 && text[significant_digits - 1] == '0') {
    --significant_digits;
  }
  const int exponent = m == 0 ? 0 : digits - 1 - k;
  const int exponent_digits = std::abs(exponent) >= 100 ? 3 : 2;
  const int exponent_length =
      significant_digits + (significant_digits > 1 ? 1 : 0) + 2 + exponent_digits;
  const int fixed_length = digits > k ? digits + (k > 0 ? 1 : 0) : 2 + k;
  if (exponent_length < fixed_length) return false;
  char buf[32];
  char* p = buf;
  if (std::signbit(d)) *p++ = '-';
  if (digits > k) {
    const char* const point = text_end - k;
    p = std::copy(static_cast<const char*>(text), point, p);
    if (k > 0) {
      *p++ = '.';
      p = std::copy(point, static_cast<const char*>(text_end), p);
    }
  } else {
    *p++ = '0';
    *p++ = '.';
    p = std::fill_n(p, k - digits, '0');
    p = std::copy(static_cast<const char*>(text), static_cast<const char*>(text_end), p);
  }
  out.append(buf, static_cast<size_t>(p - buf));
  return true;
}

}  // namespace

void AppendFloat(std::string& out, double d) {
  if (AppendShortDecimal(out, d)) return;
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  out.append(buf, ec == std::errc() ? static_cast<size_t>(end - buf) : 0);
}

std::string FormatFloat(double d) {
  std::string out;
  AppendFloat(out, d);
  return out;
}

}  // namespace runnel
