// Value: one typed field of a record (null, bool, int64, double or string), and Row, a record's
// fields in schema order. Values are compared and hashed by type and content, so they serve as
// group keys. Floats inside a pipeline are always finite: producers turn NaN/inf into null.
// Value types; not synchronised.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/status.h"

namespace runnel {

enum class ValueType : uint8_t { kNull, kBool, kInt, kFloat, kString };

// "null", "bool", "int", "float", "string": the names used in pipeline files.
std::string_view TypeName(ValueType type);
// Parses a pipeline field type name ("bool", "int", "float", "string").
Result<ValueType> ParseTypeName(std::string_view name);

class Value {
 public:
  Value() = default;  // null
  static Value Null() { return Value(); }
  static Value Bool(bool b) { return Value(Storage(std::in_place_index<1>, b)); }
  static Value Int(int64_t i) { return Value(Storage(std::in_place_index<2>, i)); }
  static Value Float(double d) { return Value(Storage(std::in_place_index<3>, d)); }
  static Value String(std::string s) {
    return Value(Storage(std::in_place_index<4>, std::move(s)));
  }

  Value(const Value&) = default;
  Value(Value&&) = default;
  // Assigning a value of the same type (the usual case when a row buffer is reused) skips
  // the variant's generic, out-of-line visit.
  Value& operator=(const Value& other) { return Assign(other); }
  Value& operator=(Value&& other) noexcept { return Assign(std::move(other)); }

  ValueType type() const { return static_cast<ValueType>(data_.index()); }
  bool is_null() const { return data_.index() == 0; }

  // REQUIRES: type() is the accessor's type.
  bool AsBool() const { return std::get<1>(data_); }
  int64_t AsInt() const { return std::get<2>(data_); }
  double AsFloat() const { return std::get<3>(data_); }
  const std::string& AsString() const { return std::get<4>(data_); }

  // REQUIRES: type() is kInt or kFloat.
  double AsNumber() const {
    return type() == ValueType::kInt ? static_cast<double>(AsInt()) : AsFloat();
  }

  // Total order used for sorting output and keys: null < bool < numbers < strings; an int and
  // a float compare by numeric value (1 == 1.0 is ordered equivalent, but operator== is false).
  friend std::weak_ordering operator<=>(const Value& a, const Value& b);
  // Same type and same content.
  friend bool operator==(const Value& a, const Value& b) { return a.data_ == b.data_; }

  size_t Hash() const;

  // Debug/log text: null, true, 42, 1.5, "text" (strings quoted).
  std::string DebugString() const;

 private:
  using Storage = std::variant<std::monostate, bool, int64_t, double, std::string>;
  explicit Value(Storage data) : data_(std::move(data)) {}

  template <class V>
  Value& Assign(V&& other) {
    if (data_.index() == other.data_.index()) {
      switch (data_.index()) {
        case 1:
          std::get<1>(data_) = std::get<1>(other.data_);
          return *this;
        case 2:
          std::get<2>(data_) = std::get<2>(other.data_);
          return *this;
        case 3:
          std::get<3>(data_) = std::get<3>(other.data_);
          return *this;
        case 4:
          std::get<4>(data_) = std::get<4>(std::forward<V>(other).data_);
          return *this;
        default:
          return *this;  // null
      }
    }
    data_ = std::forward<V>(other).data_;
    return *this;
  }

  Storage data_;
};

using Row = std::vector<Value>;

struct RowHash {
  size_t operator()(const Row& row) const;
};

// The shortest text that reads back as exactly `d` ("0.1", "1e+300", "2").
std::string FormatFloat(double d);
// Appends FormatFloat(d) without allocating a temporary.
void AppendFloat(std::string& out, double d);

}  // namespace runnel
