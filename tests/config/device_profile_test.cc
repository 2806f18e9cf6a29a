#include "config/device_profile.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace runnel {
namespace {

using Strings = std::vector<std::string>;

DeviceProfile Parse(std::string_view text, const std::string& path = "p.toml") {
  Result<DeviceProfile> profile = ParseDeviceProfile(text, path);
  if (!profile.ok()) FAIL(profile.status().message());
  return std::move(profile).value();
}

std::string ErrorOf(std::string_view text, const std::string& path = "p.toml") {
  Result<DeviceProfile> profile = ParseDeviceProfile(text, path);
  if (profile.ok()) FAIL("parsed, but an error was expected");
  CHECK(profile.status().code() == StatusCode::kInvalid);
  return profile.status().message();
}

Strings Names(const DeviceProfile& p) {
  Strings out;
  for (const ProfileField& f : p.fields) out.push_back(f.name);
  return out;
}

// SPEC §5, verbatim.
constexpr std::string_view kSpecExample = R"x(name = "esp32-bme280"
description = "ESP32 + BME280 environment node, firmware 2.x"
topic = "sensors/{device}/env"
format = "json"                     # json | csv | kv | binary
time = { field = "ts", unit = "ms" } # or time = "arrival"
period = "10s"                      # expected reporting period: device health/offline detection
[fields]
temp = { path = "t", type = "float", unit = "degC", min = -40, max = 85 }
hum = { path = "h", type = "float", unit = "%" }
pressure = { path = "p", type = "float", scale = 0.01, unit = "hPa" }
battery = { path = "bat", type = "int" }
)x";

