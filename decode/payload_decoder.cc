#include "decode/payload_decoder.h"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "decode/json_kind.h"
#include "decode/text_value.h"

namespace runnel {

namespace {

struct BinaryTypeInfo {
  BinaryType type;
  std::string_view name;
  size_t size;
};

constexpr BinaryTypeInfo kBinaryTypes[] = {
    {BinaryType::kU8, "u8", 1},   {BinaryType::kI8, "i8", 1},   {BinaryType::kU16, "u16", 2},
    {BinaryType::kI16, "i16", 2}, {BinaryType::kU32, "u32", 4}, {BinaryType::kI32, "i32", 4},
    {BinaryType::kU64, "u64", 8}, {BinaryType::kI64, "i64", 8}, {BinaryType::kF32, "f32", 4},
    {BinaryType::kF64, "f64", 8},
};

bool IsFloatWire(BinaryType type) { return type == BinaryType::kF32 || type == BinaryType::kF64; }

std::string Single(std::string_view text) { return "'" + std::string(text) + "'"; }
std::string Double(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace

std::string_view BinaryTypeName(BinaryType type) {
  for (const BinaryTypeInfo& info : kBinaryTypes) {
    if (info.type == type) return info.name;
  }
  return "";
}

Result<BinaryType> ParseBinaryTypeName(std::string_view name) {
  for (const BinaryTypeInfo& info : kBinaryTypes) {
    if (info.name == name) return info.type;
  }
  return Status::Invalid("unknown binary type " + Double(name) +
                         " (use u8, i8, u16, i16, u32, i32, u64, i64, f32 or f64)");
}

size_t BinaryTypeSize(BinaryType type) {
  for (const BinaryTypeInfo& info : kBinaryTypes) {
    if (info.type == type) return info.size;
  }
  return 0;
}

double ScaleDivisor(std::optional<double> scale) {
  if (!scale || std::fabs(*scale) >= 1) return 0;
  const double inverse = 1.0 / *scale;
  const double n = std::round(inverse);
  return std::fabs(inverse - n) <= 1e-9 * std::fabs(n) ? n : 0;
}

ValueType PayloadField::OutputType() const {
  if (scale || add) return ValueType::kFloat;
  if (binary != BinaryType::kNone) return IsFloatWire(binary) ? ValueType::kFloat : ValueType::kInt;
  return type;
}

namespace {

// One step of a JSON path: a key, which also indexes an array when it is a number.
struct PathStep {
  std::string key;
  int64_t index = -1;  // -1: not a number
};

// A field (or the time field) with everything resolved at construction.
struct Plan {
  PayloadField field;
  size_t column = 0;  // in the row
  bool is_time = false;
  std::vector<PathStep> path;  // json
  size_t csv_index = 0;        // csv
  // For a scale of 1/N (0.1, 0.01, 0.001) this is N: value / N is the correctly rounded
  // decimal (3 * 0.1 is 0.30000000000000004, 3 / 10 is 0.3). Zero: multiply by the scale.
  double divisor = 0;
};

bool IsNumericType(ValueType type) { return type == ValueType::kInt || type == ValueType::kFloat; }

// Reject messages quote payload text, which is hostile: they go to logs, the rejects table
// and the dashboard's JSON, so they are kept short and made valid UTF-8 without control
// characters (each bad byte becomes '?'). The raw payload is kept separately, untouched.
std::string SafeMessage(std::string_view text) {
  constexpr size_t kMaxBytes = 200;
  std::string out;
  out.reserve(std::min(text.size(), kMaxBytes + 3));
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t n = 1;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
    }
    if (out.size() + n > kMaxBytes) {
      out += "...";
      break;
    }
    if (n == 1) {
      out.push_back(c < 0x20 || c >= 0x7F ? '?' : static_cast<char>(c));
      ++i;
    } else if (i + n <= text.size() && simdjson::validate_utf8(text.data() + i, n)) {
      out.append(text, i, n);
      i += n;
    } else {
      out.push_back('?');
      ++i;
    }
  }
  return out;
}

DecodeStatus RejectWith(std::string reason, std::string_view message) {
  return DecodeStatus::Reject(std::move(reason), SafeMessage(message));
}

}  // namespace

struct PayloadDecoder::Impl {
  std::vector<Plan> plans;  // the time field first when there is one
  TimeUnit time_unit = TimeUnit::kMillis;
  NullValues nulls;
  size_t topic_count = 0;
  // json
  simdjson::dom::parser dom;
  std::string padded;  // the payload plus SIMDJSON_PADDING bytes, reused
  // csv and kv: the current payload's fields as views into the payload or into `unescaped`,
  // which is reserved to the payload's size first so that views into it stay valid.
  struct TextField {
    std::string_view text;
    bool quoted = false;
  };
  std::vector<TextField> texts;
  std::string unescaped;
  std::vector<uint8_t> seen;  // kv: which plans already have a value (the first pair wins)
  char separator = ',';       // csv
  size_t csv_column_count = 0;

