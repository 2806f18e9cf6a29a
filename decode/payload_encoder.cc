#include "decode/payload_encoder.h"

#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#include "decode/record_encoder.h"
#include "decode/text_value.h"

namespace runnel {

namespace {

// A field (or the time) with where its value goes.
struct EncodePlan {
  PayloadField field;
  size_t column = 0;  // in the row
  bool is_time = false;
  size_t csv_index = 0;  // csv
  double divisor = 0;    // as the decoder's: for a scale of 1/N, N (multiply instead of divide)
};

// A node of the JSON object the payload is: a value (plan >= 0) or an object of children.
struct JsonNode {
  std::string key;
  int plan = -1;
  std::vector<JsonNode> children;
};

bool IsIntegerWire(BinaryType type) {
  return type != BinaryType::kNone && type != BinaryType::kF32 && type != BinaryType::kF64;
}

// Whether the raw value (before scale/add) is an integer on the wire.
bool RawIsInteger(const PayloadField& f) {
  if (f.binary != BinaryType::kNone) return IsIntegerWire(f.binary);
  return f.type == ValueType::kInt;
}

// Conversions leave binary noise (1013.25 / 0.01 = 101324.99999999999): a raw float is what
// firmware would print, so keep 12 significant digits.
double TidyFloat(double d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.12g", d);
  double out = d;
  TryParseFloat(buf, &out);
  return out;
}

std::string FormatIso8601(Timestamp ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds(ms)};
  const auto day = floor<days>(t);
  const year_month_day ymd(day);
  const hh_mm_ss<milliseconds> hms(t - day);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

}  // namespace

struct PayloadEncoder::Impl {
  std::vector<EncodePlan> plans;
  JsonNode json_root;  // json

  // The raw value of plan `p` for the row's converted value `v` (null stays null).
  Result<Value> RawValue(const PayloadSpec& spec, const EncodePlan& p, const Value& v) const {
    if (v.is_null()) return Value();
    if (p.is_time) {
      if (v.type() != ValueType::kInt) {
        return Status::Invalid("the time column must be an int (epoch ms)");
      }
      const Timestamp ms = v.AsInt();
      switch (spec.time_unit) {
        case TimeUnit::kSeconds:
          if (RawIsInteger(p.field) || ms % 1000 == 0) return Value::Int(FloorDiv(ms, 1000));
          return Value::Float(static_cast<double>(ms) / 1000.0);
        case TimeUnit::kMillis:
          return Value::Int(ms);
        case TimeUnit::kMicros:
          return Value::Int(ms * 1000);
        case TimeUnit::kNanos:
          return Value::Int(ms * 1'000'000);
        case TimeUnit::kIso8601:
          return Value::String(FormatIso8601(ms));
      }
      return Value::Int(ms);
    }
    const PayloadField& f = p.field;
    if (!f.scale && !f.add) {
      if (f.binary != BinaryType::kNone || f.type == ValueType::kFloat) {
        if (v.type() != ValueType::kInt && v.type() != ValueType::kFloat) {
          return Status::Invalid("field '" + f.name + "': expected a number, got " +
                                 v.DebugString());
        }
        if (RawIsInteger(f)) {
          if (v.type() == ValueType::kInt) return v;
          return Value::Int(std::llround(v.AsFloat()));
        }
        return Value::Float(v.AsNumber());
      }
      return v;
    }
    if (v.type() != ValueType::kInt && v.type() != ValueType::kFloat) {
      return Status::Invalid("field '" + f.name + "': expected a number, got " + v.DebugString());
    }
    const double shifted = v.AsNumber() - f.add.value_or(0.0);
    const double raw = p.divisor != 0 ? shifted * p.divisor : shifted / f.scale.value_or(1.0);
    if (!std::isfinite(raw)) {
      return Status::Invalid("field '" + f.name + "': raw value is not finite");
    }
    if (RawIsInteger(f)) {
      if (std::fabs(raw) >= 9.2e18) {
        return Status::Invalid("field '" + f.name + "': raw value " + FormatFloat(raw) +
                               " is outside the int64 range");
      }
      return Value::Int(std::llround(raw));
    }
    return Value::Float(TidyFloat(raw));
  }

