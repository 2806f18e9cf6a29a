#include "decode/payload_decoder.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace runnel {
namespace {

using Strings = std::vector<std::string>;

PayloadField Field(std::string name, ValueType type, std::string path = "") {
  PayloadField f;
  f.path = path.empty() ? name : std::move(path);
  f.name = std::move(name);
  f.type = type;
  return f;
}

PayloadField Binary(std::string name, BinaryType type, size_t offset) {
  PayloadField f;
  f.name = std::move(name);
  f.binary = type;
  f.byte_offset = offset;
  return f;
}

std::unique_ptr<PayloadDecoder> Make(PayloadSpec spec) {
  Result<std::unique_ptr<PayloadDecoder>> decoder = PayloadDecoder::Create(std::move(spec));
  if (!decoder.ok()) FAIL(decoder.status().message());
  return std::move(decoder).value();
}

std::string SpecError(PayloadSpec spec) {
  Result<std::unique_ptr<PayloadDecoder>> decoder = PayloadDecoder::Create(std::move(spec));
  if (decoder.ok()) FAIL("created, but an error was expected");
  return decoder.status().message();
}

// A value as DebugString writes it, but floats always show as floats ("2.0", not "2").
std::string Text(const Value& v) {
  std::string text = v.DebugString();
  if (v.type() == ValueType::kFloat && text.find_first_of(".en") == std::string::npos) {
    text += ".0";
  }
  return text;
}

// "@TIME [v, v, ...]" or "REASON: message".
std::string Decode(PayloadDecoder& decoder, std::string_view payload, Strings topic = {},
                   Timestamp arrival = 5) {
  std::vector<std::string_view> values(topic.begin(), topic.end());
  DecodedRecord record;
  const DecodeStatus status = decoder.Decode(values, payload, arrival, &record);
  if (!status.ok()) {
    CHECK(status.ToStatus().code() == StatusCode::kInvalid);
    return status.reason() + ": " + status.message();
  }
  REQUIRE(record.row.size() == decoder.schema().size());
  std::string out = "@" + std::to_string(record.time) + " [";
  for (size_t i = 0; i < record.row.size(); ++i) {
    out += (i > 0 ? ", " : "") + Text(record.row[i]);
  }
  return out + "]";
}

std::string SchemaOf(const PayloadDecoder& decoder) {
  std::string out;
  for (const Column& c : decoder.schema().columns()) {
    out += (out.empty() ? "" : ", ") + c.name + ":" + std::string(TypeName(c.type));
  }
  return out;
}

// The SPEC §5 example profile as a spec.
PayloadSpec EnvSpec() {
  PayloadSpec spec;
  spec.name = "esp32-bme280";
  spec.format = PayloadFormat::kJson;
  spec.topic_fields = {"device"};
  spec.time_column = "ts";
  spec.time_field = Field("ts", ValueType::kFloat);
  spec.time_unit = TimeUnit::kMillis;
  PayloadField temp = Field("temp", ValueType::kFloat, "t");
  temp.min = -40;
  temp.max = 85;
  PayloadField pressure = Field("pressure", ValueType::kFloat, "p");
  pressure.scale = 0.01;
  spec.fields = {temp, Field("hum", ValueType::kFloat, "h"), pressure,
                 Field("battery", ValueType::kInt, "bat")};
  return spec;
}

TEST_CASE("JSON payloads decode into topic fields, the time column, then the fields") {
  auto d = Make(EnvSpec());
  CHECK(SchemaOf(*d) ==
        "device:string, ts:int, temp:float, hum:float, pressure:float, "
        "battery:int");
  CHECK(Decode(*d, R"({"ts":1700000000000,"t":21.5,"h":48.2,"p":101325,"bat":87})", {"esp-1"}) ==
        R"(@1700000000000 ["esp-1", 1700000000000, 21.5, 48.2, 1013.25, 87])");
  // Key order does not matter, unknown keys are ignored, missing or null keys are null.
  CHECK(Decode(*d, R"({"rssi":-70,"bat":null,"t":-3,"ts":1})", {"x"}) ==
        R"(@1 ["x", 1, -3.0, null, null, null])");
  // Whitespace and a trailing line break are fine.
  CHECK(Decode(*d, " {\"ts\": 2, \"t\": 1.0e1}\r\n", {"x"}) ==
        R"(@2 ["x", 2, 10.0, null, null, null])");
}

TEST_CASE("JSON values convert like the JSON Lines decoder: quoted numbers, integral floats") {
  auto d = Make(EnvSpec());
  CHECK(Decode(*d, R"({"ts":"1700000000000","t":"21.5","bat":"87"})", {"x"}) ==
        R"(@1700000000000 ["x", 1700000000000, 21.5, null, null, 87])");
  CHECK(Decode(*d, R"({"ts":3,"bat":87.0})", {"x"}) == R"(@3 ["x", 3, null, null, null, 87])");
  CHECK(Decode(*d, R"({"ts":3,"bat":87.5})", {"x"}) ==
        "bad_value:battery: field 'battery': expected int, found 87.5");
  CHECK(Decode(*d, R"({"ts":3,"bat":"lots"})", {"x"}) ==
        "bad_value:battery: field 'battery': invalid int \"lots\"");
  CHECK(Decode(*d, R"({"ts":3,"bat":true})", {"x"}) ==
        "bad_value:battery: field 'battery': expected int, found a bool");
  CHECK(Decode(*d, R"({"ts":3,"t":[1]})", {"x"}) ==
        "bad_value:temp: field 'temp': expected float, found an array");
  CHECK(Decode(*d, R"({"ts":3,"bat":18446744073709551615})", {"x"}) ==
        "out_of_range:battery: field 'battery': integer is larger than the int64 range");
}

TEST_CASE("JSON paths follow nested objects and index arrays") {
  PayloadSpec spec;
  spec.name = "nested";
  spec.time_field = Field("ts", ValueType::kInt, "meta.time");
  spec.time_unit = TimeUnit::kSeconds;
  spec.fields = {Field("t", ValueType::kFloat, "env.t"), Field("first", ValueType::kInt, "r.0"),
                 Field("third", ValueType::kInt, "r.2"), Field("deep", ValueType::kString, "a.1.b"),
                 Field("id", ValueType::kString, "id"),  Field("on", ValueType::kBool, "on")};
  auto d = Make(spec);
  CHECK(Decode(*d,
               R"({"meta":{"time":10},"env":{"t":1.5},"r":[7,8,9],"a":[{},{"b":"x"}],)"
               R"("id":12345,"on":false})") == R"(@10000 [10000, 1.5, 7, 9, "x", "12345", false])");
  // A step into a non-container, an index past the end, or a key on an array is missing.
  CHECK(Decode(*d, R"({"meta":{"time":10},"env":5,"r":[7],"a":{"1":{"b":"k"}}})") ==
        R"(@10000 [10000, null, 7, null, "k", null, null])");
  CHECK(Decode(*d, R"({"meta":{"time":10},"env":{"t":{"x":1}}})") ==
        "bad_value:t: field 't': expected float, found an object");
  // Flags as 0/1 read as bools, as in csv and kv; other numbers do not.
  CHECK(Decode(*d, R"({"meta":{"time":10},"on":1})") ==
        R"(@10000 [10000, null, null, null, null, null, true])");
  CHECK(Decode(*d, R"({"meta":{"time":10},"on":2})") ==
        "bad_value:on: field 'on': expected bool, found a number");
}

TEST_CASE("Payloads that are not JSON objects are rejected with a reason") {
  auto d = Make(EnvSpec());
  CHECK(Decode(*d, "", {"x"}) == "empty: empty payload");
  CHECK(Decode(*d, "{\"ts\":1", {"x"}).starts_with("invalid_json: invalid JSON: "));
  CHECK(Decode(*d, "{\"ts\":1} x", {"x"}).starts_with("invalid_json: "));
  CHECK(Decode(*d, "\xff\xfe", {"x"}).starts_with("invalid_json: "));
  CHECK(Decode(*d, "[1,2]", {"x"}) == "not_object: expected a JSON object, found an array");
  CHECK(Decode(*d, "42", {"x"}) == "not_object: expected a JSON object, found a number");
}

TEST_CASE("The time must be present and valid; time units normalise to epoch ms") {
  auto d = Make(EnvSpec());
  CHECK(Decode(*d, R"({"t":1})", {"x"}) == "missing_time: time field 'ts': missing or null");
  CHECK(Decode(*d, R"({"ts":null})", {"x"}) == "missing_time: time field 'ts': missing or null");
  CHECK(Decode(*d, R"({"ts":"soon"})", {"x"}) ==
        "bad_time: time field 'ts': invalid number \"soon\"");
  CHECK(Decode(*d, R"({"ts":true})", {"x"}) ==
        "bad_time: time field 'ts': expected a number, found a bool");
  CHECK(Decode(*d, R"({"ts":1e300})", {"x"}) ==
        "bad_time: time field 'ts': time 1e+300 is out of range");

  PayloadSpec seconds = EnvSpec();
  seconds.time_unit = TimeUnit::kSeconds;
  auto s = Make(seconds);
  CHECK(Decode(*s, R"({"ts":1700000000.25})", {"x"}) ==
        R"(@1700000000250 ["x", 1700000000250, null, null, null, null])");

  PayloadSpec iso = EnvSpec();
  iso.time_unit = TimeUnit::kIso8601;
  iso.time_field = Field("ts", ValueType::kString, "time");
  auto i = Make(iso);
  CHECK(Decode(*i, R"({"time":"2023-11-14T22:13:20.5Z"})", {"x"}) ==
        R"(@1700000000500 ["x", 1700000000500, null, null, null, null])");
  CHECK(Decode(*i, R"({"time":1700000000})", {"x"})
            .starts_with("bad_time: time field 'ts': invalid ISO 8601 time \"1700000000\""));
  CHECK(Decode(*i, R"({"time":"yesterday"})", {"x"}).starts_with("bad_time: time field 'ts': "));
}

TEST_CASE("Without a time field the record is stamped with the arrival time") {
  PayloadSpec spec = EnvSpec();
  spec.time_field.reset();
  auto d = Make(spec);
  CHECK(Decode(*d, R"({"ts":1,"t":2})", {"x"}, 1234) ==
        R"(@1234 ["x", 1234, 2.0, null, null, null])");
}

TEST_CASE("Scale and offset convert raw units; min and max bound the converted value") {
  PayloadSpec spec;
  spec.name = "conv";
  PayloadField f = Field("f", ValueType::kInt, "raw");
  f.scale = 0.5;
  f.add = -40;
  f.min = -40;
  f.max = 85;
  PayloadField tenth = Field("tenth", ValueType::kInt);
  tenth.scale = 0.1;
  PayloadField big = Field("big", ValueType::kFloat);
  big.scale = 1e300;
  spec.fields = {f, tenth, big};
  auto d = Make(spec);
  CHECK(SchemaOf(*d) == "ts:int, f:float, tenth:float, big:float");
  CHECK(Decode(*d, R"({"raw":130})") == "@5 [5, 25.0, null, null]");
  CHECK(Decode(*d, R"({"raw":0})") == "@5 [5, -40.0, null, null]");   // min is inclusive
  CHECK(Decode(*d, R"({"raw":250})") == "@5 [5, 85.0, null, null]");  // max is inclusive
  CHECK(Decode(*d, R"({"raw":251})") == "out_of_range:f: field 'f': 85.5 is above the maximum 85");
  CHECK(Decode(*d, R"({"raw":-1})") == "out_of_range:f: field 'f': -40.5 is below the minimum -40");
  // Decimal scales divide, so that 3 * 0.1 reads 0.3 and not 0.30000000000000004.
  CHECK(Decode(*d, R"({"tenth":3})") == "@5 [5, null, 0.3, null]");
  CHECK(Decode(*d, R"({"big":1e300})") ==
        "out_of_range:big: field 'big': converted value is not finite");
  // A null value is not range-checked.
  CHECK(Decode(*d, R"({"raw":null})") == "@5 [5, null, null, null]");
}

TEST_CASE("Required fields reject the payload when missing or null") {
  PayloadSpec spec;
  spec.name = "req";
  PayloadField f = Field("v", ValueType::kFloat);
  f.required = true;
  spec.fields = {f};
  spec.time_field.reset();
  auto d = Make(spec);
  CHECK(Decode(*d, R"({"v":1})") == "@5 [5, 1.0]");
  CHECK(Decode(*d, R"({"w":1})") == "missing:v: field 'v': missing or null");
  CHECK(Decode(*d, R"({"v":null})") == "missing:v: field 'v': missing or null");
}

TEST_CASE("Null values from the spec read as null in JSON strings") {
  PayloadSpec spec = EnvSpec();
  spec.null_values = {"NA", "-999"};
  spec.fields.push_back(Field("state", ValueType::kString, "s"));
  auto d = Make(spec);
  CHECK(Decode(*d, R"({"ts":1,"t":"NA","s":"NA","bat":-999})", {"x"}) ==
        R"(@1 ["x", 1, null, null, null, -999, null])");
  CHECK(Decode(*d, R"({"ts":1,"s":""})", {"x"}) == R"(@1 ["x", 1, null, null, null, null, ""])");
}

PayloadSpec MeterSpec() {
  PayloadSpec spec;
  spec.name = "energy-meter";
  spec.format = PayloadFormat::kCsv;
  spec.topic_fields = {"site", "device"};
  spec.csv_columns = {"ts", "voltage", "current", "power", "energy_kwh"};
  spec.time_field = Field("ts", ValueType::kFloat);
  spec.time_unit = TimeUnit::kSeconds;
  PayloadField energy = Field("energy_kwh", ValueType::kFloat);
  energy.required = true;
  spec.fields = {Field("voltage", ValueType::kFloat), Field("power", ValueType::kFloat), energy};
  return spec;
}

TEST_CASE("CSV payloads are one line of columns; fields pick theirs by name") {
  auto d = Make(MeterSpec());
  CHECK(SchemaOf(*d) ==
        "site:string, device:string, ts:int, voltage:float, power:float, "
        "energy_kwh:float");
  CHECK(Decode(*d, "1700000000.250,230.4,5.12,1179.6,15234.75", {"plant-1", "em-07"}) ==
        R"(@1700000000250 ["plant-1", "em-07", 1700000000250, 230.4, 1179.6, 15234.75])");
  CHECK(Decode(*d, "1700000000,230.4,,1179.6,1\r\n", {"a", "b"}) ==
        R"(@1700000000000 ["a", "b", 1700000000000, 230.4, 1179.6, 1.0])");
  CHECK(Decode(*d, "1,,,,2\n", {"a", "b"}) == R"(@1000 ["a", "b", 1000, null, null, 2.0])");
  CHECK(Decode(*d, "\"1\",\"230\",x,\"1\"\"\",2", {"a", "b"}) ==
        "bad_value:power: field 'power': invalid float \"1\"\"");
  CHECK(Decode(*d, " 1 , 230.5 ,x, +7 ,2", {"a", "b"}) ==
        R"(@1000 ["a", "b", 1000, 230.5, 7.0, 2.0])");
}

TEST_CASE("Bad CSV payloads are rejected with a reason") {
  auto d = Make(MeterSpec());
  const Strings topic{"a", "b"};
  CHECK(Decode(*d, "1,2,3,4", topic) == "column_count: 4 columns, expected 5");
  CHECK(Decode(*d, "1,2,3,4,5,6", topic) == "column_count: more than 5 columns, expected 5");
  CHECK(Decode(*d, "1,2,3,4,5,", topic) == "column_count: more than 5 columns, expected 5");
  CHECK(Decode(*d, "1,2,3,4,5\n1,2,3,4,5", topic) ==
        "invalid_csv: more than one line (send one record per message)");
  CHECK(Decode(*d, "1,\"2,3,4,5", topic) == "invalid_csv: unterminated quoted field");
  CHECK(Decode(*d, "1,\"2\"x,3,4,5", topic) == "invalid_csv: text after a closing quote");
  CHECK(Decode(*d, "1,2,3,4,", topic) == "missing:energy_kwh: field 'energy_kwh': missing or null");
  CHECK(Decode(*d, ",2,3,4,5", topic) == "missing_time: time field 'ts': missing or null");
  CHECK(Decode(*d, "x,2,3,4,5", topic) == "bad_time: time field 'ts': invalid number \"x\"");
  CHECK(Decode(*d, "1,abc,3,4,5", topic) ==
        "bad_value:voltage: field 'voltage': invalid float \"abc\"");
}

TEST_CASE("CSV honours the separator, quoting, and rejects invalid UTF-8 in strings") {
  PayloadSpec spec;
  spec.name = "semi";
  spec.format = PayloadFormat::kCsv;
  spec.csv_columns = {"name", "v"};
  spec.csv_separator = ';';
  spec.fields = {Field("name", ValueType::kString), Field("v", ValueType::kFloat)};
  auto d = Make(spec);
  CHECK(Decode(*d, "a,b;1,5") == "bad_value:v: field 'v': invalid float \"1,5\"");
  CHECK(Decode(*d, "\"a;\"\"b\"\"\";2") == R"(@5 [5, "a;"b"", 2.0])");
  CHECK(Decode(*d, "\"\";2") == R"(@5 [5, "", 2.0])");  // quoted empty: the empty string
  CHECK(Decode(*d, ";2") == "@5 [5, null, 2.0]");       // unquoted empty: null
  CHECK(Decode(*d, "\xC3\x28;2") == "bad_value:name: field 'name': text is not valid UTF-8");
  CHECK(Decode(*d, "\xEF\xBB\xBFx;2") == R"(@5 [5, "x", 2.0])");  // a byte order mark
}

PayloadSpec PlugSpec() {
  PayloadSpec spec;
  spec.name = "smart-plug";
  spec.format = PayloadFormat::kKv;
  spec.topic_fields = {"device"};
  PayloadField relay = Field("relay", ValueType::kBool);
  relay.required = true;
  PayloadField power = Field("power", ValueType::kFloat);
  power.min = 0;
  spec.fields = {relay, power, Field("label", ValueType::kString, "name")};
  return spec;
}

TEST_CASE("Key=value payloads split on commas and spaces; unknown keys are ignored") {
  auto d = Make(PlugSpec());
  CHECK(SchemaOf(*d) == "device:string, ts:int, relay:bool, power:float, label:string");
  CHECK(Decode(*d, "relay=1 power=12.5 uptime=86400", {"kettle"}, 99) ==
        R"(@99 ["kettle", 99, true, 12.5, null])");
  CHECK(Decode(*d, "relay=false,power=0,name=\"living room, left\"", {"k"}) ==
        R"(@5 ["k", 5, false, 0.0, "living room, left"])");
  CHECK(Decode(*d, "  relay=1 ,\tpower= \r\n", {"k"}) == R"(@5 ["k", 5, true, null, null])");
  CHECK(Decode(*d, "relay=1 relay=0", {"k"}) == R"(@5 ["k", 5, true, null, null])");  // first wins
  CHECK(Decode(*d, "relay=1 name=\"\"", {"k"}) == R"(@5 ["k", 5, true, null, ""])");
}

TEST_CASE("Bad key=value payloads are rejected with a reason") {
  auto d = Make(PlugSpec());
  const Strings topic{"k"};
  CHECK(Decode(*d, "relay=1 power", topic) ==
        "invalid_kv: \"power\" is no key=value pair (write e.g. power=12.5)");
  CHECK(Decode(*d, "relay=1 =3", topic) == "invalid_kv: a pair has no key");
  CHECK(Decode(*d, "relay=1 name=\"x", topic) ==
        "invalid_kv: value of \"name\": unterminated quote");
  CHECK(Decode(*d, "relay=1 name=\"x\"y", topic) ==
        "invalid_kv: value of \"name\": text after a closing quote");
  CHECK(Decode(*d, "power=1", topic) == "missing:relay: field 'relay': missing or null");
  CHECK(Decode(*d, "relay=maybe", topic) ==
        "bad_value:relay: field 'relay': invalid bool \"maybe\" (use true, false, 1 or 0)");
  CHECK(Decode(*d, "relay=1 power=-1", topic) ==
        "out_of_range:power: field 'power': -1 is below the minimum 0");
}

PayloadSpec SoilSpec(ByteOrder order) {
  PayloadSpec spec;
  spec.name = "lora-soil";
  spec.format = PayloadFormat::kBinary;
  spec.topic_fields = {"device"};
  spec.byte_order = order;
  spec.binary_length = 10;
  spec.time_field = Binary("ts", BinaryType::kU32, 6);
  spec.time_unit = TimeUnit::kSeconds;
  PayloadField moisture = Binary("moisture", BinaryType::kU16, 0);
  moisture.scale = 0.1;
  moisture.max = 100;
  PayloadField temp = Binary("soil_temp", BinaryType::kI16, 2);
  temp.scale = 0.01;
  spec.fields = {moisture, temp, Binary("battery", BinaryType::kU16, 4)};
  return spec;
}

TEST_CASE("Binary payloads read fields at offsets in the given byte order") {
  auto big = Make(SoilSpec(ByteOrder::kBig));
  CHECK(SchemaOf(*big) == "device:string, ts:int, moisture:float, soil_temp:float, battery:int");
  CHECK(Decode(*big, std::string("\x02\x1c\x08\xe5\x0e\x10\x65\x53\xf1\x00", 10), {"eui"}) ==
        R"(@1700000000000 ["eui", 1700000000000, 54.0, 22.77, 3600])");
  // Negative i16: 0xFC18 = -1000 -> -10.0 degC.
  CHECK(Decode(*big, std::string("\x00\x00\xfc\x18\x00\x00\x00\x00\x00\x01", 10), {"e"}) ==
        R"(@1000 ["e", 1000, 0.0, -10.0, 0])");
  auto little = Make(SoilSpec(ByteOrder::kLittle));
  CHECK(Decode(*little, std::string("\x1c\x02\xe5\x08\x10\x0e\x00\xf1\x53\x65", 10), {"eui"}) ==
        R"(@1700000000000 ["eui", 1700000000000, 54.0, 22.77, 3600])");
}

TEST_CASE("Binary payloads of the wrong length or out of range are rejected") {
  auto d = Make(SoilSpec(ByteOrder::kBig));
  CHECK(Decode(*d, std::string(9, '\0'), {"e"}) == "bad_length: payload is 9 bytes, expected 10");
  CHECK(Decode(*d, std::string(11, '\0'), {"e"}) == "bad_length: payload is 11 bytes, expected 10");
  CHECK(Decode(*d, std::string("\x03\xe9\x00\x00\x00\x00\x00\x00\x00\x01", 10), {"e"}) ==
        "out_of_range:moisture: field 'moisture': 100.1 is above the maximum 100");
}

TEST_CASE("Every binary wire type decodes with sign, width and float semantics") {
  PayloadSpec spec;
  spec.name = "types";
  spec.format = PayloadFormat::kBinary;
  spec.byte_order = ByteOrder::kLittle;
  spec.binary_length = 1 + 1 + 2 + 2 + 4 + 4 + 8 + 8 + 4 + 8;
  size_t at = 0;
  for (auto [name, type] :
       std::vector<std::pair<std::string, BinaryType>>{{"u8", BinaryType::kU8},
                                                       {"i8", BinaryType::kI8},
                                                       {"u16", BinaryType::kU16},
                                                       {"i16", BinaryType::kI16},
                                                       {"u32", BinaryType::kU32},
                                                       {"i32", BinaryType::kI32},
                                                       {"u64", BinaryType::kU64},
                                                       {"i64", BinaryType::kI64},
                                                       {"f32", BinaryType::kF32},
                                                       {"f64", BinaryType::kF64}}) {
    spec.fields.push_back(Binary(name, type, at));
    at += BinaryTypeSize(type);
  }
  auto d = Make(spec);
  CHECK(SchemaOf(*d) ==
        "ts:int, u8:int, i8:int, u16:int, i16:int, u32:int, i32:int, u64:int, "
        "i64:int, f32:float, f64:float");
  std::string all_ones(42, '\xff');
  // f32 and f64 all-ones are NaN: "no reading" from firmware, so null. u64 all-ones is beyond
  // int64.
  CHECK(Decode(*d, all_ones) ==
        "out_of_range:u64: field 'u64': 18446744073709551615 is larger than the int64 range");
  std::string p(42, '\xff');
  p[21] = '\x7f';  // u64 at bytes 14..21: 2^63 - 1
  // f32 21.3 = 0x41AA6666, f64 -0.5 = 0xBFE0000000000000 (little-endian).
  const std::string f32("\x66\x66\xaa\x41", 4);
  const std::string f64("\x00\x00\x00\x00\x00\x00\xe0\xbf", 8);
  p.replace(30, 4, f32);
  p.replace(34, 8, f64);
  CHECK(Decode(*d, p) ==
        "@5 [5, 255, -1, 65535, -1, 4294967295, -1, 9223372036854775807, -1, "
        "21.3, -0.5]");
  std::string inf = p;
  inf.replace(30, 4, std::string("\x00\x00\x80\x7f", 4));  // +inf
  CHECK(Decode(*d, inf) == "bad_value:f32: field 'f32': value is infinite");
  std::string nan = p;
  nan.replace(30, 4, std::string("\x00\x00\xc0\x7f", 4));
  CHECK(Decode(*d, nan) ==
        "@5 [5, 255, -1, 65535, -1, 4294967295, -1, 9223372036854775807, -1, "
        "null, -0.5]");
}

TEST_CASE("Reject messages are short, valid UTF-8 and free of control characters") {
  auto d = Make(MeterSpec());
  // Invalid UTF-8 and control bytes become '?'; valid multi-byte characters stay.
  CHECK(Decode(*d, "1,\xff\x01\xc3\xa9\xe2\x82,3,4,5", {"a", "b"}) ==
        "bad_value:voltage: field 'voltage': invalid float \"??\xc3\xa9??\"");
  const std::string long_value(1000, 'x');
  const std::string message = Decode(*d, "1," + long_value + ",3,4,5", {"a", "b"});
  const std::string prefix = "bad_value:voltage: ";
  CHECK(message.size() == prefix.size() + 200 + 3);
  CHECK(message.ends_with("xxx..."));
}

TEST_CASE("Payloads above the size limit are rejected before parsing") {
  PayloadSpec spec = EnvSpec();
  spec.max_payload_bytes = 16;
  auto d = Make(spec);
  CHECK(Decode(*d, std::string(17, ' '), {"x"}) ==
        "too_large: payload is 17 bytes, more than the limit of 16");
}

TEST_CASE("The decoder reuses its buffers: a long payload then a short one decode correctly") {
  auto d = Make(EnvSpec());
  const std::string long_payload = R"({"ts":1,"t":1.5,"pad":")" + std::string(10000, 'x') + R"("})";
  CHECK(Decode(*d, long_payload, {"x"}) == R"(@1 ["x", 1, 1.5, null, null, null])");
  CHECK(Decode(*d, R"({"ts":2})", {"y"}) == R"(@2 ["y", 2, null, null, null, null])");
  auto c = Make(MeterSpec());
  const std::string rejected = Decode(*c, "\"" + std::string(5000, 'q') + "\",1,2,3,4", {"a", "b"});
  CHECK(rejected.starts_with("bad_time: time field 'ts': invalid number \"qqqq"));
  CHECK(rejected.ends_with("qqq..."));
  CHECK(Decode(*c, "1,2,3,4,5", {"a", "b"}) == R"(@1000 ["a", "b", 1000, 2.0, 4.0, 5.0])");
}

TEST_CASE("Invalid specs are refused when the decoder is created") {
  PayloadSpec dup = EnvSpec();
  dup.fields.push_back(Field("device", ValueType::kString));
  CHECK(SpecError(dup) == "payload \"esp32-bme280\": column 'device' is defined twice");

  PayloadSpec path = EnvSpec();
  path.fields[0].path = "a..b";
  CHECK(SpecError(path) ==
        "payload \"esp32-bme280\": field 'temp': path \"a..b\" has an empty "
        "step");

  PayloadSpec beyond = SoilSpec(ByteOrder::kBig);
  beyond.fields[2].byte_offset = 9;
  CHECK(SpecError(beyond) ==
        "payload \"lora-soil\": field 'battery': bytes 9..10 lie beyond the "
        "length 10");

  PayloadSpec no_wire = SoilSpec(ByteOrder::kBig);
  no_wire.fields[0].binary = BinaryType::kNone;
  CHECK(SpecError(no_wire) ==
        "payload \"lora-soil\": field 'moisture': a binary payload needs a "
        "binary type (u8 ... f64)");

  PayloadSpec csv = MeterSpec();
  csv.fields[0].path = "volts";
  CHECK(SpecError(csv) ==
        "payload \"energy-meter\": field 'voltage': column \"volts\" is not in "
        "the csv columns");

  PayloadSpec scale_string = PlugSpec();
  scale_string.fields[2].scale = 2;
  CHECK(SpecError(scale_string) ==
        "payload \"smart-plug\": field 'label': scale, add, min and "
        "max only apply to int and float fields");

  PayloadSpec iso = EnvSpec();
  iso.time_unit = TimeUnit::kIso8601;
  CHECK(SpecError(iso) ==
        "payload \"esp32-bme280\": time field 'ts': an iso8601 time must be a "
        "string field");

  PayloadSpec range = EnvSpec();
  range.fields[0].min = 100;
  CHECK(SpecError(range) == "payload \"esp32-bme280\": field 'temp': min is greater than max");
}

TEST_CASE("Binary type names round-trip") {
  for (std::string_view name :
       {"u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64"}) {
    Result<BinaryType> type = ParseBinaryTypeName(name);
    REQUIRE(type.ok());
    CHECK(BinaryTypeName(*type) == name);
  }
  CHECK(ParseBinaryTypeName("u24").status().message() ==
        "unknown binary type \"u24\" (use u8, i8, u16, i16, u32, i32, u64, i64, f32 or f64)");
}

}  // namespace
}  // namespace runnel
