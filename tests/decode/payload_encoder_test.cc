#include "decode/payload_encoder.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace runnel {
namespace {

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

std::string Encode(const PayloadSpec& spec, const Row& row) {
  Result<std::unique_ptr<PayloadEncoder>> encoder = PayloadEncoder::Create(spec);
  if (!encoder.ok()) FAIL(encoder.status().message());
  std::string out;
  const Status status = (*encoder)->Encode(row, &out);
  if (!status.ok()) return "error: " + status.message();
  return out;
}

// Decodes `payload` with the same spec and returns the row, to check the round trip.
Row Decode(const PayloadSpec& spec, const std::string& payload, std::vector<std::string> topic) {
  Result<std::unique_ptr<PayloadDecoder>> decoder = PayloadDecoder::Create(spec);
  if (!decoder.ok()) FAIL(decoder.status().message());
  std::vector<std::string_view> values(topic.begin(), topic.end());
  DecodedRecord record;
  const DecodeStatus status = (*decoder)->Decode(values, payload, 0, &record);
  if (!status.ok()) FAIL(status.message());
  return record.row;
}

std::string Hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

TEST_CASE("json payloads nest dotted paths, convert back to raw units, and decode to the row") {
  PayloadSpec spec;
  spec.name = "env";
  spec.topic_fields = {"device"};
  PayloadField time = Field("ts", ValueType::kInt);
  spec.time_field = time;
  PayloadField temp = Field("temp", ValueType::kFloat, "env.t");
  PayloadField pressure = Field("pressure", ValueType::kFloat, "env.p");
  pressure.scale = 0.01;
  PayloadField battery = Field("battery", ValueType::kInt, "bat");
  PayloadField ok = Field("ok", ValueType::kBool);
  PayloadField note = Field("note", ValueType::kString);
  spec.fields = {temp, pressure, battery, ok, note};
  const Row row = {Value::String("d1"),     Value::Int(1'700'000'000'250),
                   Value::Float(21.5),      Value::Float(1013.25),
                   Value::Int(87),          Value::Bool(true),
                   Value::String("a \"b\"")};
  const std::string payload = Encode(spec, row);
  CHECK(payload ==
        R"({"ts":1700000000250,"env":{"t":21.5,"p":101325},"bat":87,"ok":true,"note":"a \"b\""})");
  CHECK(Decode(spec, payload, {"d1"}) == row);

  Row with_null = row;
  with_null[2] = Value();
  CHECK(Encode(spec, with_null) ==
        R"({"ts":1700000000250,"env":{"t":null,"p":101325},"bat":87,"ok":true,"note":"a \"b\""})");
}

TEST_CASE("json paths where one is a prefix of another cannot be encoded") {
  PayloadSpec spec;
  spec.name = "x";
  spec.fields = {Field("a", ValueType::kInt, "a"), Field("b", ValueType::kInt, "a.b")};
  Result<std::unique_ptr<PayloadEncoder>> encoder = PayloadEncoder::Create(spec);
  REQUIRE(!encoder.ok());
  CHECK(encoder.status().message() ==
        "field 'b': JSON path \"a.b\" overlaps another field's path, so no payload can hold both");
}

TEST_CASE("csv payloads write every column in order, seconds with their milliseconds") {
  PayloadSpec spec;
  spec.name = "meter";
  spec.format = PayloadFormat::kCsv;
  spec.csv_columns = {"ts", "unused", "voltage", "label"};
  spec.csv_separator = ';';
  spec.time_unit = TimeUnit::kSeconds;
  spec.time_field = Field("ts", ValueType::kFloat);
  spec.fields = {Field("voltage", ValueType::kFloat), Field("label", ValueType::kString)};
  const Row row = {Value::Int(1'700'000'000'250), Value::Float(230.4), Value::String("a;b")};
  const std::string payload = Encode(spec, row);
  CHECK(payload == R"(1700000000.25;;230.4;"a;b")");
  CHECK(Decode(spec, payload, {}) == row);
  CHECK(Encode(spec, {Value::Int(1'700'000'000'000), Value(), Value::String("")}) ==
        R"(1700000000;;;"")");
}

