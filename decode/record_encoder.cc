#include "decode/record_encoder.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace runnel {

namespace {

void AppendInt(std::string& out, int64_t i) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), i);
  out.append(buf, static_cast<size_t>(end - buf));
}

bool NeedsCsvQuotes(std::string_view text) {
  if (text.empty() || text.front() == ' ' || text.back() == ' ') return true;
  // A plain loop: find_first_of searches the set once per character.
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return c == ',' || c == '"' || c == '\r' || c == '\n'; });
}

}  // namespace

void AppendCsvString(std::string& out, std::string_view text) {
  if (!NeedsCsvQuotes(text)) {
    out.append(text);
    return;
  }
  out.push_back('"');
  size_t start = 0;
  for (size_t q = text.find('"'); q != std::string_view::npos; q = text.find('"', q + 1)) {
    out.append(text.substr(start, q + 1 - start));
    out.push_back('"');
    start = q + 1;
  }
  out.append(text.substr(start));
  out.push_back('"');
}

void AppendCsvField(std::string& out, const Value& value) {
  switch (value.type()) {
    case ValueType::kNull:
      return;
    case ValueType::kBool:
      out.append(value.AsBool() ? "true" : "false");
      return;
    case ValueType::kInt:
      AppendInt(out, value.AsInt());
      return;
    case ValueType::kFloat:
      if (std::isfinite(value.AsFloat())) AppendFloat(out, value.AsFloat());
      return;
    case ValueType::kString:
      AppendCsvString(out, value.AsString());
      return;
  }
}

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.substr(start, i - start));
    start = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default: {
        const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(escaped, sizeof(escaped));
      }
    }
  }
  out.append(text.substr(start));
  out.push_back('"');
}

void AppendJsonValue(std::string& out, const Value& value) {
  switch (value.type()) {
    case ValueType::kNull:
      out.append("null");
      return;
    case ValueType::kBool:
      out.append(value.AsBool() ? "true" : "false");
      return;
    case ValueType::kInt:
      AppendInt(out, value.AsInt());
      return;
    case ValueType::kFloat:
      if (std::isfinite(value.AsFloat())) {
        AppendFloat(out, value.AsFloat());
      } else {
        out.append("null");
      }
      return;
    case ValueType::kString:
      AppendJsonString(out, value.AsString());
      return;
  }
}

JsonChangeEncoder::JsonChangeEncoder(const Schema& schema, bool with_diff) : with_diff_(with_diff) {
  for (const Column& column : schema.columns()) {
    std::string key = keys_.empty() ? "{" : ",";
    AppendJsonString(key, column.name);
    key.push_back(':');
    keys_.push_back(std::move(key));
  }
  diff_key_ = keys_.empty() ? "{\"diff\":" : ",\"diff\":";
}

void JsonChangeEncoder::Append(std::string& out, const Row& row, int64_t diff) const {
  for (size_t i = 0; i < keys_.size(); ++i) {
    out.append(keys_[i]);
    if (i < row.size()) {
      AppendJsonValue(out, row[i]);
    } else {
      out.append("null");
    }
  }
  if (with_diff_) {
    out.append(diff_key_);
    AppendInt(out, diff);
  } else if (keys_.empty()) {
    out.push_back('{');
  }
  out.push_back('}');
}

}  // namespace runnel
