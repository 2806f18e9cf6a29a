#include "runtime/value.h"

#include <charconv>
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

void AppendFloat(std::string& out, double d) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  out.append(buf, ec == std::errc() ? end : buf);
}

std::string FormatFloat(double d) {
  std::string out;
  AppendFloat(out, d);
  return out;
}

}  // namespace runnel
