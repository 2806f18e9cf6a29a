#include "config/device_profile.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "config/toml_reader.h"

#ifndef RUNNEL_DATA_DIR
#define RUNNEL_DATA_DIR "/usr/local/share/runnel"
#endif

namespace runnel {

namespace {

using config_internal::ClosestMatch;
using config_internal::IsFieldName;
using config_internal::JoinWords;
using config_internal::ParseTomlText;
using config_internal::ReadConfigText;
using config_internal::SourceFile;
using config_internal::SourceFileOf;
using config_internal::StringAt;
using config_internal::TableReader;

constexpr std::string_view kFieldNameRule =
    "use letters, digits and '_', not starting with a digit";

std::string Single(std::string_view text) { return "'" + std::string(text) + "'"; }
std::string Double(std::string_view text) { return "\"" + std::string(text) + "\""; }

struct WireInfo {
  ProfileWireType type;
  std::string_view name;
  int64_t size;
};

constexpr WireInfo kWireTypes[] = {
    {ProfileWireType::kU8, "u8", 1},   {ProfileWireType::kI8, "i8", 1},
    {ProfileWireType::kU16, "u16", 2}, {ProfileWireType::kI16, "i16", 2},
    {ProfileWireType::kU32, "u32", 4}, {ProfileWireType::kI32, "i32", 4},
    {ProfileWireType::kU64, "u64", 8}, {ProfileWireType::kI64, "i64", 8},
    {ProfileWireType::kF32, "f32", 4}, {ProfileWireType::kF64, "f64", 8},
};

int64_t WireSize(ProfileWireType type) {
  for (const WireInfo& info : kWireTypes) {
    if (info.type == type) return info.size;
  }
  return 0;
}

bool IsNumeric(ValueType type) { return type == ValueType::kInt || type == ValueType::kFloat; }

// Profile names become file names: letters, digits, '_', '-', '.', not starting with '.'.
bool IsProfileName(std::string_view name) {
  return !name.empty() && name.front() != '.' && !name.ends_with(".toml") &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
         });
}

// Errors on the first of `keys` present: they mean nothing for this format.
Status RefuseKeys(const TableReader& r, std::initializer_list<std::string_view> keys,
                  std::string_view why) {
  const std::string_view key = r.FirstOf(keys);
  if (key.empty()) return Status::Ok();
  return r.KeyError(key, why);
}

// An integer or a float, finite.
Result<std::optional<double>> GetNumber(const TableReader& r, std::string_view key) {
  const toml::node* node = r.Find(key);
  if (!node) return std::optional<double>();
  double v = 0;
  if (const auto* i = node->as_integer()) {
    v = static_cast<double>(i->get());
  } else if (const auto* f = node->as_floating_point()) {
    v = f->get();
  } else {
    return r.TypeError(key, *node, "a number");
  }
  if (!std::isfinite(v)) return r.KeyError(key, "must be a finite number");
  return std::optional<double>(v);
}

class ProfileParser {
 public:
  ProfileParser(const SourceFile& file, const toml::table& root, DeviceProfile* out)
      : file_(file), root_(file, root, "", ""), out_(out) {}

