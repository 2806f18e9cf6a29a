#include <doctest/doctest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "decode/csv_reader.h"
#include "decode/json_decoder.h"
#include "decode/line_reader.h"
#include "decode/record_encoder.h"
#include "decode/text_value.h"

namespace runnel {
namespace {

// Every record of `text` as "LINE: field|field", quoted fields in <angle brackets>, malformed
// records as "LINE: error: reason". Small chunks and reads make records straddle refills.
std::vector<std::string> ReadCsv(std::string text, size_t chunk = InputBuffer::kDefaultChunk,
                                 size_t max_read = static_cast<size_t>(-1)) {
  StringByteStream stream(std::move(text), max_read);
  CsvReader reader(&stream, /*final_input=*/true, chunk);
  CsvRecord record;
  std::vector<std::string> out;
  while (true) {
    const ReadOutcome outcome = reader.Next(&record);
    REQUIRE(outcome != ReadOutcome::kError);
    if (outcome == ReadOutcome::kEnd) break;
    std::string line = std::to_string(record.line()) + ": ";
    if (outcome == ReadOutcome::kMalformed) {
      out.push_back(line + "error: " + std::string(record.error()));
      continue;
    }
    REQUIRE(outcome == ReadOutcome::kRecord);
    for (size_t i = 0; i < record.size(); ++i) {
      if (i > 0) line += "|";
      const CsvField& f = record.field(i);
      line += f.quoted ? "<" + std::string(f.text) + ">" : std::string(f.text);
    }
    out.push_back(line);
  }
  return out;
}

using Lines = std::vector<std::string>;

TEST_CASE("CSV records split on commas with LF or CRLF endings and track line numbers") {
  CHECK(ReadCsv("a,b,c\n1,2,3\n") == Lines{"1: a|b|c", "2: 1|2|3"});
  CHECK(ReadCsv("a,b,c\r\n1,2,3\r\n") == Lines{"1: a|b|c", "2: 1|2|3"});
  CHECK(ReadCsv("a,b\n1,2") == Lines{"1: a|b", "2: 1|2"});  // no final line break
  CHECK(ReadCsv("a,,\n,x,\n") == Lines{"1: a||", "2: |x|"});
  CHECK(ReadCsv("") == Lines{});
  CHECK(ReadCsv("a\n\n\r\nb\n") == Lines{"1: a", "4: b"});  // empty lines are no records
}

TEST_CASE("CSV skips a UTF-8 byte order mark at the start only") {
  CHECK(ReadCsv("\xEF\xBB\xBFts,v\n1,2\n") == Lines{"1: ts|v", "2: 1|2"});
  CHECK(ReadCsv("\xEF\xBB\xBF") == Lines{});
  CHECK(ReadCsv("x\n\xEF\xBB\xBFy\n") == Lines{"1: x", "2: \xEF\xBB\xBFy"});
}

TEST_CASE("quoted CSV fields hold commas, quotes and line breaks") {
  CHECK(ReadCsv("\"a,b\",\"say \"\"hi\"\"\",\"\"\n") == Lines{"1: <a,b>|<say \"hi\">|<>"});
  CHECK(ReadCsv("1,\"two\nlines\",3\n4,5,6\n") == Lines{"1: 1|<two\nlines>|3", "3: 4|5|6"});
  CHECK(ReadCsv("1,\"crlf\r\ninside\"\r\n2,x\r\n") == Lines{"1: 1|<crlf\r\ninside>", "3: 2|x"});
  CHECK(ReadCsv("\"last\"") == Lines{"1: <last>"});
  CHECK(ReadCsv("a,\"\"\"\"\n") == Lines{"1: a|<\">"});
  // A quote inside an unquoted field is a literal, as in most CSV writers' output.
  CHECK(ReadCsv("5\" pipe,x\n") == Lines{"1: 5\" pipe|x"});
}

TEST_CASE("malformed quoting rejects one record and reading goes on") {
  CHECK(ReadCsv("\"ab\"c,1\nok,2\n") ==
        Lines{"1: error: unexpected character after a closing quote", "2: ok|2"});
  CHECK(ReadCsv("ok,1\n\"open,2\nmore\n") ==
        Lines{"1: ok|1", "2: error: unterminated quoted field"});
}

TEST_CASE("CSV records that straddle buffer refills read the same") {
  std::string text;
  Lines expected;
  for (int i = 0; i < 200; ++i) {
    text += "dev" + std::to_string(i) + ",\"q,\"\"" + std::to_string(i) + "\n\",x\r\n";
    expected.push_back(std::to_string(2 * i + 1) + ": dev" + std::to_string(i) + "|<q,\"" +
                       std::to_string(i) + "\n>|x");
  }
  CHECK(ReadCsv(text, 16, 7) == expected);
  CHECK(ReadCsv(text, 64, 1) == expected);
  CHECK(ReadCsv(text) == expected);
}

TEST_CASE("a CSV record longer than the buffer grows it") {
  const std::string big(100000, 'x');
  CHECK(ReadCsv("a,b\n" + big + ",\"" + big + "\"\nc,d\n", 1024) ==
        Lines{"1: a|b", "2: " + big + "|<" + big + ">", "3: c|d"});
}

TEST_CASE("a CSV reader over input that is not final waits for the end of the last line") {
  StringByteStream stream("a,b\n1,2");
  CsvReader reader(&stream, /*final_input=*/false);
  CsvRecord record;
  REQUIRE(reader.Next(&record) == ReadOutcome::kRecord);
  CHECK(reader.Next(&record) == ReadOutcome::kNeedMore);
  CHECK(reader.offset() == 4);
}

TEST_CASE("lines split on LF or CRLF after a byte order mark") {
  StringByteStream stream("\xEF\xBB\xBF{\"a\":1}\r\n\n{\"b\":2}");
  LineReader reader(&stream);
  std::string_view line;
  uint64_t number = 0;
  std::vector<std::string> got;
  while (reader.Next(&line, &number) == ReadOutcome::kRecord) {
    got.push_back(std::to_string(number) + ": " + std::string(line));
  }
  CHECK(got == Lines{"1: {\"a\":1}", "2: ", "3: {\"b\":2}"});
}

// The parsed value's debug text, or "error: message".
std::string Text(std::string_view text, ValueType type, std::vector<std::string> nulls = {},
                 bool quoted = false) {
  Value v = Value::String("unset");
  Status status = ParseTextValue(text, type, NullValues(std::move(nulls)), &v, quoted);
  return status.ok() ? v.DebugString() : "error: " + status.message();
}

TEST_CASE("text parses to ints with trimming, a plus sign and integral floats") {
  CHECK(Text("42", ValueType::kInt) == "42");
  CHECK(Text(" +42 ", ValueType::kInt) == "42");
  CHECK(Text("-9223372036854775808", ValueType::kInt) == "-9223372036854775808");
  CHECK(Text("3.0", ValueType::kInt) == "3");
  CHECK(Text("", ValueType::kInt) == "null");
  CHECK(Text("  ", ValueType::kInt) == "null");
  CHECK(Text("NA", ValueType::kInt, {"NA"}) == "null");
  CHECK(Text("-200", ValueType::kInt, {"-200"}) == "null");
  CHECK(Text("3.5", ValueType::kInt) == "error: invalid int \"3.5\"");
  CHECK(Text("12a", ValueType::kInt) == "error: invalid int \"12a\"");
  CHECK(Text("+-1", ValueType::kInt) == "error: invalid int \"+-1\"");
  CHECK(Text("9223372036854775808", ValueType::kInt) ==
        "error: int \"9223372036854775808\" is out of range");
  CHECK(Text("nan", ValueType::kInt) == "error: invalid int \"nan\"");
}

TEST_CASE("text parses to finite floats; NaN reads as null and infinity is an error") {
  CHECK(Text("1.5", ValueType::kFloat) == "1.5");
  CHECK(Text(" +0.1 ", ValueType::kFloat) == "0.1");
  CHECK(Text("-2e3", ValueType::kFloat) == "-2000");
  CHECK(Text("7", ValueType::kFloat) == "7");
  CHECK(Text("nan", ValueType::kFloat) == "null");
  CHECK(Text("NaN", ValueType::kFloat) == "null");
  CHECK(Text("", ValueType::kFloat) == "null");
  CHECK(Text("1e-400", ValueType::kFloat) == "0");
  CHECK(Text("inf", ValueType::kFloat) == "error: float \"inf\" is infinite");
  CHECK(Text("-Infinity", ValueType::kFloat) == "error: float \"-Infinity\" is infinite");
  CHECK(Text("1e400", ValueType::kFloat) == "error: float \"1e400\" is out of range");
  CHECK(Text("1.5.2", ValueType::kFloat) == "error: invalid float \"1.5.2\"");
  CHECK(Text("0x10", ValueType::kFloat) == "error: invalid float \"0x10\"");
}

TEST_CASE("text parses to bools in any case and to strings as is") {
  CHECK(Text("true", ValueType::kBool) == "true");
  CHECK(Text("FALSE", ValueType::kBool) == "false");
  CHECK(Text(" 1", ValueType::kBool) == "true");
  CHECK(Text("0", ValueType::kBool) == "false");
  CHECK(Text("yes", ValueType::kBool) == "error: invalid bool \"yes\" (use true, false, 1 or 0)");
  CHECK(Text(" padded ", ValueType::kString) == "\" padded \"");
  CHECK(Text("", ValueType::kString) == "null");
  CHECK(Text("", ValueType::kString, {}, /*quoted=*/true) == "\"\"");
  CHECK(Text("", ValueType::kInt, {}, /*quoted=*/true) == "null");
  CHECK(Text("NA", ValueType::kString, {"NA"}) == "null");
}

TEST_CASE("the fast number paths agree bit for bit with std::from_chars") {
  // Random short decimals and integers, the shapes the fast paths take, plus their edges.
  std::mt19937_64 rng(42);
  std::vector<std::string> texts = {"0",
                                    "-0",
                                    "0.0",
                                    "-0.0",
                                    ".5",
                                    "5.",
                                    "-.5",
                                    "999999999999999",
                                    "9999999999999999",
                                    "0.1",
                                    "0.3",
                                    "123456789012345678",
                                    "1234567890123456789",
                                    "-1700000000000",
                                    "00000000000000001",
                                    "12345678",
                                    "-12345678",
                                    "123456789"};
  for (int i = 0; i < 20000; ++i) {
    std::string t = (rng() % 4 == 0) ? "-" : "";
    const int int_digits = static_cast<int>(rng() % 19);
    for (int d = 0; d < int_digits; ++d) t += static_cast<char>('0' + rng() % 10);
    if (rng() % 2 == 0) {
      t += '.';
      const int frac_digits = static_cast<int>(rng() % 12);
      for (int d = 0; d < frac_digits; ++d) t += static_cast<char>('0' + rng() % 10);
    }
    texts.push_back(t);
  }
  for (const std::string& t : texts) {
    CAPTURE(t);
    double expected_d = 0;
    auto fr = std::from_chars(t.data(), t.data() + t.size(), expected_d);
    double got_d = 0;
    const bool float_ok = TryParseFloat(t, &got_d);
    if (fr.ec == std::errc() && fr.ptr == t.data() + t.size()) {
      REQUIRE(float_ok);
      CHECK(std::bit_cast<uint64_t>(got_d) == std::bit_cast<uint64_t>(expected_d));
    } else {
      CHECK(!float_ok);
    }
    int64_t expected_i = 0;
    auto ir = std::from_chars(t.data(), t.data() + t.size(), expected_i);
    int64_t got_i = 0;
    if (ir.ec == std::errc() && ir.ptr == t.data() + t.size()) {
      REQUIRE(TryParseInt(t, &got_i));
      CHECK(got_i == expected_i);
    }
  }
}

// The decoded row as debug texts, or "error: message".
std::string Json(std::string_view line, std::vector<std::string> nulls = {}) {
  JsonRecordDecoder decoder({{"i", ValueType::kInt},
                             {"f", ValueType::kFloat},
                             {"b", ValueType::kBool},
                             {"s", ValueType::kString}},
                            NullValues(std::move(nulls)));
  Row row;
  Status status = decoder.Decode(line, &row);
  if (!status.ok()) return "error: " + status.message();
  std::string out;
  for (const Value& v : row) out += (out.empty() ? "" : " ") + v.DebugString();
  return out;
}

TEST_CASE("JSON objects decode by key into typed columns") {
  CHECK(Json(R"({"i": 7, "f": 1.5, "b": true, "s": "x"})") == "7 1.5 true \"x\"");
  CHECK(Json(R"({"s": "x", "extra": [1, {"n": 2}], "i": -3})") == "-3 null null \"x\"");
  CHECK(Json(R"({})") == "null null null null");
  CHECK(Json(R"({"i": null, "f": null, "b": null, "s": null})") == "null null null null");
  CHECK(Json(R"({"i": 1, "i": 2})") == "2 null null null");  // the last duplicate wins
}

TEST_CASE("JSON numbers convert between int, float and string columns") {
  CHECK(Json(R"({"i": 3.0})") == "3 null null null");
  CHECK(Json(R"({"i": "42", "f": "2.5"})") == "42 2.5 null null");
  CHECK(Json(R"({"i": "", "f": ""})") == "null null null null");
  CHECK(Json(R"({"f": 2})") == "null 2 null null");
  CHECK(Json(R"({"f": "NaN"})") == "null null null null");
  CHECK(Json(R"({"s": 12})") == "null null null \"12\"");
  CHECK(Json(R"({"s": 1.25})") == "null null null \"1.25\"");
  CHECK(Json(R"({"s": ""})") == "null null null \"\"");
  CHECK(Json(R"({"i": -200, "f": -200.0, "s": "-200"})", {"-200"}) == "null null null null");
  CHECK(Json(R"({"i": 3.5})") == "error: field 'i': invalid int \"3.5\"");
  CHECK(Json(R"({"i": 18446744073709551615})") ==
        "error: field 'i': int \"18446744073709551615\" is out of range");
  CHECK(Json(R"({"i": "x"})") == "error: field 'i': invalid int \"x\"");
}

TEST_CASE("JSON values of the wrong kind fail the whole line") {
  CHECK(Json(R"({"b": 1})") == "error: field 'b': expected bool, found a number");
  CHECK(Json(R"({"b": "true"})") == "error: field 'b': expected bool, found a string");
  CHECK(Json(R"({"s": true})") == "error: field 's': expected string, found a bool");
  CHECK(Json(R"({"f": [1]})") == "error: field 'f': expected float, found an array");
  CHECK(Json(R"({"i": {"v": 1}})") == "error: field 'i': expected int, found an object");
  CHECK(Json(R"([1, 2])") == "error: expected a JSON object, found an array");
  CHECK(Json(R"("text")") == "error: expected a JSON object, found a string");
}

TEST_CASE("invalid JSON is rejected, including truncated lines and trailing text") {
  const std::string kStructure =
      "error: invalid JSON: The JSON document has an improper structure: missing or superfluous "
      "commas, braces, missing keys, etc.";
  CHECK(Json(R"({"i": 1)") == kStructure);
  CHECK(Json(R"({"i": 1,})") == kStructure);
  CHECK(Json(R"({"i": 1} x)") == kStructure);
  CHECK(Json(R"({"i": 1}{"i": 2})") == kStructure);
  CHECK(Json(R"({"i": tru})") ==
        "error: invalid JSON: Problem while parsing an atom starting with the letter 't'");
  CHECK(Json(R"({"f": 1e400})") == "error: invalid JSON: Problem while parsing a number");
}

std::string Csv(const Value& v) {
  std::string out;
  AppendCsvField(out, v);
  return out;
}

std::string JsonText(const Value& v) {
  std::string out;
  AppendJsonValue(out, v);
  return out;
}

TEST_CASE("values encode as CSV fields, quoting only strings that need it") {
  CHECK(Csv(Value()) == "");
  CHECK(Csv(Value::Bool(true)) == "true");
  CHECK(Csv(Value::Int(-42)) == "-42");
  CHECK(Csv(Value::Float(0.1)) == "0.1");
  CHECK(Csv(Value::Float(1e21)) == "1e+21");
  CHECK(Csv(Value::Float(-0.0)) == "-0");
  CHECK(Csv(Value::String("plain text")) == "plain text");
  CHECK(Csv(Value::String("")) == "\"\"");
  CHECK(Csv(Value::String("a,b")) == "\"a,b\"");
  CHECK(Csv(Value::String("say \"hi\"")) == "\"say \"\"hi\"\"\"");
  CHECK(Csv(Value::String("two\nlines")) == "\"two\nlines\"");
  CHECK(Csv(Value::String("cr\r")) == "\"cr\r\"");
  CHECK(Csv(Value::String(" lead")) == "\" lead\"");
  CHECK(Csv(Value::String("trail ")) == "\"trail \"");
}

TEST_CASE("values encode as JSON with RFC 8259 string escapes") {
  CHECK(JsonText(Value()) == "null");
  CHECK(JsonText(Value::Bool(false)) == "false");
  CHECK(JsonText(Value::Int(7)) == "7");
  CHECK(JsonText(Value::Float(0.1)) == "0.1");
  CHECK(JsonText(Value::Float(1e21)) == "1e+21");
  CHECK(JsonText(Value::Float(-0.0)) == "-0");
  CHECK(JsonText(Value::String("a\"b\\c/d")) == R"("a\"b\\c/d")");
  CHECK(JsonText(Value::String("\b\f\n\r\t")) == R"("\b\f\n\r\t")");
  CHECK(JsonText(Value::String(std::string("\x01\x1f\x00", 3))) == R"("\u0001\u001f\u0000")");
  CHECK(JsonText(Value::String("caf\xC3\xA9")) == "\"caf\xC3\xA9\"");
}

TEST_CASE("CSV encoding reads back to the same values") {
  const std::vector<ValueType> types = {ValueType::kString, ValueType::kString, ValueType::kString,
                                        ValueType::kString, ValueType::kString, ValueType::kString,
                                        ValueType::kFloat,  ValueType::kFloat,  ValueType::kFloat,
                                        ValueType::kInt,    ValueType::kBool,   ValueType::kFloat};
  const Row row = {Value::String("a,b"),
                   Value::String("say \"hi\""),
                   Value::String("two\nlines"),
                   Value::String(""),
                   Value(),
                   Value::String(" padded "),
                   Value::Float(0.1),
                   Value::Float(1e21),
                   Value::Float(-0.0),
                   Value::Int(-9223372036854775807),
                   Value::Bool(true),
                   Value::Float(5e-324)};
  std::string line;
  for (size_t i = 0; i < row.size(); ++i) {
    if (i > 0) line += ',';
    AppendCsvField(line, row[i]);
  }
  line += "\r\n";
  StringByteStream stream(line + line, 5);
  CsvReader reader(&stream, true, 32);
  CsvRecord record;
  for (int copy = 0; copy < 2; ++copy) {
    REQUIRE(reader.Next(&record) == ReadOutcome::kRecord);
    REQUIRE(record.size() == row.size());
    Row decoded(row.size());
    for (size_t i = 0; i < row.size(); ++i) {
      REQUIRE(ParseTextValue(record.field(i).text, types[i], NullValues(), &decoded[i],
                             record.field(i).quoted)
                  .ok());
    }
    CHECK(decoded == row);
    CHECK(std::signbit(decoded[8].AsFloat()));
  }
  CHECK(reader.Next(&record) == ReadOutcome::kEnd);
}

TEST_CASE("JSON encoding reads back to the same values") {
  const Row row = {Value::Int(-5), Value::Float(0.1), Value::Bool(false),
                   Value::String("q\"\\\n\x01 \xC3\xA9")};
  std::string line = "{";
  const char* keys[] = {"i", "f", "b", "s"};
  for (size_t i = 0; i < row.size(); ++i) {
    if (i > 0) line += ", ";
    AppendJsonString(line, keys[i]);
    line += ": ";
    AppendJsonValue(line, row[i]);
  }
  line += "}";
  JsonRecordDecoder decoder({{"i", ValueType::kInt},
                             {"f", ValueType::kFloat},
                             {"b", ValueType::kBool},
                             {"s", ValueType::kString}},
                            NullValues());
  Row decoded;
  REQUIRE(decoder.Decode(line, &decoded).ok());
  CHECK(decoded == row);
}

}  // namespace
}  // namespace runnel
