#include "operators/expression.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace runnel {
namespace {

Schema Sensors() {
  return Schema({{"device", ValueType::kString},
                 {"ts", ValueType::kInt},
                 {"temp", ValueType::kFloat},
                 {"hum", ValueType::kFloat},
                 {"n", ValueType::kInt},
                 {"big", ValueType::kInt},
                 {"ok", ValueType::kBool},
                 {"flag", ValueType::kBool},
                 {"label", ValueType::kString},
                 {"CO_GT", ValueType::kFloat}});
}

Row SensorRow() {
  return {Value::String("gh-1"),
          Value::Int(1000),
          Value::Float(21.5),
          Value::Null(),  // hum
          Value::Int(7),
          Value::Int(std::numeric_limits<int64_t>::max()),
          Value::Bool(true),
          Value::Null(),  // flag
          Value::String("Hello World"),
          Value::Float(2.6)};
}

// "int 9", "float 3.5", "string \"x\"", "bool true" or "null": type and value in one string,
// so that a check compares both.
std::string Show(const Value& v) {
  if (v.is_null()) return "null";
  return std::string(TypeName(v.type())) + " " + v.DebugString();
}

std::unique_ptr<Expr> Compile(std::string_view text) {
  Result<std::unique_ptr<Expr>> e = CompileExpression(text, Scope(Sensors()));
  INFO(text);
  REQUIRE_MESSAGE(e.ok(), (e.ok() ? std::string() : e.status().message()));
  return std::move(e).value();
}

std::string Eval(std::string_view text) { return Show(Compile(text)->Eval(SensorRow())); }

ValueType TypeOf(std::string_view text) { return Compile(text)->type(); }

std::string CompileError(std::string_view text) {
  Result<std::unique_ptr<Expr>> e = CompileExpression(text, Scope(Sensors()));
  INFO(text);
  REQUIRE(!e.ok());
  CHECK(e.status().code() == StatusCode::kInvalid);
  return e.status().message();
}

struct Case {
  std::string_view text;
  std::string_view expected;
};

void CheckAll(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    INFO(c.text);
    CHECK(Eval(c.text) == c.expected);
  }
}

void CheckErrors(const std::vector<Case>& cases) {
  for (const Case& c : cases) CHECK(CompileError(c.text) == c.expected);
}

TEST_CASE("literals evaluate to their values, with escapes and case-insensitive keywords") {
  CheckAll({
      {"12", "int 12"},
      {"1.5e3", "float 1500"},
      {"1.5E-1", "float 0.15"},
      {".5", "float 0.5"},
      {"2.", "float 2"},
      {"'text'", "string \"text\""},
      {"\"text\"", "string \"text\""},
      {R"('it\'s')", "string \"it's\""},
      {R"("say \"hi\"")", "string \"say \"hi\"\""},
      {R"('back\\slash')", "string \"back\\slash\""},
      {R"('a\nb\tc')", "string \"a\nb\tc\""},
      {"'é'", "string \"é\""},
      {"true", "bool true"},
      {"FALSE", "bool false"},
      {"Null", "null"},
      {"-9223372036854775808", "int -9223372036854775808"},
      {"-0.0", "float 0"},
  });
  CHECK(TypeOf("null") == ValueType::kNull);
  CHECK(TypeOf("'x'") == ValueType::kString);
  CHECK(TypeOf("1e3") == ValueType::kFloat);
}

TEST_CASE("field names read the row, including upper-case CSV headers") {
  CheckAll({{"device", "string \"gh-1\""},
            {"temp", "float 21.5"},
            {"hum", "null"},
            {"CO_GT", "float 2.6"},
            {"ok", "bool true"}});
  CHECK(TypeOf("temp") == ValueType::kFloat);
  CHECK(TypeOf("hum") == ValueType::kFloat);
  CHECK(Compile("temp")->column_index() == std::optional<size_t>(2));
  CHECK(Compile("CO_GT")->column_index() == std::optional<size_t>(9));
  CHECK(Compile("temp + 1")->column_index() == std::nullopt);
  CHECK(Compile("1")->column_index() == std::nullopt);
}

TEST_CASE(
    "int arithmetic stays int, division is always float, and ints mixed with floats give "
    "floats") {
  CheckAll({
      {"7 + 2", "int 9"},
      {"7 - 9", "int -2"},
      {"7 * 3", "int 21"},
      {"7 / 2", "float 3.5"},
      {"6 / 3", "float 2"},
      {"7 % 3", "int 1"},
      {"-7 % 3", "int -1"},
      {"7 % -3", "int 1"},
      {"7.5 % 2", "float 1.5"},
      {"-7.5 % 2", "float -1.5"},
      {"1 + 1.5", "float 2.5"},
      {"n * temp", "float 150.5"},
      {"temp - 0.5", "float 21"},
      {"-n", "int -7"},
      {"-temp", "float -21.5"},
      {"--n", "int 7"},
  });
  CHECK(TypeOf("n + 1") == ValueType::kInt);
  CHECK(TypeOf("n % 2") == ValueType::kInt);
  CHECK(TypeOf("n / 1") == ValueType::kFloat);
  CHECK(TypeOf("n + temp") == ValueType::kFloat);
  CHECK(TypeOf("-n") == ValueType::kInt);
}