  Status Parse() {
    const TableReader& r = root_;
    RUNNEL_RETURN_IF_ERROR(r.CheckKeys({"name", "description", "topic", "format", "time", "period",
                                        "fields", "columns", "separator", "byte_order", "length"}));
    RUNNEL_RETURN_IF_ERROR(
        r.Require("name", "name the profile after its file, e.g. name = \"esp32-bme280\""));
    RUNNEL_RETURN_IF_ERROR(r.ReadNonEmptyString("name", &out_->name));
    out_->name_where = r.ValueWhere("name");
    if (!IsProfileName(out_->name)) {
      return r.KeyError("name", Double(out_->name) +
                                    " is not a profile name (use letters, digits, '_', '-' and "
                                    "'.', as in the file name without .toml)");
    }
    RUNNEL_RETURN_IF_ERROR(r.ReadString("description", &out_->description));
    RUNNEL_RETURN_IF_ERROR(ParseTopic(r));
    RUNNEL_RETURN_IF_ERROR(
        r.Require("format", "write format = \"json\", \"csv\", \"kv\" or \"binary\""));
    RUNNEL_RETURN_IF_ERROR(r.ReadEnum<ProfileFormat>("format",
                                                     {{"json", ProfileFormat::kJson},
                                                      {"csv", ProfileFormat::kCsv},
                                                      {"kv", ProfileFormat::kKv},
                                                      {"binary", ProfileFormat::kBinary}},
                                                     &out_->format));
    RUNNEL_RETURN_IF_ERROR(ParseFormatOptions(r));
    RUNNEL_RETURN_IF_ERROR(r.ReadDuration("period", true, &out_->period));
    RUNNEL_RETURN_IF_ERROR(ParseFields(r));
    RUNNEL_RETURN_IF_ERROR(ParseTime(r));
    return CheckColumns(r);
  }

 private:
  // Topic levels: text, '+', '#' last, or a whole-level {field}; the same rules as the
  // decode module's TopicTemplate, checked here so that `runnel check` reports them with
  // the file position.
  Status ParseTopic(const TableReader& r) {
    RUNNEL_RETURN_IF_ERROR(r.Require(
        "topic",
        "write the topic the firmware publishes to, e.g. topic = \"sensors/{device}/env\""));
    RUNNEL_RETURN_IF_ERROR(r.ReadNonEmptyString("topic", &out_->topic));
    out_->topic_where = r.ValueWhere("topic");
    const std::string_view topic = out_->topic;
    if (topic.find('\0') != std::string_view::npos) {
      return r.KeyError("topic", "contains a NUL character, which MQTT forbids");
    }
    size_t start = 0;
    while (true) {
      const size_t end = std::min(topic.find('/', start), topic.size());
      const std::string_view level = topic.substr(start, end - start);
      const bool last = end == topic.size();
      if (level.size() >= 2 && level.front() == '{' && level.back() == '}') {
        const std::string name(level.substr(1, level.size() - 2));
        if (!IsFieldName(name)) {
          return r.KeyError("topic", "level " + Double(level) + ": " + Double(name) +
                                         " is not a valid field name (" +
                                         std::string(kFieldNameRule) + ")");
        }
        if (std::find(out_->topic_fields.begin(), out_->topic_fields.end(), name) !=
            out_->topic_fields.end()) {
          return r.KeyError("topic", "field " + Single(name) +
                                         " is bound by two levels (give each level its own name)");
        }
        out_->topic_fields.push_back(name);
      } else if (level == "#" && !last) {
        return r.KeyError("topic", "'#' must be the last level (e.g. \"sensors/#\")");
      } else if (level != "+" && level != "#" &&
                 level.find_first_of("+#{}") != std::string_view::npos) {
        return r.KeyError("topic",
                          "level " + Double(level) + " of " + Double(topic) +
                              " is not valid (a level is text, +, # at the end, or {field} "
                              "to bind a field, e.g. \"sensors/{device}/env\")");
      }
      if (last) break;
      start = end + 1;
    }
    return Status::Ok();
  }