  explicit Impl(size_t max_payload) : dom(max_payload) {}

  DecodeStatus Reject(const Plan& p, std::string_view reason, std::string what) const {
    if (p.is_time) {
      return RejectWith(std::string(reason == "missing" ? "missing_time" : "bad_time"),
                        "time field " + Single(p.field.name) + ": " + what);
    }
    return RejectWith(std::string(reason) + ":" + p.field.name,
                      "field " + Single(p.field.name) + ": " + what);
  }

  // The common tail of every format: null and required, the time, conversion, range.
  DecodeStatus Finish(const Plan& p, Value raw, DecodedRecord* out) const {
    if (raw.is_null()) {
      if (p.is_time || p.field.required) return Reject(p, "missing", "missing or null");
      out->row[p.column] = Value();
      return DecodeStatus::Ok();
    }
    if (p.is_time) {
      Result<Timestamp> t = NormalizeTime(raw, time_unit);
      if (!t.ok()) return Reject(p, "bad", t.status().message());
      out->time = *t;
      out->row[p.column] = Value::Int(*t);
      return DecodeStatus::Ok();
    }
    if (p.field.scale || p.field.add) {
      const double scaled = p.divisor != 0 ? raw.AsNumber() / p.divisor
                                           : raw.AsNumber() * p.field.scale.value_or(1.0);
      const double v = scaled + p.field.add.value_or(0.0);
      if (!std::isfinite(v)) return Reject(p, "out_of_range", "converted value is not finite");
      raw = Value::Float(v);
    }
    if (p.field.min || p.field.max) {
      const double v = raw.AsNumber();
      if (p.field.min && v < *p.field.min) {
        return Reject(p, "out_of_range",
                      FormatFloat(v) + " is below the minimum " + FormatFloat(*p.field.min));
      }
      if (p.field.max && v > *p.field.max) {
        return Reject(p, "out_of_range",
                      FormatFloat(v) + " is above the maximum " + FormatFloat(*p.field.max));
      }
    }
    out->row[p.column] = std::move(raw);
    return DecodeStatus::Ok();
  }

  // csv and kv values.
  DecodeStatus FromText(const Plan& p, std::string_view text, bool quoted,
                        DecodedRecord* out) const {
    Value raw;
    if (p.is_time && time_unit != TimeUnit::kIso8601) {
      // A time reads as whatever number it is: epoch seconds may carry a fraction.
      const std::string_view t = TrimSpaces(text);
      if (!t.empty() && !nulls.Contains(text)) {
        int64_t i = 0;
        double d = 0;
        if (TryParseInt(t, &i)) {
          raw = Value::Int(i);
        } else if (TryParseFloat(t, &d) && !std::isnan(d)) {
          raw = Value::Float(d);
        } else {
          return Reject(p, "bad", "invalid number " + Double(text));
        }
      }
      return Finish(p, std::move(raw), out);
    }
    const ValueType type = p.is_time ? ValueType::kString : p.field.type;
    if (!ParseTextValueFast(text, type, nulls, &raw)) {
      if (Status s = ParseTextValue(text, type, nulls, &raw, quoted); !s.ok()) {
        return Reject(p, "bad_value", s.message());
      }
    }
    if (raw.type() == ValueType::kString && !simdjson::validate_utf8(raw.AsString())) {
      return Reject(p, "bad_value", "text is not valid UTF-8");
    }
    return Finish(p, std::move(raw), out);
  }