TEST_CASE("The SPEC example profile parses into typed fields in written order") {
  const DeviceProfile p = Parse(kSpecExample);
  CHECK(p.name == "esp32-bme280");
  CHECK(p.name_where.line == 1);
  CHECK(p.description == "ESP32 + BME280 environment node, firmware 2.x");
  CHECK(p.topic == "sensors/{device}/env");
  CHECK(p.topic_fields == Strings{"device"});
  CHECK(p.format == ProfileFormat::kJson);
  CHECK_FALSE(p.time.arrival);
  CHECK(p.time.field == "ts");
  CHECK(p.time.unit == TimeUnit::kMillis);
  CHECK(p.period == 10'000);
  CHECK(Names(p) == Strings{"temp", "hum", "pressure", "battery"});
  const ProfileField& temp = p.fields[0];
  CHECK(temp.path == "t");
  CHECK(temp.type == ValueType::kFloat);
  CHECK(temp.unit == "degC");
  CHECK(temp.min == -40.0);
  CHECK(temp.max == 85.0);
  CHECK_FALSE(temp.scale);
  CHECK(temp.where.line == 8);
  CHECK(p.fields[2].scale == 0.01);
  CHECK(p.fields[3].type == ValueType::kInt);
  CHECK_FALSE(p.fields[3].required);
  CHECK(p.FindField("hum") == &p.fields[1]);
  CHECK(p.FindField("ts") == nullptr);
}

TEST_CASE("A json path defaults to the field name; [fields.x] tables work like inline ones") {
  const DeviceProfile p = Parse(R"(name = "n"
topic = "t"
format = "json"
time = "arrival"
[fields.temp]
type = "float"
offset = -2.5
required = true
[fields.deep]
path = "a.b.0"
type = "string"
)");
  CHECK(Names(p) == Strings{"temp", "deep"});
  CHECK(p.fields[0].path == "temp");
  CHECK(p.fields[0].add == -2.5);
  CHECK(p.fields[0].required);
  CHECK(p.fields[1].path == "a.b.0");
  CHECK(p.time.arrival);
  CHECK(p.time.field == "ts");
  CHECK_FALSE(p.period);
}

TEST_CASE("CSV profiles name their columns and may set a separator") {
  const DeviceProfile p = Parse(R"(name = "meter"
topic = "m/{device}"
format = "csv"
columns = ["ts", "v", "skip", "p"]
separator = ";"
time = { field = "ts", unit = "s" }
[fields]
p = { type = "float" }
v = { type = "float", scale = 0.1 }
)");
  CHECK(p.columns == Strings{"ts", "v", "skip", "p"});
  CHECK(p.separator == ';');
  CHECK(Names(p) == Strings{"p", "v"});
  CHECK(p.fields[0].path == "p");
}

TEST_CASE("Binary profiles give byte order, length, and per field offset and wire type") {
  const DeviceProfile p = Parse(R"(name = "soil"
topic = "lora/{device}/up"
format = "binary"
byte_order = "little"
length = 8
time = { field = "ts", unit = "s" }
[fields]
temp = { offset = 0, type = "i16", scale = 0.5, add = -40 }
volts = { offset = 2, type = "f32" }
ts = { offset = 4, type = "u32" }
)");
  CHECK(p.byte_order == ProfileByteOrder::kLittle);
  CHECK(p.length == 8);
  REQUIRE(p.fields.size() == 3);
  CHECK(p.fields[0].wire == ProfileWireType::kI16);
  CHECK(p.fields[0].type == ValueType::kInt);
  CHECK(p.fields[0].byte_offset == 0);
  CHECK(p.fields[0].add == -40.0);
  CHECK(p.fields[1].wire == ProfileWireType::kF32);
  CHECK(p.fields[1].type == ValueType::kFloat);
  CHECK(p.fields[2].byte_offset == 4);
  CHECK(p.FindField("ts") == &p.fields[2]);
}

TEST_CASE("Profile errors name the file, line, key path and what to do") {
  const std::string head = "name = \"n\"\ntopic = \"t/{device}\"\nformat = \"json\"\n";
  // Unknown keys, at every level, with a suggestion.
  CHECK(ErrorOf(head + "perod = \"1s\"\n") ==
        "p.toml:4: unknown key 'perod' (did you mean "
        "'period'?)");
  CHECK(ErrorOf(head + "time = \"arrival\"\n[fields]\nt = { type = \"float\", sacle = 2 }\n") ==
        "p.toml:6: fields.t: unknown key 'sacle' (did you mean 'scale'?)");
  CHECK(ErrorOf(head + "time = { field = \"ts\", units = \"ms\" }\n[fields]\nt = { type = "
                       "\"int\" }\n") ==
        "p.toml:4: time: unknown key 'units' (did you mean 'unit'?)");
  // Missing keys.
  CHECK(ErrorOf("topic = \"t\"\n") ==
        "p.toml:1: missing key 'name' (name the profile after its file, e.g. name = "
        "\"esp32-bme280\")");
  CHECK(ErrorOf(head + "[fields]\nt = { type = \"int\" }\n") ==
        "p.toml:1: missing key 'time' (write time = { field = \"ts\", unit = \"ms\" }, or time = "
        "\"arrival\" for firmware without a clock)");
  CHECK(ErrorOf(head + "time = \"arrival\"\n") ==
        "p.toml:1: missing key 'fields' (describe the payload's values in a [fields] table, e.g. "
        "temp = { path = \"t\", type = \"float\" })");
  CHECK(ErrorOf(head + "time = { field = \"ts\" }\n[fields]\nt = { type = \"int\" }\n") ==
        "p.toml:4: time: missing key 'unit' (write unit = \"s\", \"ms\", \"us\", \"ns\" or "
        "\"iso8601\")");
  CHECK(ErrorOf(head + "time = \"arrival\"\n[fields]\nt = { path = \"x\" }\n") ==
        "p.toml:6: fields.t: missing key 'type' (write type = \"bool\", \"int\", \"float\" or "
        "\"string\")");
  // Bad values.
  CHECK(ErrorOf("name = \"n\"\ntopic = \"t\"\nformat = \"xml\"\n") ==
        "p.toml:3: format: invalid value \"xml\" (use \"json\", \"csv\", \"kv\" or \"binary\")");
  CHECK(ErrorOf("name = \"my profile\"\n") ==
        "p.toml:1: name: \"my profile\" is not a profile name (use letters, digits, '_', '-' and "
        "'.', as in the file name without .toml)");
  CHECK(ErrorOf(head + "time = \"now\"\n[fields]\nt = { type = \"int\" }\n") ==
        "p.toml:4: time: invalid value \"now\" (write time = { field = \"now\", unit = \"ms\" }, "
        "or time = \"arrival\")");
  CHECK(ErrorOf(head + "time = { field = \"ts\", unit = \"min\" }\n[fields]\nt = { type = "
                       "\"int\" }\n") ==
        "p.toml:4: time.unit: unknown time unit \"min\": use \"s\", \"ms\", \"us\", \"ns\" or "
        "\"iso8601\"");
  CHECK(ErrorOf(head + "time = \"arrival\"\n[fields]\nt = { type = \"u16\" }\n") ==
        "p.toml:6: fields.t.type: unknown type \"u16\": use \"bool\", \"int\", \"float\" or "
        "\"string\" (u16 is a binary wire type; for json payloads write \"bool\", \"int\", "
        "\"float\" or \"string\")");
  CHECK(ErrorOf(head + "time = \"arrival\"\n[fields]\nt = \"float\"\n") ==
        "p.toml:6: fields.t: expected a table, got a string (write t = { path = \"...\", type = "
        "\"float\" })");
  CHECK(ErrorOf(head + "time = \"arrival\"\nperiod = \"0s\"\n[fields]\nt = { type = \"int\" }\n") ==
        "p.toml:5: period: must be longer than zero (write e.g. \"1s\" or \"1m\")");
  CHECK(ErrorOf(head + "time = \"arrival\"\n[fields]\n") ==
        "p.toml:5: fields: no fields (describe at least one value of the payload)");
  CHECK(ErrorOf(head + "time = \"arrival\"\n[fields]\n1t = { type = \"int\" }\n") ==
        "p.toml:6: fields: \"1t\" is not a valid field name (use letters, digits and '_', not "
        "starting with a digit)");
  // Syntax errors carry the line.
  CHECK(ErrorOf("name = \"n\"\ntopic = \n").starts_with("p.toml:2: "));
}

TEST_CASE("Conversions and bounds only apply to numbers and must make sense") {
  const std::string head =
      "name = \"n\"\ntopic = \"t/{device}\"\nformat = \"json\"\ntime = \"arrival\"\n[fields]\n";
  CHECK(ErrorOf(head + "s = { type = \"string\", min = 1 }\n") ==
        "p.toml:6: fields.s.min: only applies to int and float fields (this one is \"string\")");
  CHECK(ErrorOf(head + "s = { type = \"bool\", offset = 1 }\n") ==
        "p.toml:6: fields.s.offset: only applies to int and float fields (this one is \"bool\")");
  CHECK(ErrorOf(head + "x = { type = \"float\", scale = 0 }\n") ==
        "p.toml:6: fields.x.scale: must not be zero (it would turn every value into 0)");
  CHECK(ErrorOf(head + "x = { type = \"float\", min = 5, max = 1 }\n") ==
        "p.toml:6: fields.x.max: min is greater than max (swap them)");
  CHECK(ErrorOf(head + "x = { type = \"float\", max = \"high\" }\n") ==
        "p.toml:6: fields.x.max: expected a number, got a string");
  CHECK(ErrorOf(head + "x = { type = \"float\", scale = nan }\n") ==
        "p.toml:6: fields.x.scale: must be a finite number");
  CHECK(ErrorOf(head + "x = { type = \"float\", path = \"a..b\" }\n") ==
        "p.toml:6: fields.x.path: \"a..b\" has an empty step (write a dotted path such as "
        "\"env.t\" or \"readings.0\")");
  CHECK(ErrorOf(head + "x = { type = \"float\", add = 1 }\n") ==
        "p.toml:6: fields.x.add: is written offset in json profiles (offset = ... is added after "
        "scale)");
}

TEST_CASE("Topic templates are checked in the profile, with the level at fault") {
  const std::string tail =
      "format = \"json\"\ntime = \"arrival\"\n[fields]\nx = { type = "
      "\"int\" }\n";
  CHECK(ErrorOf("name = \"n\"\ntopic = \"a/#/b\"\n" + tail) ==
        "p.toml:2: topic: '#' must be the last level (e.g. \"sensors/#\")");
  CHECK(ErrorOf("name = \"n\"\ntopic = \"a/dev{id}\"\n" + tail) ==
        "p.toml:2: topic: level \"dev{id}\" of \"a/dev{id}\" is not valid (a level is text, +, # "
        "at the end, or {field} to bind a field, e.g. \"sensors/{device}/env\")");
  CHECK(ErrorOf("name = \"n\"\ntopic = \"{id}/{id}\"\n" + tail) ==
        "p.toml:2: topic: field 'id' is bound by two levels (give each level its own name)");
  CHECK(ErrorOf("name = \"n\"\ntopic = \"a/{x}\"\n" + tail) ==
        "p.toml:6: fields: field 'x' is already bound by the topic (rename one of them)");
  CHECK(ErrorOf("name = \"n\"\ntopic = \"a/{ts}\"\n" + tail) ==
        "p.toml:2: topic: {ts} clashes with the time column 'ts' that time = \"arrival\" adds "
        "(rename the level)");
  CHECK(Parse("name = \"n\"\ntopic = \"a/+/{room}/#\"\n" + tail).topic_fields == Strings{"room"});
}

TEST_CASE("Format-specific keys are refused for other formats") {
  const std::string tail = "time = \"arrival\"\n[fields]\nx = { type = \"int\" }\n";
  CHECK(ErrorOf("name = \"n\"\ntopic = \"t\"\nformat = \"json\"\ncolumns = [\"x\"]\n" + tail) ==
        "p.toml:4: columns: only applies to format = \"csv\" (remove it)");
  CHECK(ErrorOf("name = \"n\"\ntopic = \"t\"\nformat = \"kv\"\nlength = 4\n" + tail) ==
        "p.toml:4: length: only applies to format = \"binary\" (remove it)");
  CHECK(ErrorOf("name = \"n\"\ntopic = \"t\"\nformat = \"csv\"\ncolumns = [\"x\"]\ntime = "
                "\"arrival\"\n[fields]\nx = { type = \"int\", path = \"x\" }\n") ==
        "p.toml:7: fields.x.path: csv fields are found by name in columns (remove path, and name "
        "the field as its column)");
  CHECK(ErrorOf("name = \"n\"\ntopic = \"t\"\nformat = \"kv\"\n" +
                std::string("time = "
                            "\"arrival\"\n[fields]\nx = { type = \"int\", path = \"a b\" }\n")) ==
        "p.toml:6: fields.x.path: \"a b\" cannot be a key: keys have no '=', ',', quotes or "
        "spaces");
}

TEST_CASE("CSV profiles check columns, separator, and that fields are columns") {
  const std::string head = "name = \"n\"\ntopic = \"t\"\nformat = \"csv\"\n";
  CHECK(ErrorOf(head + "time = \"arrival\"\n[fields]\nx = { type = \"int\" }\n") ==
        "p.toml:1: missing key 'columns' (name the payload's columns in order, e.g. columns = "
        "[\"ts\", \"voltage\", \"power\"])");
  CHECK(ErrorOf(head + "columns = []\n") ==
        "p.toml:4: columns: empty list (name the payload's columns in order)");
  CHECK(ErrorOf(head + "columns = [\"a\", \"a\"]\n") ==
        "p.toml:4: columns: 'a' appears twice (name every column once; unused ones e.g. skip1, "
        "skip2)");
  CHECK(ErrorOf(head + "columns = [\"a\"]\nseparator = \";;\"\n") ==
        "p.toml:5: separator: must be one character other than a quote or a line break (e.g. "
        "\";\" or \"\\t\")");
  CHECK(ErrorOf(head + "columns = [\"volts\"]\ntime = \"arrival\"\n[fields]\nvolt = { type = "
                       "\"float\" }\n") ==
        "p.toml:7: fields: field 'volt' is not in columns (did you mean 'volts'?)");
  CHECK(ErrorOf(head + "columns = [\"a\"]\ntime = { field = \"ts\", unit = \"s\" }\n[fields]\na = "
                       "{ type = \"float\" }\n") ==
        "p.toml:5: time.field: column 'ts' is not in columns (add it to columns)");
}

TEST_CASE("Binary profiles check the byte order, the length, offsets and wire types") {
  const std::string head = "name = \"n\"\ntopic = \"t\"\nformat = \"binary\"\n";
  const std::string time = "time = \"arrival\"\n";
  CHECK(ErrorOf(head + "length = 4\n" + time) ==
        "p.toml:1: missing key 'byte_order' (write byte_order = \"big\" (network order) or "
        "\"little\" (ESP32, ARM))");
  CHECK(ErrorOf(head + "byte_order = \"big\"\n" + time) ==
        "p.toml:1: missing key 'length' (give the exact payload length in bytes, e.g. length = "
        "10)");
  CHECK(ErrorOf(head + "byte_order = \"middle\"\nlength = 4\n") ==
        "p.toml:4: byte_order: invalid value \"middle\" (use \"big\" or \"little\")");
  CHECK(ErrorOf(head + "byte_order = \"big\"\nlength = 0\n") ==
        "p.toml:5: length: must be between 1 and 65535, got 0");
  const std::string body = head + "byte_order = \"big\"\nlength = 4\n" + time + "[fields]\n";
  CHECK(ErrorOf(body + "x = { offset = 2, type = \"u32\" }\n") ==
        "p.toml:8: fields.x.offset: bytes 2..5 lie beyond length = 4 (check offset, type and "
        "length)");
  CHECK(ErrorOf(body + "x = { offset = 0, type = \"u24\" }\n") ==
        "p.toml:8: fields.x.type: invalid value \"u24\" (did you mean \"u64\"?)");
  CHECK(ErrorOf(body + "x = { offset = 0, type = \"float\" }\n") ==
        "p.toml:8: fields.x.type: \"float\" is a value type; binary fields take a wire type: u8, "
        "i8, u16, i16, u32, i32, u64, i64, f32 or f64");
  CHECK(ErrorOf(body + "x = { type = \"u8\" }\n") ==
        "p.toml:8: fields.x: missing key 'offset' (give the field's byte offset in the payload, "
        "e.g. offset = 0)");
  CHECK(ErrorOf(body + "x = { offset = -40.0, type = \"u8\" }\n") ==
        "p.toml:8: fields.x.offset: expected an integer byte position, got a float (in binary "
        "profiles offset is the byte position; write add = ... to add a constant after scale)");
  CHECK(ErrorOf(body + "x = { offset = 0, type = \"u8\", path = \"a\" }\n") ==
        "p.toml:8: fields.x.path: binary fields are found by byte offset (remove path)");
  CHECK(ErrorOf(head + "byte_order = \"big\"\nlength = 4\ntime = { field = \"ts\", unit = \"s\" "
                       "}\n[fields]\nx = { offset = 0, type = \"u8\" }\n") ==
        "p.toml:6: time.field: binary payloads need the time's offset and type: declare 'ts' in "
        "[fields], e.g. ts = { offset = 0, type = \"u32\" }");
}

TEST_CASE("A declared time field must suit the time unit and takes no conversion") {
  const std::string head = "name = \"n\"\ntopic = \"t\"\nformat = \"json\"\n";
  CHECK(ErrorOf(head + "time = { field = \"ts\", unit = \"iso8601\" }\n[fields]\nts = { type = "
                       "\"int\" }\n") ==
        "p.toml:4: time.field: field 'ts' is declared \"int\", but unit = \"iso8601\" reads text "
        "(declare it \"string\")");
  CHECK(ErrorOf(head + "time = { field = \"ts\", unit = \"ms\" }\n[fields]\nts = { type = "
                       "\"string\" }\n") ==
        "p.toml:4: time.field: field 'ts' is declared \"string\", but unit = \"ms\" reads a "
        "number (declare it \"int\" or \"float\", or use unit = \"iso8601\")");
  CHECK(ErrorOf(head + "time = { field = \"ts\", unit = \"s\" }\n[fields]\nts = { type = "
                       "\"int\", scale = 1000 }\n") ==
        "p.toml:4: time.field: field 'ts' is the event time: it takes no scale, offset, add, "
        "min, max or required (the unit converts it)");
  CHECK(ErrorOf(head + "time = \"arrival\"\n[fields]\nts = { type = \"int\" }\n") ==
        "p.toml:6: fields: field 'ts' clashes with the column time = \"arrival\" adds (rename "
        "it)");
  CHECK(Parse(head + "time = { field = \"ts\", unit = \"iso8601\" }\n[fields]\nts = { path = "
                     "\"meta.time\", type = \"string\" }\n")
            .time.unit == TimeUnit::kIso8601);
}

TEST_CASE("A period needs a device column for the device status view") {
  CHECK(ErrorOf("name = \"n\"\ntopic = \"t/{node}\"\nformat = \"json\"\ntime = \"arrival\"\n"
                "period = \"1m\"\n[fields]\nx = { type = \"int\" }\n") ==
        "p.toml:5: period: device status needs a 'device' column to tell devices apart (bind it "
        "in the topic, e.g. \"sensors/{device}/env\", or declare a field device; or remove "
        "period)");
  CHECK(Parse("name = \"n\"\ntopic = \"t\"\nformat = \"json\"\ntime = \"arrival\"\nperiod = "
              "\"1m\"\n[fields]\ndevice = { path = \"id\", type = \"string\" }\n")
            .period == 60'000);
}

// A fresh directory under the build tree, removed at the end of the test.
class TempDir {
 public:
  explicit TempDir(std::string name)
      : path_(std::filesystem::path(RUNNEL_BINARY_DIR) / "test-tmp" / std::move(name)) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  void Write(const std::string& relative, std::string_view text) const {
    std::filesystem::create_directories((path_ / relative).parent_path());
    std::ofstream(path_ / relative) << text;
  }

 private:
  std::filesystem::path path_;
};

constexpr std::string_view kMinimal =
    "topic = \"t\"\nformat = \"json\"\ntime = \"arrival\"\n[fields]\nx = { type = \"int\" }\n";

TEST_CASE("Profiles are found by name along the search path, first directory first") {
  TempDir dir("profile_search");
  dir.Write("a/p1.toml", "name = \"p1\"\ndescription = \"from a\"\n" + std::string(kMinimal));
  dir.Write("b/p1.toml", "name = \"p1\"\ndescription = \"from b\"\n" + std::string(kMinimal));
  dir.Write("b/p2.toml", "name = \"p2\"\n" + std::string(kMinimal));
  dir.Write("b/wrong.toml", "\n\nname = \"other\"\n" + std::string(kMinimal));
  const std::string a = (dir.path() / "a").string();
  const std::string b = (dir.path() / "b").string();
  const std::vector<std::string> search{a, b};

  Result<DeviceProfile> p1 = LoadDeviceProfileByName("p1", search);
  REQUIRE(p1.ok());
  CHECK(p1->description == "from a");
  CHECK(p1->path == a + "/p1.toml");
  Result<DeviceProfile> p2 = LoadDeviceProfileByName("p2", search);
  REQUIRE(p2.ok());
  CHECK(p2->path == b + "/p2.toml");

  CHECK(LoadDeviceProfileByName("p3", search).status().message() ==
        "device profile \"p3\" not found: no p3.toml in " + a + " or " + b +
            " (add it to firmware_configs/ next to the pipeline, or check the name)");
  CHECK(LoadDeviceProfileByName("wrong", search).status().message() ==
        b + "/wrong.toml:3: name: \"other\" differs from the file name \"wrong.toml\" (make them "
            "equal: sources find profiles by file name)");
  CHECK(LoadDeviceProfileByName("../etc/passwd", search).status().message() ==
        "\"../etc/passwd\" is not a profile name (write the file name in firmware_configs/ "
        "without .toml, e.g. \"esp32-bme280\")");
  CHECK(LoadDeviceProfile((dir.path() / "none.toml").string())
            .status()
            .message()
            .starts_with((dir.path() / "none.toml").string() + ": cannot read the device profile"));
}

TEST_CASE(
    "The search path is the pipeline's firmware_configs, the working directory's, then "
    "the data directory") {
  const std::vector<std::string> path = ProfileSearchPath("/srv/greenhouse");
  REQUIRE(path.size() == 3);
  CHECK(path[0] == "/srv/greenhouse/firmware_configs");
  CHECK(path[1] == "firmware_configs");
  CHECK(path[2].ends_with("/share/runnel/firmware_configs"));
  // A pipeline in the working directory searches its firmware_configs once.
  CHECK(ProfileSearchPath(".").size() == 2);
  CHECK(ProfileSearchPath("").size() == 2);
}

TEST_CASE("Every shipped profile in firmware_configs/ loads under its own name") {
  const std::vector<std::string> search{std::string(RUNNEL_SOURCE_DIR) + "/firmware_configs"};
  for (const char* name : {"esp32-bme280", "lora-soil", "energy-meter", "smart-plug"}) {
    CAPTURE(name);
    Result<DeviceProfile> p = LoadDeviceProfileByName(name, search);
    if (!p.ok()) FAIL(p.status().message());
    CHECK(p->period.has_value());
    CHECK_FALSE(p->description.empty());
  }
}

}  // namespace
}  // namespace runnel