  Status ParseFormatOptions(const TableReader& r) {
    if (out_->format != ProfileFormat::kCsv) {
      RUNNEL_RETURN_IF_ERROR(
          RefuseKeys(r, {"columns", "separator"}, "only applies to format = \"csv\" (remove it)"));
    }
    if (out_->format != ProfileFormat::kBinary) {
      RUNNEL_RETURN_IF_ERROR(RefuseKeys(r, {"byte_order", "length"},
                                        "only applies to format = \"binary\" (remove it)"));
    }
    if (out_->format == ProfileFormat::kCsv) {
      RUNNEL_RETURN_IF_ERROR(r.Require(
          "columns",
          "name the payload's columns in order, e.g. columns = [\"ts\", \"voltage\", \"power\"]"));
      std::vector<StringAt> columns;
      RUNNEL_RETURN_IF_ERROR(r.ReadStringArray("columns", &columns));
      if (columns.empty()) {
        return r.KeyError("columns", "empty list (name the payload's columns in order)");
      }
      for (StringAt& column : columns) {
        if (!IsFieldName(column.value)) {
          return r.ErrorAt(column.where, "columns",
                           Double(column.value) + " is not a valid column name (" +
                               std::string(kFieldNameRule) + ")");
        }
        if (std::find(out_->columns.begin(), out_->columns.end(), column.value) !=
            out_->columns.end()) {
          return r.ErrorAt(column.where, "columns",
                           Single(column.value) +
                               " appears twice (name every column once; "
                               "unused ones e.g. skip1, skip2)");
        }
        out_->columns.push_back(std::move(column.value));
      }
      std::string separator;
      RUNNEL_RETURN_IF_ERROR(r.ReadString("separator", &separator));
      if (r.Has("separator")) {
        if (separator.size() != 1 || separator == "\"" || separator == "\n" || separator == "\r") {
          return r.KeyError("separator",
                            "must be one character other than a quote or a line break (e.g. "
                            "\";\" or \"\\t\")");
        }
        out_->separator = separator[0];
      }
    }
    if (out_->format == ProfileFormat::kBinary) {
      RUNNEL_RETURN_IF_ERROR(r.Require(
          "byte_order", "write byte_order = \"big\" (network order) or \"little\" (ESP32, ARM)"));
      RUNNEL_RETURN_IF_ERROR(r.ReadEnum<ProfileByteOrder>(
          "byte_order", {{"big", ProfileByteOrder::kBig}, {"little", ProfileByteOrder::kLittle}},
          &out_->byte_order));
      RUNNEL_RETURN_IF_ERROR(
          r.Require("length", "give the exact payload length in bytes, e.g. length = 10"));
      RUNNEL_RETURN_IF_ERROR(r.ReadInt("length", 1, 65535, &out_->length));
    }
    return Status::Ok();
  }

  Status ParseFields(const TableReader& r) {
    RUNNEL_RETURN_IF_ERROR(
        r.Require("fields",
                  "describe the payload's values in a [fields] table, e.g. temp = { path = \"t\", "
                  "type = \"float\" }"));
    const toml::node* node = r.Find("fields");
    if (!node->is_table()) {
      return r.TypeError("fields", *node, "a table", "write [fields] and one line per field");
    }
    RUNNEL_ASSIGN_OR_RETURN(TableReader fields, r.GetTable("fields"));
    const auto entries = fields.EntriesInDocumentOrder();
    if (entries.empty()) {
      return r.KeyError("fields", "no fields (describe at least one value of the payload)");
    }
    for (const auto& [key, value] : entries) {
      const ConfigLocation key_where = file_.Locate(key->source());
      if (!IsFieldName(key->str())) {
        return r.ErrorAt(key_where, "fields",
                         Double(key->str()) + " is not a valid field name (" +
                             std::string(kFieldNameRule) + ")");
      }
      if (!value->is_table()) {
        return fields.TypeError(
            key->str(), *value, "a table",
            "write " + std::string(key->str()) + " = { path = \"...\", type = \"float\" }");
      }
      RUNNEL_ASSIGN_OR_RETURN(TableReader field, fields.GetTable(key->str()));
      ProfileField out;
      out.name = std::string(key->str());
      out.where = key_where;
      RUNNEL_RETURN_IF_ERROR(ParseField(field, &out));
      out_->fields.push_back(std::move(out));
    }
    return Status::Ok();
  }

