#include "runtime/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iterator>

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

constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12};

int DecimalDigits(uint64_t n) {
  int digits = 1;
  while (n >= 10) {
    n /= 10;
    ++digits;
  }
  return digits;
}

// std::to_chars' shortest form of `d` for the values sensors produce, a few decimals
// (4.53, 0.971, 21): about 10x faster than the general algorithm. It finds the fewest
// decimals k for which the integer m = |d| * 10^k reads back as exactly d (m and 10^k are
// exact doubles and the division is correctly rounded, so m / 10^k == |d| is the same test
// as parsing the text). Below 2^50 no two such m exist for one k, so this is the shortest
// round-trip text and the one to_chars picks, unless the exponent form is shorter (1e+05,
// 1e-04): then, and for anything else, it returns false and writes nothing.
bool AppendShortDecimal(std::string& out, double d) {
  const double magnitude = std::fabs(d);
  constexpr double kLimit = 1125899906842624.0;  // 2^50
  for (int k = 0; k < static_cast<int>(std::size(kPow10)); ++k) {
    const double scaled = magnitude * kPow10[k];
    if (!(scaled < kLimit)) return false;
    // Rounds to nearest (scaled + 0.5 is exact below 2^50).
    const double m = static_cast<double>(static_cast<uint64_t>(scaled + 0.5));
    // The product is within 2^-50 * scaled of m when m / 10^k reads back as d: a cheap test
    // that spares most division.
    if (std::fabs(scaled - m) > scaled * 0x1p-48 || m / kPow10[k] != magnitude) continue;
    const auto mantissa = static_cast<uint64_t>(m);
    const int digits = DecimalDigits(mantissa);
    // to_chars prefers the exponent form only when it is strictly shorter.
    uint64_t significant = mantissa;
    int significant_digits = digits;
    while (significant != 0 && significant % 10 == 0) {
      significant /= 10;
      --significant_digits;
    }
    const int exponent = mantissa == 0 ? 0 : digits - 1 - k;
    const int exponent_digits = std::abs(exponent) >= 100 ? 3 : 2;
    const int exponent_length =
        significant_digits + (significant_digits > 1 ? 1 : 0) + 2 + exponent_digits;
    const int fixed_length = digits > k ? digits + (k > 0 ? 1 : 0) : 2 + k;
    if (exponent_length < fixed_length) return false;
    char buf[32];
    char* p = buf;
    if (std::signbit(d)) *p++ = '-';
    char text[24];
    char* const text_end = std::to_chars(text, text + sizeof(text), mantissa).ptr;
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
  return false;
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