  Status AppendJson(const PayloadSpec& spec, const JsonNode& node, const Row& row,
                    std::string& out) const {
    out.push_back('{');
    bool first = true;
    for (const JsonNode& child : node.children) {
      if (!first) out.push_back(',');
      first = false;
      AppendJsonString(out, child.key);
      out.push_back(':');
      if (child.plan < 0) {
        RUNNEL_RETURN_IF_ERROR(AppendJson(spec, child, row, out));
        continue;
      }
      const EncodePlan& p = plans[static_cast<size_t>(child.plan)];
      RUNNEL_ASSIGN_OR_RETURN(Value raw, RawValue(spec, p, row[p.column]));
      AppendJsonValue(out, raw);
    }
    out.push_back('}');
    return Status::Ok();
  }

  static void AppendText(std::string& out, const Value& raw, char separator, bool kv) {
    if (raw.type() == ValueType::kBool && kv) {
      out.push_back(raw.AsBool() ? '1' : '0');  // what kv firmware writes for a flag
      return;
    }
    if (raw.type() != ValueType::kString || separator == ',' ||
        raw.AsString().find(separator) == std::string::npos) {
      AppendCsvField(out, raw);
      return;
    }
    out.push_back('"');
    for (char c : raw.AsString()) {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
    out.push_back('"');
  }

  Status EncodeCsv(const PayloadSpec& spec, const Row& row, std::string* out) const {
    std::vector<std::string> texts(spec.csv_columns.size());
    for (const EncodePlan& p : plans) {
      RUNNEL_ASSIGN_OR_RETURN(Value raw, RawValue(spec, p, row[p.column]));
      AppendText(texts[p.csv_index], raw, spec.csv_separator, false);
    }
    for (size_t i = 0; i < texts.size(); ++i) {
      if (i > 0) out->push_back(spec.csv_separator);
      out->append(texts[i]);
    }
    return Status::Ok();
  }

  Status EncodeKv(const PayloadSpec& spec, const Row& row, std::string* out) const {
    for (const EncodePlan& p : plans) {
      RUNNEL_ASSIGN_OR_RETURN(Value raw, RawValue(spec, p, row[p.column]));
      if (raw.is_null()) continue;  // an absent key reads as null
      if (!out->empty()) out->push_back(' ');
      out->append(p.field.path);
      out->push_back('=');
      if (raw.type() != ValueType::kString) {
        AppendText(*out, raw, ' ', true);
        continue;
      }
      const std::string& s = raw.AsString();
      if (s.find('"') != std::string::npos) {
        return Status::Invalid("field '" + p.field.name + "'" +
                               ": a kv value cannot hold a double quote");
      }
      if (s.empty() || s.find_first_of("=, \t\r\n") != std::string::npos) {
        out->append("\"" + s + "\"");
      } else {
        out->append(s);
      }
    }
    return Status::Ok();
  }

  Status EncodeBinary(const PayloadSpec& spec, const Row& row, std::string* out) const {
    out->assign(spec.binary_length, '\0');
    for (const EncodePlan& p : plans) {
      RUNNEL_ASSIGN_OR_RETURN(Value raw, RawValue(spec, p, row[p.column]));
      const BinaryType type = p.field.binary;
      const size_t size = BinaryTypeSize(type);
      uint64_t bits = 0;
      if (type == BinaryType::kF32 || type == BinaryType::kF64) {
        // Firmware sends NaN for "no reading"; the decoder reads it as null.
        const double d = raw.is_null() ? std::numeric_limits<double>::quiet_NaN() : raw.AsNumber();
        bits = type == BinaryType::kF32 ? std::bit_cast<uint32_t>(static_cast<float>(d))
                                        : std::bit_cast<uint64_t>(d);
      } else {
        if (raw.is_null()) {
          return Status::Invalid("field '" + p.field.name + "'" +
                                 ": a binary integer cannot be null");
        }
        const int64_t i = raw.AsInt();
        const bool is_signed = type == BinaryType::kI8 || type == BinaryType::kI16 ||
                               type == BinaryType::kI32 || type == BinaryType::kI64;
        const int bits_wide = static_cast<int>(size * 8);
        const bool fits = size == 8   ? (is_signed || i >= 0)
                          : is_signed ? (i >= -(int64_t{1} << (bits_wide - 1)) &&
                                         i < (int64_t{1} << (bits_wide - 1)))
                                      : (i >= 0 && i < (int64_t{1} << bits_wide));
        if (!fits) {
          return Status::Invalid("field '" + p.field.name + "': raw value " + std::to_string(i) +
                                 " does not fit in " + std::string(BinaryTypeName(type)));
        }
        bits = static_cast<uint64_t>(i);
      }
      for (size_t b = 0; b < size; ++b) {
        const size_t shift = spec.byte_order == ByteOrder::kBig ? (size - 1 - b) * 8 : b * 8;
        (*out)[p.field.byte_offset + b] = static_cast<char>((bits >> shift) & 0xFF);
      }
    }
    return Status::Ok();
  }
};

namespace {

Status AddJsonPath(JsonNode* root, std::string_view path, int plan, const std::string& name) {
  JsonNode* node = root;
  size_t start = 0;
  while (true) {
    const size_t end = std::min(path.find('.', start), path.size());
    const std::string key(path.substr(start, end - start));
    const bool leaf = end == path.size();
    JsonNode* child = nullptr;
    for (JsonNode& c : node->children) {
      if (c.key == key) child = &c;
    }
    if (child == nullptr) {
      node->children.push_back(JsonNode{key, leaf ? plan : -1, {}});
      child = &node->children.back();
    } else if (leaf || child->plan >= 0) {
      return Status::Invalid("field '" + name + "': JSON path \"" + std::string(path) +
                             "\" overlaps another field's path, so no payload can hold both");
    }
    if (leaf) return Status::Ok();
    node = child;
    start = end + 1;
  }
}

}  // namespace

PayloadEncoder::PayloadEncoder(Token, PayloadSpec spec, std::unique_ptr<Impl> impl,
                               int64_t time_resolution)
    : spec_(std::move(spec)), impl_(std::move(impl)), time_resolution_(time_resolution) {}

PayloadEncoder::~PayloadEncoder() = default;

Result<std::unique_ptr<PayloadEncoder>> PayloadEncoder::Create(PayloadSpec spec) {
  auto impl = std::make_unique<Impl>();
  const size_t time_column = spec.topic_fields.size();
  int64_t resolution = 1;
  const auto add = [&](const PayloadField& f, size_t column, bool is_time) -> Status {
    EncodePlan p;
    p.field = f;
    p.column = column;
    p.is_time = is_time;
    p.divisor = ScaleDivisor(f.scale);
    if (spec.format == PayloadFormat::kCsv) {
      for (size_t i = 0; i < spec.csv_columns.size(); ++i) {
        if (spec.csv_columns[i] == f.path) p.csv_index = i;
      }
    }
    impl->plans.push_back(std::move(p));
    if (spec.format == PayloadFormat::kJson) {
      return AddJsonPath(&impl->json_root, f.path, static_cast<int>(impl->plans.size() - 1),
                         f.name);
    }
    return Status::Ok();
  };
  if (spec.time_field) {
    RUNNEL_RETURN_IF_ERROR(add(*spec.time_field, time_column, true));
    if (spec.time_unit == TimeUnit::kSeconds && RawIsInteger(*spec.time_field)) resolution = 1000;
  }
  for (size_t i = 0; i < spec.fields.size(); ++i) {
    RUNNEL_RETURN_IF_ERROR(add(spec.fields[i], time_column + 1 + i, false));
  }
  return std::make_unique<PayloadEncoder>(Token(), std::move(spec), std::move(impl), resolution);
}

Status PayloadEncoder::Encode(const Row& row, std::string* out) const {
  const size_t columns = spec_.topic_fields.size() + 1 + spec_.fields.size();
  if (row.size() != columns) {
    return Status::Invalid("payload \"" + spec_.name + "\": a row of " +
                           std::to_string(row.size()) + " columns, expected " +
                           std::to_string(columns));
  }
  out->clear();
  Status status;
  switch (spec_.format) {
    case PayloadFormat::kJson:
      status = impl_->AppendJson(spec_, impl_->json_root, row, *out);
      break;
    case PayloadFormat::kCsv:
      status = impl_->EncodeCsv(spec_, row, out);
      break;
    case PayloadFormat::kKv:
      status = impl_->EncodeKv(spec_, row, out);
      break;
    case PayloadFormat::kBinary:
      status = impl_->EncodeBinary(spec_, row, out);
      break;
  }
  return status.WithContext("payload \"" + spec_.name + "\"");
}

}  // namespace runnel
