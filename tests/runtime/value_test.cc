#include "runtime/value.h"

#include <doctest/doctest.h>

#include <algorithm>

namespace runnel {

TEST_CASE("values compare by type family, then content, with ints and floats numerically") {
  std::vector<Value> values = {Value::String("b"), Value::Float(1.5), Value::Int(2),
                               Value::Null(),      Value::Bool(true), Value::Int(1),
                               Value::String("a"), Value::Bool(false)};
  std::sort(values.begin(), values.end(), [](const Value& a, const Value& b) { return a < b; });
  std::vector<std::string> printed;
  for (const Value& v : values) printed.push_back(v.DebugString());
  CHECK(printed ==
        std::vector<std::string>{"null", "false", "true", "1", "1.5", "2", "\"a\"", "\"b\""});
}

TEST_CASE("equality and hashing distinguish types so group keys never mix") {
  CHECK(Value::Int(1) != Value::Float(1.0));
  CHECK((Value::Int(1) <=> Value::Float(1.0)) == std::weak_ordering::equivalent);
  CHECK(Value::String("x") == Value::String("x"));
  CHECK(Value::String("x").Hash() == Value::String("x").Hash());
  CHECK(RowHash()(Row{Value::Int(1), Value::Null()}) ==
        RowHash()(Row{Value::Int(1), Value::Null()}));
  CHECK(RowHash()(Row{Value::Int(1), Value::Int(2)}) !=
        RowHash()(Row{Value::Int(2), Value::Int(1)}));
}

TEST_CASE("floats print in shortest round-trip form") {
  CHECK(FormatFloat(0.1) == "0.1");
  CHECK(FormatFloat(2.0) == "2");
  CHECK(FormatFloat(1e21) == "1e+21");
  CHECK(FormatFloat(-0.5) == "-0.5");
  CHECK(FormatFloat(0.30000000000000004) == "0.30000000000000004");
}

TEST_CASE("type names parse and print as in pipeline files") {
  for (ValueType t : {ValueType::kBool, ValueType::kInt, ValueType::kFloat, ValueType::kString}) {
    auto parsed = ParseTypeName(TypeName(t));
    REQUIRE(parsed.ok());
    CHECK(*parsed == t);
  }
  auto bad = ParseTypeName("double");
  REQUIRE(!bad.ok());
  CHECK(bad.status().message() ==
        "unknown type \"double\": use \"bool\", \"int\", \"float\" or \"string\"");
}

}  // namespace runnel