TEST_CASE("kv payloads write flags as 1/0, quote texts with separators and leave nulls out") {
  PayloadSpec spec;
  spec.name = "plug";
  spec.format = PayloadFormat::kKv;
  spec.topic_fields = {"device"};
  spec.fields = {Field("relay", ValueType::kBool), Field("power", ValueType::kFloat),
                 Field("name", ValueType::kString, "n"), Field("current", ValueType::kFloat)};
  const Row row = {Value::String("p1"),
                   Value::Int(42),
                   Value::Bool(true),
                   Value::Float(12.5),
                   Value::String("kitchen kettle"),
                   Value()};
  const std::string payload = Encode(spec, row);
  CHECK(payload == R"(relay=1 power=12.5 n="kitchen kettle")");
  // The arrival time (0 in Decode) stamps the record: the encoder ignores the time column.
  Row expected = row;
  expected[1] = Value::Int(0);
  CHECK(Decode(spec, payload, {"p1"}) == expected);

  Row quoted = row;
  quoted[4] = Value::String("say \"hi\"");
  CHECK(Encode(spec, quoted) ==
        "error: payload \"plug\": field 'name': a kv value cannot hold a "
        "double quote");
}

TEST_CASE("binary payloads pack wire types in byte order and check their ranges") {
  PayloadSpec spec;
  spec.name = "soil";
  spec.format = PayloadFormat::kBinary;
  spec.binary_length = 14;
  spec.byte_order = ByteOrder::kLittle;
  spec.time_unit = TimeUnit::kSeconds;
  spec.time_field = Binary("ts", BinaryType::kU32, 6);
  PayloadField moisture = Binary("moisture", BinaryType::kU16, 0);
  moisture.scale = 0.1;
  PayloadField temp = Binary("soil_temp", BinaryType::kI16, 2);
  temp.scale = 0.01;
  PayloadField level = Binary("level", BinaryType::kF32, 10);
  spec.fields = {moisture, temp, Binary("battery", BinaryType::kU8, 4), level};
  Result<std::unique_ptr<PayloadEncoder>> encoder = PayloadEncoder::Create(spec);
  REQUIRE(encoder.ok());
  CHECK((*encoder)->time_resolution() == 1000);

  const Row row = {Value::Int(1'700'000'000'000), Value::Float(54.0), Value::Float(-2.5),
                   Value::Int(200), Value::Float(1.5)};
  const std::string payload = Encode(spec, row);
  CHECK(Hex(payload) == "1c 02 06 ff c8 00 00 f1 53 65 00 00 c0 3f");
  CHECK(Decode(spec, payload, {}) == row);

  Row too_big = row;
  too_big[3] = Value::Int(256);
  CHECK(Encode(spec, too_big) ==
        "error: payload \"soil\": field 'battery': raw value 256 does not fit in u8");
  Row null_int = row;
  null_int[3] = Value();
  CHECK(Encode(spec, null_int) ==
        "error: payload \"soil\": field 'battery': a binary integer cannot be null");
  Row null_float = row;
  null_float[4] = Value();
  CHECK(Decode(spec, Encode(spec, null_float), {}) == null_float);
}

TEST_CASE("iso8601 and sub-second units write the time as the firmware would") {
  PayloadSpec spec;
  spec.name = "t";
  spec.time_unit = TimeUnit::kIso8601;
  spec.time_field = Field("time", ValueType::kString);
  const Row row = {Value::Int(1'078'941'600'250)};
  CHECK(Encode(spec, row) == R"({"time":"2004-03-10T18:00:00.250Z"})");
  CHECK(Decode(spec, Encode(spec, row), {}) == row);

  spec.time_unit = TimeUnit::kMicros;
  spec.time_field = Field("time", ValueType::kInt);
  CHECK(Encode(spec, row) == R"({"time":1078941600250000})");
  CHECK(Decode(spec, Encode(spec, row), {}) == row);
}

}  // namespace
}  // namespace runnel