  Status ParseField(const TableReader& f, ProfileField* out) {
    switch (out_->format) {
      case ProfileFormat::kJson:
      case ProfileFormat::kKv:
        if (f.Has("add")) {
          return f.KeyError("add", "is written offset in " +
                                       std::string(ProfileFormatName(out_->format)) +
                                       " profiles (offset = ... is added after scale)");
        }
        RUNNEL_RETURN_IF_ERROR(
            f.CheckKeys({"path", "type", "unit", "scale", "offset", "min", "max", "required"}));
        break;
      case ProfileFormat::kCsv:
        if (f.Has("add")) {
          return f.KeyError(
              "add", "is written offset in csv profiles (offset = ... is added after scale)");
        }
        if (f.Has("path")) {
          return f.KeyError("path",
                            "csv fields are found by name in columns (remove path, and name the "
                            "field as its column)");
        }
        RUNNEL_RETURN_IF_ERROR(
            f.CheckKeys({"type", "unit", "scale", "offset", "min", "max", "required"}));
        break;
      case ProfileFormat::kBinary:
        if (f.Has("path")) {
          return f.KeyError("path", "binary fields are found by byte offset (remove path)");
        }
        RUNNEL_RETURN_IF_ERROR(
            f.CheckKeys({"offset", "type", "unit", "scale", "add", "min", "max", "required"}));
        break;
    }
    RUNNEL_RETURN_IF_ERROR(f.ReadString("unit", &out->unit));
    RUNNEL_RETURN_IF_ERROR(f.ReadBool("required", &out->required));
    if (out_->format == ProfileFormat::kBinary) {
      RUNNEL_RETURN_IF_ERROR(ParseBinaryField(f, out));
    } else {
      RUNNEL_RETURN_IF_ERROR(ParseTextField(f, out));
    }
    RUNNEL_ASSIGN_OR_RETURN(out->scale, GetNumber(f, "scale"));
    const std::string_view add_key = out_->format == ProfileFormat::kBinary ? "add" : "offset";
    RUNNEL_ASSIGN_OR_RETURN(out->add, GetNumber(f, add_key));
    RUNNEL_ASSIGN_OR_RETURN(out->min, GetNumber(f, "min"));
    RUNNEL_ASSIGN_OR_RETURN(out->max, GetNumber(f, "max"));
    if (out->scale && *out->scale == 0) {
      return f.KeyError("scale", "must not be zero (it would turn every value into 0)");
    }
    if (!IsNumeric(out->type)) {
      RUNNEL_RETURN_IF_ERROR(RefuseKeys(f, {"scale", add_key, "min", "max"},
                                        "only applies to int and float fields (this one is \"" +
                                            std::string(TypeName(out->type)) + "\")"));
    }
    if (out->min && out->max && *out->min > *out->max) {
      return f.KeyError(f.LastOf({"min", "max"}), "min is greater than max (swap them)");
    }
    return Status::Ok();
  }

  Status ParseTextField(const TableReader& f, ProfileField* out) {
    RUNNEL_RETURN_IF_ERROR(
        f.Require("type", "write type = \"bool\", \"int\", \"float\" or \"string\""));
    std::string type_name;
    RUNNEL_RETURN_IF_ERROR(f.ReadString("type", &type_name));
    auto type = ParseTypeName(type_name);
    if (!type.ok()) {
      std::string hint;
      if (std::any_of(std::begin(kWireTypes), std::end(kWireTypes),
                      [&](const WireInfo& w) { return w.name == type_name; })) {
        hint = " (" + type_name + " is a binary wire type; for " +
               std::string(ProfileFormatName(out_->format)) +
               " payloads write \"bool\", \"int\", \"float\" or \"string\")";
      }
      return f.KeyError("type", type.status().message() + hint);
    }
    out->type = *type;
    out->path = out->name;
    if (out_->format == ProfileFormat::kCsv) return Status::Ok();
    RUNNEL_RETURN_IF_ERROR(f.ReadNonEmptyString("path", &out->path));
    if (out_->format == ProfileFormat::kJson) {
      const std::string& p = out->path;
      if (p.front() == '.' || p.back() == '.' || p.find("..") != std::string::npos) {
        return f.KeyError("path", Double(p) +
                                      " has an empty step (write a dotted path such as "
                                      "\"env.t\" or \"readings.0\")");
      }
    } else if (out->path.find_first_of("=,\" \t\r\n") != std::string::npos) {
      return f.KeyError(
          "path", Double(out->path) + " cannot be a key: keys have no '=', ',', quotes or spaces");
    }
    return Status::Ok();
  }