TEST_CASE("precedence is or < and < not < comparison < + - < * / % < unary minus") {
  CheckAll({
      {"1 + 2 * 3", "int 7"},
      {"(1 + 2) * 3", "int 9"},
      {"10 - 2 - 3", "int 5"},
      {"8 / 2 / 2", "float 2"},
      {"2 * 3 % 4", "int 2"},
      {"-2 * 3", "int -6"},
      {"- n % 3", "int -1"},
      {"1 + 2 == 3", "bool true"},
      {"not 1 > 2", "bool true"},
      {"not false and false", "bool false"},
      {"true or false and false", "bool true"},
      {"false and true or true", "bool true"},
      {"not not true", "bool true"},
      {"n > 5 and temp < 30 or false", "bool true"},
  });
}

TEST_CASE("integer overflow gives null") {
  CheckAll({
      {"big + 1", "null"},
      {"big * 2", "null"},
      {"-big - 2", "null"},
      {"big - 1", "int 9223372036854775806"},
      {"-big - 1", "int -9223372036854775808"},
      {"-(-big - 1)", "null"},
      {"-9223372036854775808 % -1", "int 0"},
      {"abs(-9223372036854775808)", "null"},
  });
}

TEST_CASE("division and modulo by zero give null") {
  CheckAll({
      {"1 / 0", "null"},
      {"1.0 / 0", "null"},
      {"0 / 0", "null"},
      {"0.0 / 0.0", "null"},
      {"1 % 0", "null"},
      {"1.5 % 0", "null"},
      {"n / (n - 7)", "null"},
  });
  CHECK(TypeOf("1 / 0") == ValueType::kFloat);
  CHECK(TypeOf("1 % 0") == ValueType::kInt);
}

TEST_CASE("float results that are not finite give null and negative zero becomes zero") {
  CheckAll({
      {"1e308 * 10", "null"},
      {"-1e308 * 10", "null"},
      {"1e308 + 1e308", "null"},
      {"exp(1000)", "null"},
      {"pow(10, 400)", "null"},
  });
  const Value zero = Compile("-0.0 * temp")->Eval(SensorRow());
  REQUIRE(zero.type() == ValueType::kFloat);
  CHECK(!std::signbit(zero.AsFloat()));
  const Value rounded = Compile("round(-0.4)")->Eval(SensorRow());
  REQUIRE(rounded.type() == ValueType::kFloat);
  CHECK(!std::signbit(rounded.AsFloat()));
}

TEST_CASE(
    "comparisons are numeric across int and float, bytewise for strings, false before "
    "true") {
  CheckAll({
      {"1 == 1.0", "bool true"},
      {"2 > 1.5", "bool true"},
      {"1.5 < 2", "bool true"},
      {"n >= 7", "bool true"},
      {"n < 7.5", "bool true"},
      {"n != 7", "bool false"},
      {"1 <= 1", "bool true"},
      {"2 >= 3", "bool false"},
      // Exact: 2^53 + 1 would round to 2^53 as a double.
      {"9007199254740993 > 9007199254740992.0", "bool true"},
      {"9007199254740993 == 9007199254740992.0", "bool false"},
      {"temp > 21", "bool true"},
      {"21 < temp", "bool true"},
      {"temp == 21", "bool false"},
      {"temp - 0.5 == 21", "bool true"},
      {"big < 1e19", "bool true"},
      {"big == 9223372036854775807.0", "bool false"},  // the float is 2^63
      {"-big - 1 > -1e19", "bool true"},
      {"'abc' < 'abd'", "bool true"},
      {"'Z' < 'a'", "bool true"},
      {"'a' < 'ab'", "bool true"},
      {"'é' > 'z'", "bool true"},
      {"device == 'gh-1'", "bool true"},
      {"device != \"gh-1\"", "bool false"},
      {"false < true", "bool true"},
      {"ok == true", "bool true"},
  });
}

TEST_CASE("null propagates through arithmetic and comparisons") {
  CheckAll({
      {"hum + 1", "null"},
      {"null * 2", "null"},
      {"-hum", "null"},
      {"1 / hum", "null"},
      {"hum > 0", "null"},
      {"temp == hum", "null"},
      {"null == null", "null"},
      {"device < null", "null"},
  });
  CHECK(TypeOf("null + 1") == ValueType::kNull);
  CHECK(TypeOf("-null") == ValueType::kNull);
  CHECK(TypeOf("hum + 1") == ValueType::kFloat);
  CHECK(TypeOf("null == 1") == ValueType::kNull);
  CHECK(TypeOf("hum == 1") == ValueType::kBool);
}

TEST_CASE("and, or and not follow SQL three-valued logic") {
  const std::vector<std::string> operands = {"true", "false", "null"};
  // Rows: left operand; columns: right operand (true, false, null).
  const std::string and_table[3][3] = {{"bool true", "bool false", "null"},
                                       {"bool false", "bool false", "bool false"},
                                       {"null", "bool false", "null"}};
  const std::string or_table[3][3] = {{"bool true", "bool true", "bool true"},
                                      {"bool true", "bool false", "null"},
                                      {"bool true", "null", "null"}};
  for (size_t a = 0; a < 3; ++a) {
    for (size_t b = 0; b < 3; ++b) {
      CHECK(Eval(operands[a] + " and " + operands[b]) == and_table[a][b]);
      CHECK(Eval(operands[a] + " or " + operands[b]) == or_table[a][b]);
    }
  }
  CheckAll({
      {"not true", "bool false"},
      {"not false", "bool true"},
      {"not null", "null"},
      {"flag and false", "bool false"},
      {"flag or true", "bool true"},
      {"flag and true", "null"},
      {"not flag", "null"},
      {"hum > 0 or n == 7", "bool true"},
      {"hum > 0 and n == 7", "null"},
  });
  CHECK(TypeOf("null and null") == ValueType::kNull);
  CHECK(TypeOf("null and true") == ValueType::kBool);
  CHECK(TypeOf("not null") == ValueType::kNull);
}

