#include "app/profile_decoder.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace runnel {
namespace {

ProfileCodec Shipped(std::string_view name) {
  const std::vector<std::string> search{std::string(RUNNEL_SOURCE_DIR) + "/firmware_configs"};
  Result<DeviceProfile> profile = LoadDeviceProfileByName(name, search);
  if (!profile.ok()) FAIL(profile.status().message());
  Result<ProfileCodec> codec = BuildProfileCodec(*profile);
  if (!codec.ok()) FAIL(codec.status().message());
  return std::move(codec).value();
}

std::string Text(const Value& v) {
  std::string text = v.DebugString();
  if (v.type() == ValueType::kFloat && text.find_first_of(".en") == std::string::npos) {
    text += ".0";
  }
  return text;
}

// Matches `topic` and decodes `payload` as an MQTT source would: "@TIME [v, ...]", "no match"
// or "REASON: message".
std::string Receive(ProfileCodec& codec, std::string_view topic, std::string_view payload,
                    Timestamp arrival = 1'700'000'123'456) {
  std::vector<std::string_view> values;
  if (!codec.topic.Match(topic, &values)) return "no match";
  DecodedRecord record;
  const DecodeStatus status = codec.decoder->Decode(values, payload, arrival, &record);
  if (!status.ok()) return status.reason() + ": " + status.message();
  std::string out = "@" + std::to_string(record.time) + " [";
  for (size_t i = 0; i < record.row.size(); ++i) out += (i > 0 ? ", " : "") + Text(record.row[i]);
  return out + "]";
}

std::string Columns(const ProfileCodec& codec) {
  std::string out;
  for (const Column& c : codec.decoder->schema().columns()) {
    out += (out.empty() ? "" : ", ") + c.name + ":" + std::string(TypeName(c.type));
  }
  return out;
}

TEST_CASE("esp32-bme280 decodes its documented JSON payload") {
  ProfileCodec codec = Shipped("esp32-bme280");
  CHECK(codec.topic.Filter() == "sensors/+/env");
  CHECK(Columns(codec) ==
        "device:string, ts:int, temp:float, hum:float, pressure:float, battery:int");
  CHECK(Receive(codec, "sensors/esp32-a1b2c3/env",
                R"({"ts":1700000000000,"t":21.5,"h":48.2,"p":101325,"bat":87})") ==
        R"(@1700000000000 ["esp32-a1b2c3", 1700000000000, 21.5, 48.2, 1013.25, 87])");
  CHECK(Receive(codec, "sensors/esp32-a1b2c3/env", R"({"ts":1700000000000,"t":85.1})") ==
        "out_of_range:temp: field 'temp': 85.1 is above the maximum 85");
  CHECK(Receive(codec, "sensors/esp32-a1b2c3/status", "{}") == "no match");
}

TEST_CASE("lora-soil decodes its documented 10-byte big-endian payload") {
  ProfileCodec codec = Shipped("lora-soil");
  CHECK(codec.topic.Filter() == "lora/soil/+/up");
  CHECK(Columns(codec) == "device:string, ts:int, moisture:float, soil_temp:float, battery:int");
  CHECK(Receive(codec, "lora/soil/70b3d57ed0041234/up",
                std::string("\x02\x1c\x08\xe5\x0e\x10\x65\x53\xf1\x00", 10)) ==
        R"(@1700000000000 ["70b3d57ed0041234", 1700000000000, 54.0, 22.77, 3600])");
  CHECK(Receive(codec, "lora/soil/x/up", std::string("\x02\x1c\x08\xe5", 4)) ==
        "bad_length: payload is 4 bytes, expected 10");
}

TEST_CASE("energy-meter decodes its documented CSV line") {
  ProfileCodec codec = Shipped("energy-meter");
  CHECK(codec.topic.Filter() == "meters/+/+/csv");
  CHECK(Columns(codec) ==
        "site:string, device:string, ts:int, voltage:float, current:float, "
        "power:float, energy_kwh:float");
  CHECK(Receive(codec, "meters/plant-1/em-07/csv", "1700000000.250,230.4,5.12,1179.6,15234.75\n") ==
        R"(@1700000000250 ["plant-1", "em-07", 1700000000250, 230.4, 5.12, 1179.6, 15234.75])");
  CHECK(Receive(codec, "meters/plant-1/em-07/csv", "1700000000,230.4,5.12,1179.6") ==
        "column_count: 4 columns, expected 5");
}

TEST_CASE("smart-plug decodes its documented key=value payload with the arrival time") {
  ProfileCodec codec = Shipped("smart-plug");
  CHECK(codec.topic.Filter() == "plugs/+/tele");
  CHECK(Columns(codec) ==
        "device:string, ts:int, relay:bool, power:float, voltage:float, current:float");
  CHECK(Receive(codec, "plugs/kitchen-kettle/tele",
                "relay=1 power=12.5 voltage=229.8 current=0.054 uptime=86400") ==
        R"(@1700000123456 ["kitchen-kettle", 1700000123456, true, 12.5, 229.8, 0.054])");
  CHECK(Receive(codec, "plugs/kitchen-kettle/tele", "power=12.5") ==
        "missing:relay: field 'relay': missing or null");
}

TEST_CASE("The SPEC example profile with an undeclared time field reads it by its name") {
  Result<DeviceProfile> profile = ParseDeviceProfile(R"(name = "p"
topic = "s/{device}"
format = "kv"
time = { field = "t", unit = "s" }
[fields]
v = { path = "value", type = "int", scale = 0.5, offset = 1 }
)",
                                                     "p.toml");
  REQUIRE(profile.ok());
  Result<ProfileCodec> codec = BuildProfileCodec(*profile);
  REQUIRE(codec.ok());
  CHECK(Receive(*codec, "s/d", "t=1.5 value=3") == R"(@1500 ["d", 1500, 2.5])");
}

}  // namespace
}  // namespace runnel
