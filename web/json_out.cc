#include "web/json_out.h"

#include <cmath>

#include "decode/record_encoder.h"

namespace runnel {

void JsonOut::Separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_items_.empty()) {
    if (has_items_.back()) out_ += ',';
    has_items_.back() = true;
  }
}

JsonOut& JsonOut::BeginObject() {
  Separate();
  out_ += '{';
  has_items_.push_back(false);
  return *this;
}

JsonOut& JsonOut::EndObject() {
  out_ += '}';
  has_items_.pop_back();
  return *this;
}

JsonOut& JsonOut::BeginArray() {
  Separate();
  out_ += '[';
  has_items_.push_back(false);
  return *this;
}

JsonOut& JsonOut::EndArray() {
  out_ += ']';
  has_items_.pop_back();
  return *this;
}

JsonOut& JsonOut::Key(std::string_view key) {
  Separate();
  AppendJsonString(out_, key);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonOut& JsonOut::String(std::string_view s) {
  Separate();
  AppendJsonString(out_, s);
  return *this;
}

JsonOut& JsonOut::Int(int64_t i) {
  Separate();
  out_ += std::to_string(i);
  return *this;
}

JsonOut& JsonOut::UInt(uint64_t u) {
  Separate();
  out_ += std::to_string(u);
  return *this;
}

JsonOut& JsonOut::Double(double d) {
  Separate();
  if (std::isfinite(d)) {
    AppendFloat(out_, d);
  } else {
    out_ += "null";
  }
  return *this;
}

JsonOut& JsonOut::Bool(bool b) {
  Separate();
  out_ += b ? "true" : "false";
  return *this;
}

JsonOut& JsonOut::Null() {
  Separate();
  out_ += "null";
  return *this;
}

JsonOut& JsonOut::Val(const Value& v) {
  Separate();
  AppendJsonValue(out_, v);
  return *this;
}

JsonOut& JsonOut::Watermark(Timestamp t) {
  if (t == kMinTime || t == kMaxTime) return String(FormatWatermark(t));
  return Int(t);
}

}  // namespace runnel