TEST_CASE("abs, floor and ceil keep ints as ints, and null gives null") {
  CheckAll({
      {"abs(-3)", "int 3"},
      {"abs(3)", "int 3"},
      {"abs(-2.5)", "float 2.5"},
      {"abs(hum)", "null"},
      {"floor(2.7)", "float 2"},
      {"floor(-2.2)", "float -3"},
      {"floor(5)", "int 5"},
      {"floor(hum)", "null"},
      {"ceil(2.2)", "float 3"},
      {"ceil(-2.7)", "float -2"},
      {"ceil(5)", "int 5"},
      {"ceil(null)", "null"},
  });
  CHECK(TypeOf("abs(n)") == ValueType::kInt);
  CHECK(TypeOf("floor(temp)") == ValueType::kFloat);
  CHECK(TypeOf("ceil(null)") == ValueType::kNull);
}

TEST_CASE("round rounds half away from zero as round(x * 10^n) / 10^n") {
  CheckAll({
      {"round(2.5)", "float 3"},
      {"round(-2.5)", "float -3"},
      {"round(2.4)", "float 2"},
      {"round(-2.4)", "float -2"},
      {"round(7)", "int 7"},
      {"round(temp)", "float 22"},
      {"round(1.25, 1)", "float 1.3"},
      {"round(-1.25, 1)", "float -1.3"},
      {"round(1.005, 2)", "float 1"},     // 1.005 * 100 is 100.49999999999999 in binary
      {"round(2.675, 2)", "float 2.68"},  // 2.67499.. * 100 rounds to exactly 267.5
      {"round(0.125, 2)", "float 0.13"},
      {"round(-0.125, 2)", "float -0.13"},
      {"round(temp, 0)", "float 22"},
      {"round(7, 1)", "float 7"},
      {"round(1234, -2)", "float 1200"},
      {"round(1250, -2)", "float 1300"},
      {"round(-1250, -2)", "float -1300"},
      {"round(1e300, 10)", "float 1e+300"},
      {"round(0.5, 400)", "float 0.5"},
      {"round(123.0, -400)", "float 0"},
      {"round(hum)", "null"},
      {"round(hum, 1)", "null"},
      {"round(1.5, null)", "null"},
  });
  CHECK(TypeOf("round(n)") == ValueType::kInt);
  CHECK(TypeOf("round(temp)") == ValueType::kFloat);
  CHECK(TypeOf("round(n, 1)") == ValueType::kFloat);
  CHECK(TypeOf("round(temp, null)") == ValueType::kNull);
}

TEST_CASE("sqrt, exp, ln, log10 and pow give floats and null outside their domain") {
  CheckAll({
      {"sqrt(16)", "float 4"},
      {"sqrt(2.25)", "float 1.5"},
      {"sqrt(-1)", "null"},
      {"exp(0)", "float 1"},
      {"ln(1)", "float 0"},
      {"ln(0)", "null"},
      {"ln(-1)", "null"},
      {"log10(1000)", "float 3"},
      {"log10(0)", "null"},
      {"pow(2, 10)", "float 1024"},
      {"pow(2, -1)", "float 0.5"},
      {"pow(2.5, 2)", "float 6.25"},
      {"pow(0, -1)", "null"},
      {"pow(-8, 0.5)", "null"},
      {"pow(hum, 2)", "null"},
      {"sqrt(hum)", "null"},
  });
  CHECK(TypeOf("sqrt(n)") == ValueType::kFloat);
  CHECK(TypeOf("pow(2, 3)") == ValueType::kFloat);
  CHECK(TypeOf("pow(null, 3)") == ValueType::kNull);
}

TEST_CASE("min and max skip nulls and are int only when every argument is") {
  CheckAll({
      {"min(3, 1, 2)", "int 1"},
      {"max(3, 1, 2)", "int 3"},
      {"min(5)", "int 5"},
      {"min(3, 1.5)", "float 1.5"},
      {"max(3, 1.5)", "float 3"},
      {"min(hum, 2)", "float 2"},
      {"min(null, 2)", "int 2"},
      {"max(null, n, null)", "int 7"},
      {"max(null, null)", "null"},
      {"max(hum)", "null"},
      {"min('b', 'a', 'c')", "string \"a\""},
      {"max(device, 'a')", "string \"gh-1\""},
      {"max(9007199254740993, 9007199254740992.0)", "float 9007199254740992"},
  });
  CHECK(TypeOf("min(n, 1)") == ValueType::kInt);
  CHECK(TypeOf("min(n, 1.0)") == ValueType::kFloat);
  CHECK(TypeOf("max(null, null)") == ValueType::kNull);
  CHECK(TypeOf("max(label, null)") == ValueType::kString);
}

