#include "decode/json_decoder.h"

#include <simdjson.h>

#include <charconv>
#include <cstring>
#include <string>

#include "decode/json_kind.h"

namespace runnel {

// The DOM API, not On Demand: it picks the best SIMD kernel at run time (On Demand is bound
// to the compile-time target, i.e. the scalar fallback for a portable build), and it
// validates the whole line, so a truncated or trailing-garbage line is always rejected.
struct JsonRecordDecoder::Parser {
  simdjson::dom::parser dom;
  std::string padded;  // the line plus SIMDJSON_PADDING bytes, reused across lines
};

JsonRecordDecoder::JsonRecordDecoder(std::vector<Column> columns, NullValues nulls)
    : columns_(std::move(columns)), nulls_(std::move(nulls)), parser_(std::make_unique<Parser>()) {}

JsonRecordDecoder::~JsonRecordDecoder() = default;

namespace {

// The text of a JSON number as the source would print it (ints exactly, floats shortest).
std::string_view NumberText(const simdjson::dom::element& e, char (&buf)[32]) {
  using simdjson::dom::element_type;
  char* end = buf;
  switch (e.type()) {
    case element_type::INT64:
      end = std::to_chars(buf, buf + sizeof(buf), int64_t(e.get_int64().value_unsafe())).ptr;
      break;
    case element_type::UINT64:
      end = std::to_chars(buf, buf + sizeof(buf), uint64_t(e.get_uint64().value_unsafe())).ptr;
      break;
    default: {
      std::string text = FormatFloat(e.get_double().value_unsafe());
      std::memcpy(buf, text.data(), text.size());
      end = buf + text.size();
    }
  }
  return std::string_view(buf, end - buf);
}

Status DecodeElement(const simdjson::dom::element& e, ValueType type, const NullValues& nulls,
                     Value* out) {
  using simdjson::dom::element_type;
  const element_type kind = e.type();
  if (kind == element_type::NULL_VALUE) {
    *out = Value();
    return Status::Ok();
  }
  if (kind == element_type::STRING) {
    const std::string_view s = e.get_string().value_unsafe();
    if (type == ValueType::kString) {
      // JSON tells "" from null, so an empty string stays a string.
      *out = !s.empty() && nulls.Contains(s) ? Value() : Value::String(std::string(s));
      return Status::Ok();
    }
    if (type == ValueType::kInt || type == ValueType::kFloat) {
      return ParseTextValue(s, type, nulls, out);
    }
  } else if (kind == element_type::INT64 || kind == element_type::UINT64 ||
             kind == element_type::DOUBLE) {
    char buf[32];
    const std::string_view text = NumberText(e, buf);
    if (!nulls.empty() && nulls.Contains(text)) {
      *out = Value();
      return Status::Ok();
    }
    switch (type) {
      case ValueType::kInt:
        if (kind == element_type::INT64) {
          *out = Value::Int(e.get_int64().value_unsafe());
          return Status::Ok();
        }
        return ParseTextValue(text, type, nulls, out);
      case ValueType::kFloat:
        *out = Value::Float(e.get_double().value_unsafe());
        return Status::Ok();
      case ValueType::kString:
        *out = Value::String(std::string(text));
        return Status::Ok();
      default:
        break;
    }
  } else if (kind == element_type::BOOL && type == ValueType::kBool) {
    *out = Value::Bool(e.get_bool().value_unsafe());
    return Status::Ok();
  }
  return Status::Invalid("expected " + std::string(TypeName(type)) + ", found " +
                         std::string(JsonKindName(kind)));
}

}  // namespace

Status JsonRecordDecoder::Decode(std::string_view text, Row* row) {
  row->resize(columns_.size());
  for (Value& v : *row) v = Value();

  std::string& padded = parser_->padded;
  padded.assign(text);
  padded.resize(text.size() + simdjson::SIMDJSON_PADDING, ' ');
  simdjson::dom::element doc;
  if (auto error = parser_->dom.parse(padded.data(), text.size(), false).get(doc)) {
    return Status::Invalid(std::string("invalid JSON: ") + simdjson::error_message(error));
  }
  simdjson::dom::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) {
    return Status::Invalid("expected a JSON object, found " +
                           std::string(JsonKindName(doc.type())));
  }
  for (const simdjson::dom::key_value_pair& kv : object) {
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (columns_[i].name != kv.key) continue;
      Status status = DecodeElement(kv.value, columns_[i].type, nulls_, &(*row)[i]);
      if (!status.ok()) return status.WithContext("field '" + columns_[i].name + "'");
      break;
    }
  }
  return Status::Ok();
}

}  // namespace runnel
