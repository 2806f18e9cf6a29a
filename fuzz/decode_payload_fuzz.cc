// libFuzzer target for PayloadDecoder, built once per format (RUNNEL_FUZZ_FORMAT_json, _csv,
// _kv, _binary): every input is decoded by each spec of that format, and every outcome is
// checked: a record must fit its schema (types, finite floats, the time column equal to the
// record time), a reject must carry a known reason and a message. Sanitizers catch the rest.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "decode/payload_decoder.h"

namespace runnel {
namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

[[maybe_unused]] PayloadField Field(std::string name, ValueType type, std::string path = "") {
  PayloadField f;
  f.path = path.empty() ? name : std::move(path);
  f.name = std::move(name);
  f.type = type;
  return f;
}

[[maybe_unused]] PayloadField Binary(std::string name, BinaryType type, size_t offset) {
  PayloadField f;
  f.name = std::move(name);
  f.binary = type;
  f.byte_offset = offset;
  return f;
}

[[maybe_unused]] PayloadField Converted(PayloadField f, double scale, double add, double min,
                                        double max) {
  f.scale = scale;
  f.add = add;
  f.min = min;
  f.max = max;
  return f;
}

std::vector<PayloadSpec> Specs() {
  std::vector<PayloadSpec> specs;
#if defined(RUNNEL_FUZZ_FORMAT_json)
  PayloadSpec env;
  env.name = "env";
  env.topic_fields = {"device"};
  env.time_field = Field("ts", ValueType::kFloat);
  env.fields = {Converted(Field("temp", ValueType::kFloat, "t"), 1, 0, -40, 85),
                Field("hum", ValueType::kFloat, "h"),
                Converted(Field("pressure", ValueType::kInt, "p"), 0.01, 0, -1e9, 1e9),
                Field("battery", ValueType::kInt, "bat"),
                Field("name", ValueType::kString, "n"),
                Field("on", ValueType::kBool, "on")};
  env.null_values = {"NA"};
  specs.push_back(env);
  PayloadSpec nested;
  nested.name = "nested";
  nested.time_field = Field("ts", ValueType::kString, "meta.time");
  nested.time_unit = TimeUnit::kIso8601;
  nested.fields = {Field("a", ValueType::kFloat, "x.y.z"), Field("b", ValueType::kInt, "r.0"),
                   Field("c", ValueType::kString, "r.1.k"), Field("d", ValueType::kBool, "0.1")};
  nested.fields[0].required = true;
  specs.push_back(nested);
  PayloadSpec seconds = env;
  seconds.name = "seconds";
  seconds.time_unit = TimeUnit::kSeconds;
  seconds.time_field.reset();
  specs.push_back(seconds);
#elif defined(RUNNEL_FUZZ_FORMAT_csv)
  PayloadSpec meter;
  meter.name = "meter";
  meter.format = PayloadFormat::kCsv;
  meter.topic_fields = {"site", "device"};
  meter.csv_columns = {"ts", "voltage", "current", "power", "energy"};
  meter.time_field = Field("ts", ValueType::kFloat);
  meter.time_unit = TimeUnit::kSeconds;
  meter.fields = {Field("voltage", ValueType::kFloat), Field("current", ValueType::kInt),
                  Converted(Field("power", ValueType::kFloat), 0.1, -5, -1e6, 1e6),
                  Field("energy", ValueType::kString)};
  specs.push_back(meter);
  PayloadSpec semi;
  semi.name = "semi";
  semi.format = PayloadFormat::kCsv;
  semi.csv_columns = {"when", "flag", "label"};
  semi.csv_separator = ';';
  semi.time_field = Field("when", ValueType::kString);
  semi.time_unit = TimeUnit::kIso8601;
  semi.fields = {Field("flag", ValueType::kBool), Field("label", ValueType::kString)};
  semi.null_values = {"-"};
  specs.push_back(semi);
#elif defined(RUNNEL_FUZZ_FORMAT_kv)
  PayloadSpec plug;
  plug.name = "plug";
  plug.format = PayloadFormat::kKv;
  plug.topic_fields = {"device"};
  plug.fields = {Field("relay", ValueType::kBool),
                 Converted(Field("power", ValueType::kFloat), 1, 0, 0, 3680),
                 Field("count", ValueType::kInt, "n"), Field("label", ValueType::kString, "name")};
  plug.fields[0].required = true;
  specs.push_back(plug);
  PayloadSpec timed = plug;
  timed.name = "timed";
  timed.time_field = Field("ts", ValueType::kInt);
  timed.time_unit = TimeUnit::kNanos;
  timed.fields[0].required = false;
  specs.push_back(timed);
#elif defined(RUNNEL_FUZZ_FORMAT_binary)
  for (ByteOrder order : {ByteOrder::kBig, ByteOrder::kLittle}) {
    PayloadSpec soil;
    soil.name = "soil";
    soil.format = PayloadFormat::kBinary;
    soil.byte_order = order;
    soil.binary_length = 10;
    soil.time_field = Binary("ts", BinaryType::kU32, 6);
    soil.time_unit = TimeUnit::kSeconds;
    soil.fields = {Converted(Binary("moisture", BinaryType::kU16, 0), 0.1, 0, 0, 100),
                   Converted(Binary("temp", BinaryType::kI16, 2), 0.01, 0, -40, 85),
                   Binary("battery", BinaryType::kU16, 4)};
    specs.push_back(soil);
    PayloadSpec all;
    all.name = "all";
    all.format = PayloadFormat::kBinary;
    all.byte_order = order;
    all.binary_length = 42;
    all.time_field = Binary("ts", BinaryType::kF64, 34);
    all.time_unit = TimeUnit::kMillis;
    size_t at = 0;
    for (BinaryType type : {BinaryType::kU8, BinaryType::kI8, BinaryType::kU16, BinaryType::kI16,
                            BinaryType::kU32, BinaryType::kI32, BinaryType::kU64, BinaryType::kI64,
                            BinaryType::kF32, BinaryType::kF64}) {
      all.fields.push_back(Binary("f" + std::to_string(at), type, at));
      at += BinaryTypeSize(type);
    }
    all.fields[7] = Converted(all.fields[7], 1e-300, 1e300, -1e308, 1e308);  // i64 at 22
    specs.push_back(all);
  }
#else
#error "define RUNNEL_FUZZ_FORMAT_json, _csv, _kv or _binary"
#endif
  return specs;
}

bool KnownReason(std::string_view reason) {
  static constexpr std::string_view kPlain[] = {
      "empty",        "too_large",  "invalid_json", "not_object",   "invalid_csv",
      "column_count", "invalid_kv", "bad_length",   "missing_time", "bad_time"};
  for (std::string_view r : kPlain) {
    if (reason == r) return true;
  }
  for (std::string_view prefix : {"missing:", "bad_value:", "out_of_range:"}) {
    if (reason.starts_with(prefix) && reason.size() > prefix.size()) return true;
  }
  return false;
}

struct Fixture {
  std::vector<std::unique_ptr<PayloadDecoder>> decoders;
  Fixture() {
    for (PayloadSpec& spec : Specs()) {
      Result<std::unique_ptr<PayloadDecoder>> d = PayloadDecoder::Create(std::move(spec));
      Check(d.ok());
      decoders.push_back(std::move(d).value());
    }
  }
};

}  // namespace
}  // namespace runnel

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace runnel;
  static Fixture fixture;
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string_view> topic{"site-1", "dev/1"};
  DecodedRecord record;
  for (const auto& decoder : fixture.decoders) {
    const std::span<const std::string_view> values(topic.data(),
                                                   decoder->spec().topic_fields.size());
    const DecodeStatus status = decoder->Decode(values, payload, 42, &record);
    if (!status.ok()) {
      Check(KnownReason(status.reason()));
      Check(!status.message().empty() && status.message().size() <= 203);
      for (char c : status.message()) Check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F);
      continue;
    }
    const Schema& schema = decoder->schema();
    Check(record.row.size() == schema.size());
    for (size_t i = 0; i < record.row.size(); ++i) {
      const Value& v = record.row[i];
      if (v.is_null()) continue;
      Check(v.type() == schema.column(i).type);
      if (v.type() == ValueType::kFloat) Check(std::isfinite(v.AsFloat()));
    }
    const size_t time_column = decoder->spec().topic_fields.size();
    Check(record.row[time_column] == Value::Int(record.time));
  }
  return 0;
}