TEST_CASE("clamp bounds a value and is null if any argument is") {
  CheckAll({
      {"clamp(15, 0, 10)", "int 10"},
      {"clamp(-5, 0, 10)", "int 0"},
      {"clamp(5, 0, 10)", "int 5"},
      {"clamp(temp, 0, 10)", "float 10"},
      {"clamp(5, 0, 2.5)", "float 2.5"},
      {"clamp(5, 0.5, 10)", "float 5"},
      {"clamp(5, hum, 10)", "null"},
      {"clamp(hum, 0, 10)", "null"},
      {"clamp(5, 0, null)", "null"},
      {"clamp(5, 10, 0)", "int 0"},  // lo > hi: hi wins
      {"clamp('m', 'a', 'k')", "string \"k\""},
  });
  CHECK(TypeOf("clamp(n, 0, 10)") == ValueType::kInt);
  CHECK(TypeOf("clamp(n, 0, null)") == ValueType::kNull);
}

TEST_CASE("coalesce takes the first non-null argument in the unified type") {
  CheckAll({
      {"coalesce(hum, temp)", "float 21.5"},
      {"coalesce(null, 1)", "int 1"},
      {"coalesce(hum, 1)", "float 1"},
      {"coalesce(1, 2.5)", "float 1"},
      {"coalesce(null, null)", "null"},
      {"coalesce(flag, ok)", "bool true"},
      {"coalesce(device)", "string \"gh-1\""},
  });
  CHECK(TypeOf("coalesce(hum, 1)") == ValueType::kFloat);
  CHECK(TypeOf("coalesce(null, n)") == ValueType::kInt);
}

TEST_CASE("if picks a when the condition is true and b otherwise, including null") {
  CheckAll({
      {"if(ok, 'yes', 'no')", "string \"yes\""},
      {"if(not ok, 'yes', 'no')", "string \"no\""},
      {"if(flag, 'yes', 'no')", "string \"no\""},
      {"if(null, 1, 2)", "int 2"},
      {"if(temp > 30, 1, 0.5)", "float 0.5"},
      {"if(true, 1, 2.5)", "float 1"},
      {"if(false, 1, null)", "null"},
      {"if(true, 1 / 0, 2)", "null"},
  });
  CHECK(TypeOf("if(ok, 1, null)") == ValueType::kInt);
  CHECK(TypeOf("if(ok, 1, 2.0)") == ValueType::kFloat);
}

TEST_CASE("is_null is a bool and never null") {
  CheckAll({{"is_null(hum)", "bool true"},
            {"is_null(temp)", "bool false"},
            {"is_null(null)", "bool true"},
            {"is_null(1 / 0)", "bool true"},
            {"not is_null(device)", "bool true"}});
  CHECK(TypeOf("is_null(null)") == ValueType::kBool);
}

TEST_CASE("to_int truncates toward zero and gives null for what it cannot represent") {
  CheckAll({
      {"to_int(2.9)", "int 2"},
      {"to_int(-2.9)", "int -2"},
      {"to_int(9.2e18)", "int 9200000000000000000"},
      {"to_int(1e19)", "null"},
      {"to_int(-9.3e18)", "null"},
      {"to_int('42')", "int 42"},
      {"to_int(' -42 ')", "int -42"},
      {"to_int('+7')", "int 7"},
      {"to_int('3.7')", "int 3"},
      {"to_int('-3.7')", "int -3"},
      {"to_int('1e3')", "int 1000"},
      {"to_int('9223372036854775807')", "int 9223372036854775807"},
      {"to_int('99999999999999999999')", "null"},
      {"to_int('abc')", "null"},
      {"to_int('12abc')", "null"},
      {"to_int('')", "null"},
      {"to_int('nan')", "null"},
      {"to_int('inf')", "null"},
      {"to_int(true)", "int 1"},
      {"to_int(false)", "int 0"},
      {"to_int(n)", "int 7"},
      {"to_int(hum)", "null"},
  });
  CHECK(TypeOf("to_int(device)") == ValueType::kInt);
  CHECK(TypeOf("to_int(null)") == ValueType::kNull);
}

TEST_CASE("to_float reads strings and bools and gives null for what is not a finite number") {
  CheckAll({
      {"to_float('2.5')", "float 2.5"},
      {"to_float(' 1e3 ')", "float 1000"},
      {"to_float('+.5')", "float 0.5"},
      {"to_float('-0')", "float 0"},
      {"to_float('inf')", "null"},
      {"to_float('nan')", "null"},
      {"to_float('x')", "null"},
      {"to_float('1,5')", "null"},
      {"to_float('1e999')", "null"},
      {"to_float('1e-999')", "float 0"},
      {"to_float(3)", "float 3"},
      {"to_float(true)", "float 1"},
      {"to_float(temp)", "float 21.5"},
      {"to_float(hum)", "null"},
  });
  CHECK(TypeOf("to_float(n)") == ValueType::kFloat);
}

TEST_CASE(
    "to_string formats ints in decimal, floats in shortest round-trip form, bools as "
    "words") {
  CheckAll({
      {"to_string(42)", "string \"42\""},
      {"to_string(-3)", "string \"-3\""},
      {"to_string(2.0)", "string \"2\""},
      {"to_string(0.1)", "string \"0.1\""},
      {"to_string(0.1 + 0.2)", "string \"0.30000000000000004\""},
      {"to_string(1e21)", "string \"1e+21\""},
      {"to_string(true)", "string \"true\""},
      {"to_string(device)", "string \"gh-1\""},
      {"to_string(hum)", "null"},
  });
  CHECK(TypeOf("to_string(n)") == ValueType::kString);
}