  Status ParseBinaryField(const TableReader& f, ProfileField* out) {
    RUNNEL_RETURN_IF_ERROR(
        f.Require("offset", "give the field's byte offset in the payload, e.g. offset = 0"));
    RUNNEL_RETURN_IF_ERROR(
        f.Require("type", "write the wire type: u8, i8, u16, i16, u32, i32, u64, i64, f32 or f64"));
    if (const toml::node* node = f.Find("offset"); node->is_floating_point()) {
      return f.TypeError("offset", *node, "an integer byte position",
                         "in binary profiles offset is the byte position; write add = ... to add "
                         "a constant after scale");
    }
    RUNNEL_RETURN_IF_ERROR(f.ReadInt("offset", 0, 65535, &out->byte_offset));
    std::string wire;
    RUNNEL_RETURN_IF_ERROR(f.ReadString("type", &wire));
    for (const WireInfo& info : kWireTypes) {
      if (info.name == wire) out->wire = info.type;
    }
    if (out->wire == ProfileWireType::kNone && ParseTypeName(wire).ok()) {
      return f.KeyError("type", Double(wire) +
                                    " is a value type; binary fields take a wire type: u8, i8, "
                                    "u16, i16, u32, i32, u64, i64, f32 or f64");
    }
    if (out->wire == ProfileWireType::kNone) {
      std::vector<std::string> names;
      for (const WireInfo& info : kWireTypes) names.emplace_back(info.name);
      return f.UnknownChoice("type", wire, names);
    }
    out->type = out->wire == ProfileWireType::kF32 || out->wire == ProfileWireType::kF64
                    ? ValueType::kFloat
                    : ValueType::kInt;
    const int64_t size = WireSize(out->wire);
    if (out->byte_offset + size > out_->length) {
      return f.KeyError("offset", "bytes " + std::to_string(out->byte_offset) + ".." +
                                      std::to_string(out->byte_offset + size - 1) +
                                      " lie beyond length = " + std::to_string(out_->length) +
                                      " (check offset, type and length)");
    }
    return Status::Ok();
  }