  DecodeStatus DecodeJson(std::string_view payload, DecodedRecord* out);
  DecodeStatus DecodeCsv(std::string_view payload, DecodedRecord* out);
  DecodeStatus DecodeKv(std::string_view payload, DecodedRecord* out);
  DecodeStatus DecodeBinary(const PayloadSpec& spec, std::string_view payload,
                            DecodedRecord* out) const;
};

namespace {

// Follows a dotted path; false when a step is missing or the value there is no container.
bool Lookup(simdjson::dom::element e, const std::vector<PathStep>& path,
            simdjson::dom::element* out) {
  for (const PathStep& step : path) {
    simdjson::dom::object object;
    simdjson::dom::array array;
    if (e.get_object().get(object) == simdjson::SUCCESS) {
      if (object.at_key(step.key).get(e) != simdjson::SUCCESS) return false;
    } else if (step.index >= 0 && e.get_array().get(array) == simdjson::SUCCESS) {
      if (array.at(static_cast<size_t>(step.index)).get(e) != simdjson::SUCCESS) return false;
    } else {
      return false;
    }
  }
  *out = e;
  return true;
}

// The int an integral double holds exactly, if it fits.
bool IntegralDouble(double d, int64_t* out) {
  constexpr double kLimit = 9223372036854775808.0;  // 2^63
  if (!std::isfinite(d) || d != std::trunc(d) || d < -kLimit || d >= kLimit) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

}  // namespace

DecodeStatus PayloadDecoder::Impl::DecodeJson(std::string_view payload, DecodedRecord* out) {
  padded.assign(payload);
  padded.resize(payload.size() + simdjson::SIMDJSON_PADDING, ' ');
  simdjson::dom::element doc;
  if (auto error = dom.parse(padded.data(), payload.size(), false).get(doc)) {
    return RejectWith("invalid_json",
                      std::string("invalid JSON: ") + simdjson::error_message(error));
  }
  if (!doc.is_object()) {
    return RejectWith("not_object",
                      "expected a JSON object, found " + std::string(JsonKindName(doc.type())));
  }
  using simdjson::dom::element_type;
  for (const Plan& p : plans) {
    simdjson::dom::element e;
    if (!Lookup(doc, p.path, &e)) {
      if (DecodeStatus s = Finish(p, Value(), out); !s.ok()) return s;
      continue;
    }
    const element_type kind = e.type();
    const bool number =
        kind == element_type::INT64 || kind == element_type::UINT64 || kind == element_type::DOUBLE;
    if (kind == element_type::STRING) {
      // Firmware often quotes numbers ("t":"21.5"): text rules apply, as in csv.
      const std::string_view s = e.get_string().value_unsafe();
      if (p.is_time || p.field.type != ValueType::kString) {
        if (DecodeStatus st = FromText(p, s, true, out); !st.ok()) return st;
        continue;
      }
      // JSON tells "" from null, so an empty string stays a string.
      Value raw = !s.empty() && nulls.Contains(s) ? Value() : Value::String(std::string(s));
      if (DecodeStatus st = Finish(p, std::move(raw), out); !st.ok()) return st;
      continue;
    }
    Value raw;
    bool good = true;
    const ValueType want =
        p.is_time ? (time_unit == TimeUnit::kIso8601 ? ValueType::kString : ValueType::kNull)
                  : p.field.type;
    if (kind == element_type::NULL_VALUE) {
      // stays null
    } else if (number && want == ValueType::kNull) {  // a time number, int or float
      raw = kind == element_type::INT64 ? Value::Int(e.get_int64().value_unsafe())
                                        : Value::Float(e.get_double().value_unsafe());
    } else if (number && want == ValueType::kInt) {
      int64_t i = 0;
      if (kind == element_type::INT64) {
        raw = Value::Int(e.get_int64().value_unsafe());
      } else if (kind == element_type::DOUBLE &&
                 IntegralDouble(e.get_double().value_unsafe(), &i)) {
        raw = Value::Int(i);
      } else if (kind == element_type::UINT64) {
        return Reject(p, "out_of_range", "integer is larger than the int64 range");
      } else {
        return Reject(p, "bad_value",
                      "expected int, found " + FormatFloat(e.get_double().value_unsafe()));
      }
    } else if (number && want == ValueType::kFloat) {
      raw = Value::Float(e.get_double().value_unsafe());
    } else if (number && want == ValueType::kString) {
      // A string field given a number keeps the number's text (device ids sent as numbers).
      char buf[32];
      std::to_chars_result r{};
      if (kind == element_type::INT64) {
        r = std::to_chars(buf, buf + sizeof(buf), int64_t{e.get_int64().value_unsafe()});
        raw = Value::String(std::string(buf, r.ptr));
      } else if (kind == element_type::UINT64) {
        r = std::to_chars(buf, buf + sizeof(buf), uint64_t{e.get_uint64().value_unsafe()});
        raw = Value::String(std::string(buf, r.ptr));
      } else {
        raw = Value::String(FormatFloat(e.get_double().value_unsafe()));
      }
      if (!nulls.empty() && nulls.Contains(raw.AsString())) raw = Value();
    } else if (kind == element_type::BOOL && want == ValueType::kBool) {
      raw = Value::Bool(e.get_bool().value_unsafe());
    } else if (kind == element_type::INT64 && want == ValueType::kBool &&
               (e.get_int64().value_unsafe() == 0 || e.get_int64().value_unsafe() == 1)) {
      // Firmware writes flags as 0/1 as often as false/true; csv and kv read them alike.
      raw = Value::Bool(e.get_int64().value_unsafe() == 1);
    } else {
      good = false;
    }
    if (!good) {
      const std::string expected =
          want == ValueType::kNull ? "a number" : std::string(TypeName(want));
      return Reject(p, "bad_value",
                    "expected " + expected + ", found " + std::string(JsonKindName(kind)));
    }
    if (DecodeStatus s = Finish(p, std::move(raw), out); !s.ok()) return s;
  }
  return DecodeStatus::Ok();
}

DecodeStatus PayloadDecoder::Impl::DecodeCsv(std::string_view payload, DecodedRecord* out) {
  // One record: drop a single line ending, and a UTF-8 byte order mark some loggers write.
  if (payload.ends_with("\r\n")) {
    payload.remove_suffix(2);
  } else if (payload.ends_with('\n')) {
    payload.remove_suffix(1);
  }
  if (payload.starts_with("\xEF\xBB\xBF")) payload.remove_prefix(3);
  const char sep = separator;
  texts.clear();
  unescaped.clear();
  unescaped.reserve(payload.size());
  const size_t want = csv_column_count;
  size_t i = 0;
  const size_t n = payload.size();
  while (true) {
    if (texts.size() > want) break;  // too many already: no need to split the rest
    if (i < n && payload[i] == '"') {
      // Quoted: "" is a quote; the field ends at a lone quote, followed by the separator or
      // the end.
      const size_t begin = unescaped.size();
      ++i;
      bool closed = false;
      while (i < n) {
        const char c = payload[i++];
        if (c != '"') {
          unescaped.push_back(c);
        } else if (i < n && payload[i] == '"') {
          unescaped.push_back('"');
          ++i;
        } else {
          closed = true;
          break;
        }
      }
      if (!closed) return RejectWith("invalid_csv", "unterminated quoted field");
      texts.push_back({std::string_view(unescaped).substr(begin), true});
      if (i == n) break;
      if (payload[i] != sep) {
        return RejectWith("invalid_csv", "text after a closing quote");
      }
      ++i;
      if (i == n) {
        texts.push_back({std::string_view(), false});
        break;
      }
      continue;
    }
    size_t end = i;
    while (end < n && payload[end] != sep && payload[end] != '\n' && payload[end] != '\r') ++end;
    if (end < n && payload[end] != sep) {
      return RejectWith("invalid_csv", "more than one line (send one record per message)");
    }
    texts.push_back({payload.substr(i, end - i), false});
    if (end == n) break;
    i = end + 1;
    if (i == n) {
      texts.push_back({std::string_view(), false});
      break;
    }
  }
  if (texts.size() != want) {
    return RejectWith("column_count", (texts.size() > want ? "more than " + std::to_string(want)
                                                           : std::to_string(texts.size())) +
                                          " columns, expected " + std::to_string(want));
  }
  for (const Plan& p : plans) {
    const TextField& f = texts[p.csv_index];
    if (DecodeStatus s = FromText(p, f.text, f.quoted, out); !s.ok()) return s;
  }
  return DecodeStatus::Ok();
}

DecodeStatus PayloadDecoder::Impl::DecodeKv(std::string_view payload, DecodedRecord* out) {
  seen.assign(plans.size(), 0);
  texts.assign(plans.size(), TextField{});
  const auto is_separator = [](char c) {
    return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
  };
  size_t i = 0;
  const size_t n = payload.size();
  while (i < n) {
    if (is_separator(payload[i])) {
      ++i;
      continue;
    }
    const size_t key_begin = i;
    while (i < n && payload[i] != '=' && !is_separator(payload[i])) ++i;
    const std::string_view key = payload.substr(key_begin, i - key_begin);
    if (i == n || payload[i] != '=') {
      std::string shown(key.substr(0, 40));
      return RejectWith("invalid_kv",
                        Double(shown) + " is no key=value pair (write e.g. power=12.5)");
    }
    if (key.empty()) return RejectWith("invalid_kv", "a pair has no key");
    ++i;  // '='
    std::string_view value;
    bool quoted = false;
    if (i < n && payload[i] == '"') {
      const size_t close = payload.find('"', i + 1);
      if (close == std::string_view::npos) {
        return RejectWith("invalid_kv", "value of " + Double(key) + ": unterminated quote");
      }
      value = payload.substr(i + 1, close - i - 1);
      quoted = true;
      i = close + 1;
      if (i < n && !is_separator(payload[i])) {
        return RejectWith("invalid_kv", "value of " + Double(key) + ": text after a closing quote");
      }
    } else {
      const size_t value_begin = i;
      while (i < n && !is_separator(payload[i])) ++i;
      value = payload.substr(value_begin, i - value_begin);
    }
    for (size_t k = 0; k < plans.size(); ++k) {
      if (seen[k] || plans[k].field.path != key) continue;
      seen[k] = 1;
      texts[k] = TextField{value, quoted};
    }
  }
  for (size_t k = 0; k < plans.size(); ++k) {
    if (DecodeStatus s = FromText(plans[k], texts[k].text, texts[k].quoted, out); !s.ok()) return s;
  }
  return DecodeStatus::Ok();
}

namespace {

uint64_t LoadUnsigned(const unsigned char* p, size_t size, ByteOrder order) {
  uint64_t v = 0;
  if (order == ByteOrder::kBig) {
    for (size_t i = 0; i < size; ++i) v = (v << 8) | p[i];
  } else {
    for (size_t i = size; i > 0; --i) v = (v << 8) | p[i - 1];
  }
  return v;
}

// An f32 widened through its shortest decimal form, so that 21.3f reads as 21.3 and not as
// 21.299999237060547: the value the firmware author wrote.
double WidenFloat(float f) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), f);
  double d = f;
  std::from_chars(buf, r.ptr, d);
  return d;
}

}  // namespace