TEST_CASE("string functions: lower and upper are ASCII-only, concat skips nulls") {
  CheckAll({
      {"lower(label)", "string \"hello world\""},
      {"upper(label)", "string \"HELLO WORLD\""},
      {"upper('straße')", "string \"STRAßE\""},
      {"lower('ÀB')", "string \"Àb\""},
      {"lower(null)", "null"},
      {"concat(device, ':', n)", "string \"gh-1:7\""},
      {"concat('t=', temp, ' ok=', ok)", "string \"t=21.5 ok=true\""},
      {"concat('a', hum, 'b')", "string \"ab\""},
      {"concat(null)", "string \"\""},
      {"concat(1.0)", "string \"1\""},
      {"contains(label, 'World')", "bool true"},
      {"contains(label, 'world')", "bool false"},
      {"contains('', '')", "bool true"},
      {"contains(null, 'a')", "null"},
      {"starts_with(device, 'gh-')", "bool true"},
      {"starts_with(device, 'x')", "bool false"},
      {"starts_with(device, null)", "null"},
  });
  CHECK(TypeOf("concat(null)") == ValueType::kString);
  CHECK(TypeOf("contains(label, 'x')") == ValueType::kBool);
}

TEST_CASE("unknown names report the column and a close match or the choices") {
  CheckErrors({
      {"", "at column 1: the expression is empty"},
      {"   ", "at column 1: the expression is empty"},
      {"tmp > 0", "at column 1: unknown field 'tmp' (did you mean 'temp'?)"},
      {"n > 0 and tempp < 5", "at column 11: unknown field 'tempp' (did you mean 'temp'?)"},
      {"co_gt > 1", "at column 1: unknown field 'co_gt' (did you mean 'CO_GT'?)"},
      {"xyz > 0",
       "at column 1: unknown field 'xyz' (fields: device, ts, temp, hum, n, big, ok, flag, label, "
       "CO_GT)"},
      {"left.temp > 0",
       "at column 1: qualified name 'left.temp' outside an as-of join (write temp)"},
      {"sqr(4)", "at column 1: unknown function 'sqr' (did you mean 'sqrt'?)"},
      {"frobnicate(1)",
       "at column 1: unknown function 'frobnicate' (functions: abs, round, floor, ceil, sqrt, exp, "
       "ln, log10, pow, min, max, clamp, coalesce, if, is_null, to_int, to_float, to_string, "
       "lower, upper, concat, contains, starts_with)"},
      {"avg(temp)",
       "at column 1: unknown function 'avg' (avg is an aggregate: use it in the aggregate list of "
       "a "
       "window view)"},
      {"ROUND(temp)",
       "at column 1: unknown function 'ROUND' (function names are lower-case: round)"},
      {"1 + flor(2)", "at column 5: unknown function 'flor' (did you mean 'floor'?)"},
  });
}

TEST_CASE("wrong arity reports the function's usage") {
  CheckErrors({
      {"round(temp, 1, 2)",
       "at column 1: round takes 1 or 2 arguments, got 3 (usage: round(x) or round(x, n))"},
      {"pow(2)", "at column 1: pow takes 2 arguments, got 1 (usage: pow(x, y))"},
      {"abs()", "at column 1: abs takes 1 argument, got 0 (usage: abs(x))"},
      {"max()", "at column 1: max takes at least 1 argument, got 0 (usage: max(a, b, ...))"},
      {"1 + clamp(1, 2)", "at column 5: clamp takes 3 arguments, got 2 (usage: clamp(x, lo, hi))"},
      {"if(ok, 1)", "at column 1: if takes 3 arguments, got 2 (usage: if(cond, a, b))"},
  });
}

TEST_CASE("type mismatches known at load time are compile errors at the offending position") {
  CheckErrors({
      {"'a' + 1",
       "at column 5: '+' needs numbers, got string and int (use concat() to join strings)"},
      {"temp + 'a'",
       "at column 6: '+' needs numbers, got float and string (use concat() to join strings)"},
      {"'a' * 2", "at column 5: '*' needs numbers, got string and int (convert with to_float())"},
      {"ok + 1", "at column 4: '+' needs numbers, got bool and int (convert with to_int())"},
      {"-device", "at column 1: '-' needs a number, got string (convert with to_float())"},
      {"-ok", "at column 1: '-' needs a number, got bool (use not for bools)"},
      {"temp > 'x'",
       "at column 6: cannot compare float with string (convert one side with to_float() or "
       "to_string())"},
      {"ok == 1", "at column 4: cannot compare bool with int (convert the bool with to_int())"},
      {"not 5", "at column 1: 'not' needs a bool, got int (write a comparison, e.g. x != 0)"},
      {"n and ok",
       "at column 3: 'and' needs bools, got int and bool (write a comparison, e.g. x != 0)"},
      {"ok or 'x'",
       "at column 4: 'or' needs bools, got bool and string (write a comparison, e.g. x != 0)"},
      {"sqrt(device)",
       "at column 6: argument 1 of sqrt must be a number, got string (usage: sqrt(x))"},
      {"round(temp, 1.5)",
       "at column 13: argument 2 of round must be an int, got float (usage: round(x) or round(x, "
       "n))"},
      {"max(1, 'a')",
       "at column 8: argument 2 of max must be a number like the arguments before it, got string "
       "(usage: max(a, b, ...))"},
      {"min(ok, 1)",
       "at column 5: argument 1 of min must be a number or a string, got bool (usage: min(a, b, "
       "...))"},
      {"coalesce(n, 'x')",
       "at column 13: argument 2 of coalesce must be int like the arguments before it, got string "
       "(convert with to_int(), to_float() or to_string())"},
      {"if(n, 1, 2)",
       "at column 4: argument 1 of if must be a bool, got int (usage: if(cond, a, b))"},
      {"if(ok, 1, 'x')",
       "at column 11: argument 3 of if must be int like the arguments before it, got string "
       "(convert with to_int(), to_float() or to_string())"},
      {"lower(n)", "at column 7: argument 1 of lower must be a string, got int (usage: lower(s))"},
      {"contains(device, 1)",
       "at column 18: argument 2 of contains must be a string, got int (usage: contains(s, sub))"},
      // Columns count characters, not bytes.
      {"'é' == 1",
       "at column 5: cannot compare string with int (convert one side with to_float() or "
       "to_string())"},
  });
}