  Status ParseTime(const TableReader& r) {
    RUNNEL_RETURN_IF_ERROR(
        r.Require("time",
                  "write time = { field = \"ts\", unit = \"ms\" }, or time = \"arrival\" for "
                  "firmware without a clock"));
    ProfileTime& time = out_->time;
    time.where = r.ValueWhere("time");
    const toml::node* node = r.Find("time");
    if (const auto* text = node->as_string()) {
      if (text->get() != "arrival") {
        return r.KeyError("time", "invalid value " + Double(text->get()) +
                                      " (write time = { field = \"" + text->get() +
                                      "\", unit = \"ms\" }, or time = \"arrival\")");
      }
      time.arrival = true;
      time.field = std::string(kArrivalTimeColumn);
      return Status::Ok();
    }
    if (!node->is_table()) {
      return r.TypeError("time", *node, "a table or \"arrival\"",
                         "write time = { field = \"ts\", unit = \"ms\" }");
    }
    RUNNEL_ASSIGN_OR_RETURN(TableReader t, r.GetTable("time"));
    RUNNEL_RETURN_IF_ERROR(t.CheckKeys({"field", "unit"}));
    RUNNEL_RETURN_IF_ERROR(t.Require("field", "name the time field, e.g. field = \"ts\""));
    RUNNEL_RETURN_IF_ERROR(t.ReadNonEmptyString("field", &time.field));
    if (!IsFieldName(time.field)) {
      return t.KeyError("field", Double(time.field) + " is not a valid field name (" +
                                     std::string(kFieldNameRule) + ")");
    }
    RUNNEL_RETURN_IF_ERROR(
        t.Require("unit", "write unit = \"s\", \"ms\", \"us\", \"ns\" or \"iso8601\""));
    std::string unit_name;
    RUNNEL_RETURN_IF_ERROR(t.ReadString("unit", &unit_name));
    auto unit = ParseTimeUnit(unit_name);
    if (!unit.ok()) return t.KeyError("unit", unit.status().message());
    time.unit = *unit;
    const bool text_time = time.unit == TimeUnit::kIso8601;
    const std::string reads =
        "unit = " + Double(unit_name) + " reads " + (text_time ? "text" : "a number");
    if (const ProfileField* f = out_->FindField(time.field)) {
      // The declared field says where the time is; its value is normalised, not converted.
      const ConfigLocation at = t.ValueWhere("field");
      if (f->scale || f->add || f->min || f->max || f->required) {
        return t.ErrorAt(at, "time.field",
                         "field " + Single(f->name) +
                             " is the event time: it takes no scale, offset, add, min, max or "
                             "required (the unit converts it)");
      }
      if (text_time && f->type != ValueType::kString) {
        return t.ErrorAt(
            at, "time.field",
            "field " + Single(f->name) + " is declared " +
                (f->wire != ProfileWireType::kNone ? Double(ProfileWireTypeName(f->wire))
                                                   : Double(TypeName(f->type))) +
                ", but " + reads + " (declare it \"string\")");
      }
      if (!text_time && !IsNumeric(f->type)) {
        return t.ErrorAt(at, "time.field",
                         "field " + Single(f->name) + " is declared " + Double(TypeName(f->type)) +
                             ", but " + reads +
                             " (declare it \"int\" or \"float\", or use unit = \"iso8601\")");
      }
      return Status::Ok();
    }
    if (out_->format == ProfileFormat::kBinary) {
      return t.KeyError("field", "binary payloads need the time's offset and type: declare " +
                                     Single(time.field) +
                                     " in [fields], e.g. ts = { offset = 0, type = \"u32\" }");
    }
    if (out_->format == ProfileFormat::kCsv &&
        std::find(out_->columns.begin(), out_->columns.end(), time.field) == out_->columns.end()) {
      std::string hint = "add it to columns";
      if (auto match = ClosestMatch(time.field, out_->columns)) {
        hint = "did you mean " + Single(*match) + "?";
      }
      return t.KeyError("field",
                        "column " + Single(time.field) + " is not in columns (" + hint + ")");
    }
    return Status::Ok();
  }

  // Column names are unique across topic bindings, the time column and the fields; csv fields
  // exist in columns; a period needs a device column to tell devices apart.
  Status CheckColumns(const TableReader& r) {
    const std::string& time = out_->time.field;
    for (const std::string& bound : out_->topic_fields) {
      if (out_->FindField(bound)) {
        return r.ErrorAt(
            out_->FindField(bound)->where, "fields",
            "field " + Single(bound) + " is already bound by the topic (rename one of them)");
      }
      if (bound == time) {
        return r.ErrorAt(out_->topic_where, "topic",
                         "{" + bound + "} clashes with the time column " + Single(time) +
                             (out_->time.arrival ? " that time = \"arrival\" adds" : "") +
                             " (rename the level)");
      }
    }
    if (out_->time.arrival) {
      if (const ProfileField* f = out_->FindField(time)) {
        return r.ErrorAt(f->where, "fields",
                         "field " + Single(time) +
                             " clashes with the column time = \"arrival\" adds (rename it)");
      }
    }
    if (out_->format == ProfileFormat::kCsv) {
      for (const ProfileField& f : out_->fields) {
        if (std::find(out_->columns.begin(), out_->columns.end(), f.name) == out_->columns.end()) {
          std::string hint = "add it to columns in payload order";
          if (auto match = ClosestMatch(f.name, out_->columns)) {
            hint = "did you mean " + Single(*match) + "?";
          }
          return r.ErrorAt(f.where, "fields",
                           "field " + Single(f.name) + " is not in columns (" + hint + ")");
        }
      }
    }
    if (out_->period) {
      const bool has_device = std::find(out_->topic_fields.begin(), out_->topic_fields.end(),
                                        "device") != out_->topic_fields.end() ||
                              out_->FindField("device");
      if (!has_device) {
        return r.KeyError("period",
                          "device status needs a 'device' column to tell devices apart (bind "
                          "it in the topic, e.g. \"sensors/{device}/env\", or declare a field "
                          "device; or remove period)");
      }
    }
    return Status::Ok();
  }

