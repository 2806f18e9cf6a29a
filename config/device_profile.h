// DeviceProfile: a device profile file (firmware_configs/NAME.toml, SPEC §5) parsed into a typed
// struct: what one kind of firmware sends (topic template, payload format, fields with units
// and conversions, clock, reporting period). Parsing checks every key, type and cross
// reference, so that a profile that loads also builds a payload decoder; errors read
// "FILE:LINE: key.path: what (what to do)". The app layer turns a profile into the decode
// module's PayloadSpec. Value types and pure functions; not synchronised.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline_config.h"
#include "runtime/event_time.h"
#include "runtime/status.h"
#include "runtime/time.h"
#include "runtime/value.h"

namespace runnel {

enum class ProfileFormat { kJson, kCsv, kKv, kBinary };
enum class ProfileByteOrder { kBig, kLittle };
// Binary wire types; kNone for json, csv and kv fields.
enum class ProfileWireType { kNone, kU8, kI8, kU16, kI16, kU32, kI32, kU64, kI64, kF32, kF64 };

// "json", "csv", "kv", "binary".
std::string_view ProfileFormatName(ProfileFormat format);
// "u8" ... "f64"; "" for kNone.
std::string_view ProfileWireTypeName(ProfileWireType type);

// The column a profile with time = "arrival" stamps with the gateway's receive time.
inline constexpr std::string_view kArrivalTimeColumn = "ts";

struct ProfileField {
  std::string name;  // the column name
  ConfigLocation where;
  // json, csv, kv: the declared type (bool, int, float, string). binary: the type the wire
  // type reads as (int for u8..i64, float for f32/f64).
  ValueType type = ValueType::kString;
  ProfileWireType wire = ProfileWireType::kNone;  // binary only
  // json: dotted path (default: the name); kv: the key (default: the name); csv: the name,
  // looked up in `columns`; binary: empty.
  std::string path;
  int64_t byte_offset = 0;  // binary only: `offset`
  std::string unit;         // informational ("degC", "%", "hPa")
  // value * scale + add, giving a float. In json/csv/kv profiles `add` is written `offset`
  // (SPEC §5); in binary profiles `offset` is the byte position, so the term is written `add`.
  std::optional<double> scale;
  std::optional<double> add;
  std::optional<double> min, max;  // inclusive bounds on the converted value
  bool required = false;           // missing or null rejects the payload instead of null
};

struct ProfileTime {
  bool arrival = false;  // time = "arrival": stamped with the gateway's receive time
  // The event-time column (kArrivalTimeColumn for arrival). When [fields] declares a field of
  // this name, that entry says where and how the time is read; otherwise it is read at path
  // `field` (json key, csv column, kv key).
  std::string field;
  TimeUnit unit = TimeUnit::kMillis;
  ConfigLocation where;
};

struct DeviceProfile {
  std::string path;  // the file as given
  std::string name;
  ConfigLocation name_where;
  std::string description;
  std::string topic;                      // template, e.g. "sensors/{device}/env"
  std::vector<std::string> topic_fields;  // fields bound by {field} levels, in topic order
  ConfigLocation topic_where;
  ProfileFormat format = ProfileFormat::kJson;
  ProfileTime time;
  std::optional<Duration> period;    // expected reporting period (device status)
  std::vector<ProfileField> fields;  // in the order written; may include the time field
  // csv
  std::vector<std::string> columns;  // every column of the line, in payload order
  char separator = ',';
  // binary
  ProfileByteOrder byte_order = ProfileByteOrder::kBig;
  int64_t length = 0;  // exact payload length in bytes

  // The [fields] entry named `name`, if any.
  const ProfileField* FindField(std::string_view name) const;
};

// Parses and validates profile text; `path` is used in messages. Errors are kInvalid.
Result<DeviceProfile> ParseDeviceProfile(std::string_view text, const std::string& path);
// Reads and parses a profile file.
Result<DeviceProfile> LoadDeviceProfile(const std::string& path);

// Where `profile = "NAME"` is looked up, in order: firmware_configs/ in the pipeline file's
// directory, firmware_configs/ in the working directory, then the installed data directory
// (<prefix>/share/runnel/firmware_configs). Duplicates are left out. An empty
// `pipeline_directory` (runnel simulate) starts with the working directory.
std::vector<std::string> ProfileSearchPath(const std::string& pipeline_directory);

// Finds NAME.toml in the first directory of `search_path` that has it, loads it, and checks
// that its `name` is NAME. Not found is kInvalid naming every directory tried.
Result<DeviceProfile> LoadDeviceProfileByName(std::string_view name,
                                              const std::vector<std::string>& search_path);

}  // namespace runnel
