#include "runtime/value.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

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

// AppendFloat prints short decimals (sensor readings) by a fast path of its own; whatever the
// value, the text must be exactly std::to_chars' shortest form.
TEST_CASE("floats print exactly as std::to_chars, on the fast path and off it") {
  const auto reference = [](double d) {
    char buf[32];
    return std::string(buf, std::to_chars(buf, buf + sizeof(buf), d).ptr);
  };
  std::vector<double> values = {0.0,
                                -0.0,
                                1.0,
                                -1.0,
                                10000.0,
                                100000.0,
                                123456.0,
                                0.001,
                                0.0001,
                                0.00015,
                                1e-5,
                                4.53,
                                -0.38,
                                0.971,
                                0.9955,
                                1e15,
                                1e16,
                                1e21,
                                1e22,
                                1e-7,
                                0.1 + 0.2,
                                1.0 / 3,
                                2.5e-3,
                                9007199254740993.0,
                                1125899906842623.5,
                                1125899906842624.0,
                                562949953421311.75,
                                1e300,
                                5e-324,
                                std::numeric_limits<double>::max()};
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200000; ++i) {
    // Decimals with 0-13 places and 1-17 digits, as text would hold them.
    const int places = static_cast<int>(rng() % 14);
    const uint64_t digits = rng() % 100000000000000000ULL >> (rng() % 57);
    const double d = std::stod(std::to_string(digits) + "e-" + std::to_string(places));
    values.push_back(rng() % 2 == 0 ? d : -d);
    // And any bit pattern that is a finite double.
    uint64_t bits = rng();
    double any = 0;
    std::memcpy(&any, &bits, sizeof(any));
    if (std::isfinite(any)) values.push_back(any);
  }
  size_t mismatches = 0;
  for (double d : values) {
    std::string out = "x";
    AppendFloat(out, d);
    if (out != "x" + reference(d)) {
      if (++mismatches <= 10) FAIL_CHECK("AppendFloat(" << reference(d) << ") wrote " << out);
    }
  }
  CHECK(mismatches == 0);
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