TEST_CASE("syntax errors name what was expected and what was found") {
  CheckErrors({
      {"temp >", "at column 7: expected an expression, found the end of the text"},
      {"(temp > 0",
       "at column 10: expected ')' to close the '(' at column 1, found the end of the text"},
      {"temp > 0)", "at column 9: unexpected ')' (it closes no '(')"},
      {"temp hum",
       "at column 6: unexpected 'hum' after a complete expression (is an operator missing?)"},
      {"temp 'x'",
       "at column 6: unexpected string 'x' after a complete expression (is an operator "
       "missing?)"},
      {"temp = 1", "at column 6: unexpected '=' (use == to compare)"},
      {"if(n = 1, 1, 2)",
       "at column 6: expected ',' or ')' in the call of if, found '=' (use == to compare)"},
      {"1 < n < 10", "at column 7: comparisons cannot be chained (write a < b and b < c)"},
      {"n == not ok",
       "at column 6: expected an expression, found 'not' (put not ... in parentheses)"},
      {"max(1, )", "at column 8: expected an expression, found ')'"},
      {"max(1 2)", "at column 7: expected ',' or ')' in the call of max, found '2'"},
      {"left. > 0", "at column 7: expected a field name after 'left.', found '>'"},
      {"temp > 0 && ok", "at column 10: unexpected '&&' (use and)"},
      {"ok || ok", "at column 4: unexpected '||' (use or, or concat() to join strings)"},
      {"!ok", "at column 1: unexpected '!' (use not)"},
      {"n <> 1", "at column 3: unexpected '<>' (use != for not equal)"},
      {"2 ^ 3", "at column 3: unexpected '^' (use pow(x, y))"},
      {"temp # x",
       "at column 6: unexpected character '#' (field names use only letters, digits and _)"},
      {"temp°C > 0",
       "at column 5: unexpected character '°' (field names use only letters, digits and _)"},
      {"'abc", "at column 1: unterminated string (add the closing ')"},
      {"n > \"abc", "at column 5: unterminated string (add the closing \")"},
      {R"('a\qb')", R"(at column 3: unknown escape '\q' in a string (use \' \" \\ \n or \t))"},
      {"12abc", "at column 1: malformed number '12abc' (numbers look like 12, 1.5 or 1.5e3)"},
      {"1.5e + 1", "at column 1: malformed number '1.5e' (numbers look like 12, 1.5 or 1.5e3)"},
      {"99999999999999999999",
       "at column 1: integer 99999999999999999999 is out of range (integers are 64-bit; write "
       "99999999999999999999.0 for a float)"},
      {"n + -9223372036854775809",
       "at column 5: integer -9223372036854775809 is out of range (integers are 64-bit; write "
       "-9223372036854775809.0 for a float)"},
      {"1e999", "at column 1: number 1e999 is out of range (floats must be finite)"},
  });
}

TEST_CASE("the first error in the text is the one reported") {
  CheckErrors({
      {"x + 'unterminated",
       "at column 1: unknown field 'x' (fields: device, ts, temp, hum, n, big, "
       "ok, flag, label, CO_GT)"},
      {"temp + 'unterminated", "at column 8: unterminated string (add the closing ')"},
      {"foo(#)",
       "at column 1: unknown function 'foo' (functions: abs, round, floor, ceil, sqrt, "
       "exp, ln, log10, pow, min, max, clamp, coalesce, if, is_null, to_int, to_float, "
       "to_string, lower, upper, concat, contains, starts_with)"},
      {"temp > 'x' and tmp",
       "at column 6: cannot compare float with string (convert one side "
       "with to_float() or to_string())"},
  });
}

TEST_CASE("deep nesting is refused instead of exhausting the stack") {
  const std::string deep = std::string(200, '(') + "1" + std::string(200, ')');
  CHECK(CompileError(deep) ==
        "at column 101: the expression is nested too deeply (more than 100 levels)");
  const std::string nots = [] {
    std::string s;
    for (int i = 0; i < 150; ++i) s += "not ";
    return s + "true";
  }();
  CHECK(CompileError(nots) ==
        "at column 401: the expression is nested too deeply (more than 100 levels)");
  const std::string ok = std::string(50, '(') + "n" + std::string(50, ')');
  CHECK(Eval(ok) == "int 7");
}