  const SourceFile& file_;
  TableReader root_;
  DeviceProfile* out_;
};

}  // namespace

std::string_view ProfileFormatName(ProfileFormat format) {
  switch (format) {
    case ProfileFormat::kJson:
      return "json";
    case ProfileFormat::kCsv:
      return "csv";
    case ProfileFormat::kKv:
      return "kv";
    case ProfileFormat::kBinary:
      return "binary";
  }
  return "";
}

std::string_view ProfileWireTypeName(ProfileWireType type) {
  for (const WireInfo& info : kWireTypes) {
    if (info.type == type) return info.name;
  }
  return "";
}

const ProfileField* DeviceProfile::FindField(std::string_view field_name) const {
  for (const ProfileField& f : fields) {
    if (f.name == field_name) return &f;
  }
  return nullptr;
}

Result<DeviceProfile> ParseDeviceProfile(std::string_view text, const std::string& path) {
  DeviceProfile profile;
  profile.path = path;
  const SourceFile file = SourceFileOf(path);
  RUNNEL_ASSIGN_OR_RETURN(const toml::table root, ParseTomlText(text, path));
  ProfileParser parser(file, root, &profile);
  RUNNEL_RETURN_IF_ERROR(parser.Parse());
  return profile;
}

Result<DeviceProfile> LoadDeviceProfile(const std::string& path) {
  RUNNEL_ASSIGN_OR_RETURN(const std::string text, ReadConfigText(path, "device profile"));
  return ParseDeviceProfile(text, path);
}

std::vector<std::string> ProfileSearchPath(const std::string& pipeline_directory) {
  namespace fs = std::filesystem;
  std::vector<std::string> dirs;
  std::vector<fs::path> seen;
  const auto add = [&](const fs::path& dir) {
    std::error_code ec;
    // Compare the directories themselves, so that "." and the working directory's absolute
    // path are searched once.
    fs::path key = fs::weakly_canonical(fs::absolute(dir, ec), ec);
    if (ec) key = dir.lexically_normal();
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) return;
    seen.push_back(key);
    dirs.push_back(dir.lexically_normal().string());
  };
  if (!pipeline_directory.empty()) add(fs::path(pipeline_directory) / "firmware_configs");
  add(fs::path("firmware_configs"));
  add(fs::path(RUNNEL_DATA_DIR) / "firmware_configs");
  return dirs;
}

Result<DeviceProfile> LoadDeviceProfileByName(std::string_view name,
                                              const std::vector<std::string>& search_path) {
  namespace fs = std::filesystem;
  if (!IsProfileName(name)) {
    return Status::Invalid(Double(name) +
                           " is not a profile name (write the file name in firmware_configs/ "
                           "without .toml, e.g. \"esp32-bme280\")");
  }
  const std::string file_name = std::string(name) + ".toml";
  for (const std::string& dir : search_path) {
    const fs::path candidate = fs::path(dir) / file_name;
    std::error_code ec;
    if (!fs::is_regular_file(candidate, ec)) continue;
    RUNNEL_ASSIGN_OR_RETURN(DeviceProfile profile, LoadDeviceProfile(candidate.string()));
    if (profile.name != name) {
      return Status::Invalid(profile.name_where.Prefix() + ": name: " + Double(profile.name) +
                             " differs from the file name " + Double(file_name) +
                             " (make them equal: sources find profiles by file name)");
    }
    return profile;
  }
  std::vector<std::string> quoted;
  for (const std::string& dir : search_path) quoted.push_back(dir);
  return Status::Invalid("device profile " + Double(name) + " not found: no " + file_name + " in " +
                         JoinWords(quoted, " or ") +
                         " (add it to firmware_configs/ next to the pipeline, or check the "
                         "name)");
}

}  // namespace runnel