DecodeStatus PayloadDecoder::Impl::DecodeBinary(const PayloadSpec& spec, std::string_view payload,
                                                DecodedRecord* out) const {
  if (payload.size() != spec.binary_length) {
    return RejectWith("bad_length", "payload is " + std::to_string(payload.size()) +
                                        " bytes, expected " + std::to_string(spec.binary_length));
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(payload.data());
  for (const Plan& p : plans) {
    const BinaryType type = p.field.binary;
    // Create checked byte_offset + size <= binary_length == payload.size().
    const uint64_t bits =
        LoadUnsigned(bytes + p.field.byte_offset, BinaryTypeSize(type), spec.byte_order);
    Value raw;
    switch (type) {
      case BinaryType::kU8:
      case BinaryType::kU16:
      case BinaryType::kU32:
        raw = Value::Int(static_cast<int64_t>(bits));
        break;
      case BinaryType::kI8:
        raw = Value::Int(static_cast<int8_t>(static_cast<uint8_t>(bits)));
        break;
      case BinaryType::kI16:
        raw = Value::Int(static_cast<int16_t>(static_cast<uint16_t>(bits)));
        break;
      case BinaryType::kI32:
        raw = Value::Int(static_cast<int32_t>(static_cast<uint32_t>(bits)));
        break;
      case BinaryType::kI64:
        raw = Value::Int(static_cast<int64_t>(bits));
        break;
      case BinaryType::kU64:
        if (bits > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return Reject(p, "out_of_range",
                        std::to_string(bits) + " is larger than the int64 range");
        }
        raw = Value::Int(static_cast<int64_t>(bits));
        break;
      case BinaryType::kF32:
      case BinaryType::kF64: {
        const double d = type == BinaryType::kF32
                             ? WidenFloat(std::bit_cast<float>(static_cast<uint32_t>(bits)))
                             : std::bit_cast<double>(bits);
        // Firmware sends NaN for "no reading"; pipeline floats are finite.
        if (std::isnan(d)) break;
        if (std::isinf(d)) return Reject(p, "bad_value", "value is infinite");
        raw = Value::Float(d);
        break;
      }
      case BinaryType::kNone:
        break;
    }
    if (DecodeStatus s = Finish(p, std::move(raw), out); !s.ok()) return s;
  }
  return DecodeStatus::Ok();
}

// ---------------------------------------------------------------------------------------------

namespace {

Status SpecError(const PayloadSpec& spec, std::string_view what) {
  return Status::Invalid("payload " + Double(spec.name) + ": " + std::string(what));
}

Status CheckField(const PayloadSpec& spec, const PayloadField& f, bool is_time) {
  const std::string who = (is_time ? "time field " : "field ") + Single(f.name) + ": ";
  const auto error = [&](std::string_view what) {
    return SpecError(spec, who + std::string(what));
  };
  if (spec.format == PayloadFormat::kBinary) {
    const size_t size = BinaryTypeSize(f.binary);
    if (size == 0) return error("a binary payload needs a binary type (u8 ... f64)");
    if (f.byte_offset > spec.binary_length || size > spec.binary_length - f.byte_offset) {
      return error("bytes " + std::to_string(f.byte_offset) + ".." +
                   std::to_string(f.byte_offset + size - 1) + " lie beyond the length " +
                   std::to_string(spec.binary_length));
    }
  } else {
    if (f.binary != BinaryType::kNone) return error("binary types only apply to binary payloads");
    if (f.path.empty()) return error("empty path");
  }
  if (spec.format == PayloadFormat::kJson) {
    if (f.path.front() == '.' || f.path.back() == '.' || f.path.find("..") != std::string::npos) {
      return error("path " + Double(f.path) + " has an empty step");
    }
  }
  if (spec.format == PayloadFormat::kKv &&
      f.path.find_first_of("=,\" \t\r\n") != std::string::npos) {
    return error("key " + Double(f.path) + " contains '=', ',', a quote or a space");
  }
  if (spec.format == PayloadFormat::kCsv &&
      std::find(spec.csv_columns.begin(), spec.csv_columns.end(), f.path) ==
          spec.csv_columns.end()) {
    return error("column " + Double(f.path) + " is not in the csv columns");
  }
  const bool numeric = spec.format == PayloadFormat::kBinary || IsNumericType(f.type);
  if (is_time) {
    if (f.scale || f.add || f.min || f.max || f.required) {
      return error("the time field takes no scale, add, min, max or required");
    }
    if (spec.time_unit == TimeUnit::kIso8601 &&
        (spec.format == PayloadFormat::kBinary || f.type != ValueType::kString)) {
      return error("an iso8601 time must be a string field");
    }
    if (spec.time_unit != TimeUnit::kIso8601 && !numeric) {
      return error("a time in s, ms, us or ns must be an int or float field");
    }
    return Status::Ok();
  }
  if (!numeric && (f.scale || f.add || f.min || f.max)) {
    return error("scale, add, min and max only apply to int and float fields");
  }
  for (const std::optional<double>* v : {&f.scale, &f.add, &f.min, &f.max}) {
    if (*v && !std::isfinite(**v)) return error("scale, add, min and max must be finite");
  }
  if (f.min && f.max && *f.min > *f.max) return error("min is greater than max");
  if (f.type == ValueType::kNull && spec.format != PayloadFormat::kBinary) {
    return error("no type");
  }
  return Status::Ok();
}

Status CheckSpec(const PayloadSpec& spec) {
  if (spec.max_payload_bytes == 0) return SpecError(spec, "max_payload_bytes is zero");
  if (spec.format == PayloadFormat::kBinary && spec.binary_length == 0) {
    return SpecError(spec, "a binary payload needs its length");
  }
  if (spec.format == PayloadFormat::kCsv) {
    if (spec.csv_columns.empty()) return SpecError(spec, "a csv payload needs its columns");
    const char s = spec.csv_separator;
    if (s == '"' || s == '\r' || s == '\n' || s == '\0') {
      return SpecError(spec, "the csv separator cannot be a quote, a line break or NUL");
    }
    for (size_t i = 0; i < spec.csv_columns.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (spec.csv_columns[i] == spec.csv_columns[j]) {
          return SpecError(spec, "csv column " + Double(spec.csv_columns[i]) + " appears twice");
        }
      }
    }
  }
  std::vector<std::string_view> names(spec.topic_fields.begin(), spec.topic_fields.end());
  names.push_back(spec.time_column);
  for (const PayloadField& f : spec.fields) names.push_back(f.name);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) return SpecError(spec, "a column has no name");
    for (size_t j = 0; j < i; ++j) {
      if (names[i] == names[j]) {
        return SpecError(spec, "column " + Single(names[i]) + " is defined twice");
      }
    }
  }
  if (spec.time_field) RUNNEL_RETURN_IF_ERROR(CheckField(spec, *spec.time_field, true));
  for (const PayloadField& f : spec.fields) RUNNEL_RETURN_IF_ERROR(CheckField(spec, f, false));
  return Status::Ok();
}