TEST_CASE("long flat expressions compile and evaluate") {
  std::string sum = "0";
  for (int i = 0; i < 2000; ++i) sum += " + 1";
  CHECK(Eval(sum) == "int 2000");
}

TEST_CASE("a compiled expression does not depend on the scope it was compiled in") {
  std::unique_ptr<Expr> e;
  {
    Scope scope{Sensors()};
    Result<std::unique_ptr<Expr>> compiled = CompileExpression("temp * n", scope);
    REQUIRE(compiled.ok());
    e = std::move(compiled).value();
  }
  CHECK(Show(e->Eval(SensorRow())) == "float 150.5");
}

TEST_CASE("a short row reads missing columns as null") {
  CHECK(Show(Compile("temp")->Eval(Row{})) == "null");
}

// --- select items --------------------------------------------------------------------------

struct NamedShown {
  std::string name;
  std::string value;
  bool operator==(const NamedShown&) const = default;
};

NamedShown Select(std::string_view text) {
  Result<NamedExpression> item = CompileSelectItem(text, Scope(Sensors()));
  INFO(text);
  REQUIRE_MESSAGE(item.ok(), (item.ok() ? std::string() : item.status().message()));
  return {item->name, Show(item->expr->Eval(SensorRow()))};
}

std::string SelectError(std::string_view text) {
  Result<NamedExpression> item = CompileSelectItem(text, Scope(Sensors()));
  INFO(text);
  REQUIRE(!item.ok());
  return item.status().message();
}

TEST_CASE("select items are named by their assignment or after the bare field") {
  CHECK(Select("t2 = temp * 2") == NamedShown{"t2", "float 43"});
  CHECK(Select("temp") == NamedShown{"temp", "float 21.5"});
  CHECK(Select("CO_GT") == NamedShown{"CO_GT", "float 2.6"});
  CHECK(Select("CO = CO_GT") == NamedShown{"CO", "float 2.6"});
  CHECK(Select("is_seven = n == 7") == NamedShown{"is_seven", "bool true"});
  CHECK(Select("  spaced  =  n + 1 ") == NamedShown{"spaced", "int 8"});
  CHECK(Select("x=n") == NamedShown{"x", "int 7"});
  Result<NamedExpression> bare = CompileSelectItem("temp", Scope(Sensors()));
  REQUIRE(bare.ok());
  CHECK(bare->expr->column_index() == std::optional<size_t>(2));
}

TEST_CASE("select items that cannot be named are errors") {
  CHECK(SelectError("") == "at column 1: the select item is empty");
  CHECK(SelectError("n == 7") ==
        "at column 1: a computed select item needs a name (write name = n == 7)");
  CHECK(SelectError("abs(temp) ") ==
        "at column 1: a computed select item needs a name (write name = abs(temp))");
  CHECK(SelectError("true = 1") == "at column 1: 'true' is a keyword and cannot name a column");
  CHECK(SelectError("1 = n") ==
        "at column 1: expected a column name before '=', found '1' (names are identifiers like "
        "temp_c)");
  CHECK(SelectError("x =") == "at column 4: expected an expression, found the end of the text");
  CHECK(SelectError("x = tmp") == "at column 5: unknown field 'tmp' (did you mean 'temp'?)");
  CHECK(SelectError("x = n = 1") == "at column 7: unexpected '=' (use == to compare)");
  CHECK(SelectError("temp# = 1") ==
        "at column 5: unexpected character '#' (field names use only letters, digits and _)");
}

// --- aggregate calls -----------------------------------------------------------------------

AggregateCall Aggregate(std::string_view text) {
  Result<AggregateCall> call = ParseAggregateCall(text, Scope(Sensors()));
  INFO(text);
  REQUIRE_MESSAGE(call.ok(), (call.ok() ? std::string() : call.status().message()));
  return std::move(call).value();
}

std::string AggregateError(std::string_view text) {
  Result<AggregateCall> call = ParseAggregateCall(text, Scope(Sensors()));
  INFO(text);
  REQUIRE(!call.ok());
  return call.status().message();
}

TEST_CASE("aggregate items parse into name, function as written and compiled argument") {
  const AggregateCall avg = Aggregate("avg_temp = avg(temp)");
  CHECK(avg.name == "avg_temp");
  CHECK(avg.function == "avg");
  REQUIRE(avg.argument != nullptr);
  CHECK(avg.argument->type() == ValueType::kFloat);
  CHECK(avg.argument->column_index() == std::optional<size_t>(2));

  const AggregateCall count = Aggregate("n = count()");
  CHECK(count.name == "n");
  CHECK(count.function == "count");
  CHECK(count.argument == nullptr);

  const AggregateCall upper = Aggregate(" hi=MAX( temp * 2 ) ");
  CHECK(upper.name == "hi");
  CHECK(upper.function == "MAX");
  REQUIRE(upper.argument != nullptr);
  CHECK(Show(upper.argument->Eval(SensorRow())) == "float 43");

  const AggregateCall nested = Aggregate("m = median(round(temp))");
  CHECK(nested.function == "median");
  CHECK(Show(nested.argument->Eval(SensorRow())) == "float 22");
}

