// JsonOut: builds one JSON document into a string, inserting commas itself, so the API's
// handlers read as the document they produce. Strings and Values are escaped by the
// record encoder (RFC 8259). Value type; not synchronised.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/time.h"
#include "runtime/value.h"

namespace runnel {

class JsonOut {
 public:
  JsonOut& BeginObject();
  JsonOut& EndObject();
  JsonOut& BeginArray();
  JsonOut& EndArray();
  JsonOut& Key(std::string_view key);

  JsonOut& String(std::string_view s);
  JsonOut& Int(int64_t i);
  JsonOut& UInt(uint64_t u);
  JsonOut& Double(double d);
  JsonOut& Bool(bool b);
  JsonOut& Null();
  JsonOut& Val(const Value& v);
  // A watermark: the integer, or the strings "-inf" / "+inf".
  JsonOut& Watermark(Timestamp t);

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Separate();

  std::string out_;
  std::vector<bool> has_items_;  // per open container
  bool after_key_ = false;
};

}  // namespace runnel