std::vector<PathStep> SplitPath(std::string_view path) {
  std::vector<PathStep> steps;
  size_t start = 0;
  while (true) {
    const size_t end = std::min(path.find('.', start), path.size());
    PathStep step{std::string(path.substr(start, end - start)), -1};
    int64_t index = 0;
    const char* first = step.key.data();
    const char* last = first + step.key.size();
    if (!step.key.empty() && step.key[0] != '-' && step.key[0] != '+') {
      if (auto [ptr, ec] = std::from_chars(first, last, index); ec == std::errc() && ptr == last) {
        step.index = index;
      }
    }
    steps.push_back(std::move(step));
    if (end == path.size()) break;
    start = end + 1;
  }
  return steps;
}

}  // namespace

PayloadDecoder::PayloadDecoder(Token, PayloadSpec spec, Schema schema, std::unique_ptr<Impl> impl)
    : spec_(std::move(spec)), schema_(std::move(schema)), impl_(std::move(impl)) {}

PayloadDecoder::~PayloadDecoder() = default;

Result<std::unique_ptr<PayloadDecoder>> PayloadDecoder::Create(PayloadSpec spec) {
  RUNNEL_RETURN_IF_ERROR(CheckSpec(spec));
  auto impl = std::make_unique<Impl>(spec.max_payload_bytes);
  impl->time_unit = spec.time_unit;
  impl->nulls = NullValues(spec.null_values);
  impl->topic_count = spec.topic_fields.size();
  impl->separator = spec.csv_separator;
  impl->csv_column_count = spec.csv_columns.size();

  std::vector<Column> columns;
  for (const std::string& name : spec.topic_fields) columns.push_back({name, ValueType::kString});
  columns.push_back({spec.time_column, ValueType::kInt});
  const auto add_plan = [&](const PayloadField& f, size_t column, bool is_time) {
    Plan p;
    p.field = f;
    p.column = column;
    p.is_time = is_time;
    p.divisor = ScaleDivisor(f.scale);
    if (spec.format == PayloadFormat::kJson) p.path = SplitPath(f.path);
    if (spec.format == PayloadFormat::kCsv) {
      p.csv_index =
          static_cast<size_t>(std::find(spec.csv_columns.begin(), spec.csv_columns.end(), f.path) -
                              spec.csv_columns.begin());
    }
    impl->plans.push_back(std::move(p));
  };
  if (spec.time_field) {
    PayloadField time = *spec.time_field;
    time.name = spec.time_column;  // messages name the column users see
    add_plan(time, spec.topic_fields.size(), true);
  }
  for (const PayloadField& f : spec.fields) {
    add_plan(f, columns.size(), false);
    columns.push_back({f.name, f.OutputType()});
  }
  Schema schema(std::move(columns));
  return std::make_unique<PayloadDecoder>(Token(), std::move(spec), std::move(schema),
                                          std::move(impl));
}