TEST_CASE("malformed aggregate items are errors with hints") {
  CHECK(AggregateError("n = count(*)") ==
        "at column 11: '*' is not an argument (write count() instead)");
  CHECK(AggregateError("count()") ==
        "at column 1: an aggregate needs a name (write name = count())");
  CHECK(AggregateError("x = avg(temp) * 2") ==
        "at column 15: unexpected '*' after the aggregate call (an aggregate item is a single "
        "call; do arithmetic in a select of a view that reads this one)");
  CHECK(AggregateError("x = temp") ==
        "at column 5: expected an aggregate call like avg(temp), found 'temp'");
  CHECK(AggregateError("x = (avg(temp))") ==
        "at column 5: expected an aggregate call like avg(temp), found '('");
  CHECK(AggregateError("x =") ==
        "at column 4: expected an aggregate call like avg(temp), found the end of the text");
  CHECK(AggregateError("x = avg(temp, hum)") ==
        "at column 13: an aggregate takes at most one argument (e.g. avg(temp))");
  CHECK(AggregateError("x = avg(tmp)") ==
        "at column 9: unknown field 'tmp' (did you mean 'temp'?)");
  CHECK(AggregateError("x = avg(temp") ==
        "at column 13: expected ')' to close the call of avg, found the end of the text");
  CHECK(AggregateError("x = avg(temp > 'a')") ==
        "at column 14: cannot compare float with string (convert one side with to_float() or "
        "to_string())");
  CHECK(AggregateError("") == "at column 1: the aggregate item is empty (write name = fn(field))");
  CHECK(AggregateError("and = count()") ==
        "at column 1: 'and' is a keyword and cannot name a column");
}

// --- as-of join scope ----------------------------------------------------------------------

Scope JoinScope() {
  return Scope::Join(
      Schema(
          {{"device", ValueType::kString}, {"ts", ValueType::kInt}, {"temp", ValueType::kFloat}}),
      Schema({{"device", ValueType::kString},
              {"ts", ValueType::kInt},
              {"gain", ValueType::kFloat},
              {"offset", ValueType::kFloat}}));
}

Row JoinRow() {
  return {Value::String("gh-1"), Value::Int(1000),  Value::Float(20.0), Value::String("gh-1"),
          Value::Int(900),       Value::Float(1.5), Value::Float(-0.5)};
}

std::string JoinError(std::string_view text) {
  Result<std::unique_ptr<Expr>> e = CompileExpression(text, JoinScope());
  INFO(text);
  REQUIRE(!e.ok());
  return e.status().message();
}

TEST_CASE("a join scope resolves left. and right. names into the combined row") {
  const Scope scope = JoinScope();
  auto index_of = [&](std::string_view text) {
    Result<std::unique_ptr<Expr>> e = CompileExpression(text, scope);
    REQUIRE(e.ok());
    return (*e)->column_index();
  };
  CHECK(index_of("device") == std::optional<size_t>(0));
  CHECK(index_of("left.device") == std::optional<size_t>(0));
  CHECK(index_of("right.device") == std::optional<size_t>(3));
  CHECK(index_of("right.ts") == std::optional<size_t>(4));
  CHECK(index_of("right.offset") == std::optional<size_t>(6));

  Result<std::unique_ptr<Expr>> calibrated =
      CompileExpression("left.temp * right.gain + right.offset", scope);
  REQUIRE(calibrated.ok());
  CHECK(Show((*calibrated)->Eval(JoinRow())) == "float 29.5");

  Result<Scope::Resolved> gain = scope.Resolve("right", "gain");
  REQUIRE(gain.ok());
  CHECK(gain->index == 5);
  CHECK(gain->type == ValueType::kFloat);

  Result<NamedExpression> item = CompileSelectItem("right.gain", scope);
  REQUIRE(item.ok());
  CHECK(item->name == "gain");
  CHECK(item->expr->column_index() == std::optional<size_t>(5));
  Result<NamedExpression> temp = CompileSelectItem("temp = left.temp * right.gain", scope);
  REQUIRE(temp.ok());
  CHECK(temp->name == "temp");
}

TEST_CASE("a join scope explains names on the wrong side or with a wrong qualifier") {
  CHECK(JoinError("gain") ==
        "at column 1: unknown field 'gain' (bare names refer to the left input; write right.gain)");
  CHECK(JoinError("right.temp") ==
        "at column 1: unknown field 'right.temp' (temp is a field of left: write left.temp)");
  CHECK(JoinError("1 + right.gian") ==
        "at column 5: unknown field 'right.gian' (did you mean 'right.gain'?)");
  CHECK(JoinError("left.zzz") ==
        "at column 1: unknown field 'left.zzz' (fields: left.device, left.ts, left.temp)");
  CHECK(JoinError("lft.temp") ==
        "at column 1: unknown qualifier 'lft' (write left.temp or right.temp)");
  Result<NamedExpression> bad_name = CompileSelectItem("left.temp = 1", JoinScope());
  REQUIRE(!bad_name.ok());
  CHECK(bad_name.status().message() ==
        "at column 1: expected a column name before '=', found 'left.temp' (names are identifiers "
        "like temp_c)");
}

TEST_CASE("a scope with no fields says so") {
  Result<std::unique_ptr<Expr>> e = CompileExpression("x", Scope(Schema()));
  REQUIRE(!e.ok());
  CHECK(e.status().message() == "at column 1: unknown field 'x' (the input has no fields)");
}

}  // namespace
}  // namespace runnel