DecodeStatus PayloadDecoder::Decode(std::span<const std::string_view> topic_values,
                                    std::string_view payload, Timestamp arrival,
                                    DecodedRecord* out) {
  if (payload.empty()) return RejectWith("empty", "empty payload");
  if (payload.size() > spec_.max_payload_bytes) {
    return RejectWith("too_large", "payload is " + std::to_string(payload.size()) +
                                       " bytes, more than the limit of " +
                                       std::to_string(spec_.max_payload_bytes));
  }
  Row& row = out->row;
  row.resize(schema_.size());
  for (size_t i = 0; i < impl_->topic_count; ++i) {
    row[i] = i < topic_values.size() ? Value::String(std::string(topic_values[i])) : Value();
  }
  if (!spec_.time_field) {
    out->time = arrival;
    row[impl_->topic_count] = Value::Int(arrival);
  }
  switch (spec_.format) {
    case PayloadFormat::kJson:
      return impl_->DecodeJson(payload, out);
    case PayloadFormat::kCsv:
      return impl_->DecodeCsv(payload, out);
    case PayloadFormat::kKv:
      return impl_->DecodeKv(payload, out);
    case PayloadFormat::kBinary:
      return impl_->DecodeBinary(spec_, payload, out);
  }
  return RejectWith("invalid_format", "unknown payload format");
}

}  // namespace runnel
