// PayloadDecoder: turns one device message (MQTT payload bytes plus the fields bound from its
// topic) into a typed Row and an event time, as a PayloadSpec describes: JSON (dotted paths),
// one CSV line, key=value pairs, or a packed binary struct. Every payload that cannot be used
// is a reject with a machine-readable reason, never a crash: the decoder reads only inside the
// payload, bounds its size, and allocates nothing per numeric field. PayloadSpec is the decode
// module's own description, so that decode/ depends on runtime/ only; the app layer fills it
// from a device profile or an inline MQTT source. Threading: one thread at a time per decoder
// (parser buffers are reused across calls); build one decoder per source.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/event_time.h"
#include "runtime/schema.h"
#include "runtime/status.h"
#include "runtime/time.h"
#include "runtime/value.h"

namespace runnel {

enum class PayloadFormat { kJson, kCsv, kKv, kBinary };

// Wire types of binary fields.
enum class BinaryType : uint8_t { kNone, kU8, kI8, kU16, kI16, kU32, kI32, kU64, kI64, kF32, kF64 };
enum class ByteOrder { kBig, kLittle };

// "u8" ... "f64"; kNone is "".
std::string_view BinaryTypeName(BinaryType type);
// Parses "u8" ... "f64".
Result<BinaryType> ParseBinaryTypeName(std::string_view name);
// Bytes on the wire: 1, 2, 4 or 8 (0 for kNone).
size_t BinaryTypeSize(BinaryType type);

// For a scale of 1/N (0.1, 0.01, 0.001), N: dividing by N gives the correctly rounded decimal
// (3 * 0.1 is 0.30000000000000004, 3 / 10 is 0.3), and multiplying by N inverts it. Zero for
// other scales, which are applied as they are.
double ScaleDivisor(std::optional<double> scale);

// One value the payload carries.
struct PayloadField {
  std::string name;  // the column name
  // How the raw value reads (bool, int, float, string) for json, csv and kv payloads.
  ValueType type = ValueType::kString;
  // Where the value is: json, a dotted path into nested objects with array indexes as
  // numbers ("env.t", "readings.0"); kv, the key; csv, the column name in csv_columns.
  std::string path;
  // binary payloads: the wire type and its byte offset.
  BinaryType binary = BinaryType::kNone;
  size_t byte_offset = 0;
  // Unit conversion: value * scale + add, as a float. Only for numeric fields.
  std::optional<double> scale;
  std::optional<double> add;
  // Accepted range of the converted value, inclusive; outside is a reject.
  std::optional<double> min;
  std::optional<double> max;
  // A missing or null value is a reject (missing:NAME) instead of a null column.
  bool required = false;

  // The column type the field yields: float when converted, else the binary type's (int or
  // float), else `type`.
  ValueType OutputType() const;
};

struct PayloadSpec {
  std::string name;  // for messages: the profile or source name
  PayloadFormat format = PayloadFormat::kJson;
  // Fields bound from the topic ({device}), in topic-template order: string columns first.
  std::vector<std::string> topic_fields;
  // Event time: an int column of epoch ms named time_column, right after the topic fields.
  // It is read from time_field in time_unit, or, without a time_field, set to the arrival
  // time. The time field's name is ignored; for s/ms/us/ns it must be an int or float (or
  // binary) field and any number is taken as it is, fractions included; for iso8601 a string
  // field. It takes no scale, add, min, max or required.
  std::string time_column = "ts";
  std::optional<PayloadField> time_field;
  TimeUnit time_unit = TimeUnit::kMillis;
  // The payload's fields, in column order after the time column.
  std::vector<PayloadField> fields;
  // csv: every column of the line, in order (fields name theirs in `path`); one-char separator.
  std::vector<std::string> csv_columns;
  char csv_separator = ',';
  // binary: byte order and the exact payload length.
  ByteOrder byte_order = ByteOrder::kBig;
  size_t binary_length = 0;
  // Raw texts that read as null (csv, kv, and JSON strings), e.g. "NA".
  std::vector<std::string> null_values;
  // Longer payloads are rejected (too_large) before parsing.
  size_t max_payload_bytes = 1 << 20;
};

// A decoded message. The decoder overwrites both members on every call.
struct DecodedRecord {
  Row row;
  Timestamp time = 0;
};

// Outcome of one Decode, shaped like Status: OK, or a reject with a reason code to count by
// and a message for people. Reason codes (FIELD is a column name):
//   empty             zero-length payload (e.g. clearing a retained message)
//   too_large         longer than max_payload_bytes
//   invalid_json      not JSON;  not_object: JSON, but not an object
//   invalid_csv       broken quoting, or more than one line;  column_count: wrong column count
//   invalid_kv        a token that is no key=value pair
//   bad_length        binary payload of the wrong length
//   missing_time      no time value;  bad_time: a time value that is unusable
//   missing:FIELD     a required field is missing or null
//   bad_value:FIELD   a value of the wrong type, unparsable, or not UTF-8
//   out_of_range:FIELD  outside min/max, or not representable (u64 above int64, overflow)
class [[nodiscard]] DecodeStatus {
 public:
  DecodeStatus() = default;
  static DecodeStatus Ok() { return DecodeStatus(); }
  static DecodeStatus Reject(std::string reason, std::string message) {
    DecodeStatus s;
    s.reason_ = std::move(reason);
    s.message_ = std::move(message);
    return s;
  }
  bool ok() const { return reason_.empty(); }
  const std::string& reason() const { return reason_; }
  const std::string& message() const { return message_; }
  // Invalid("message") for callers that propagate Status; empty reason means OK.
  Status ToStatus() const { return ok() ? Status::Ok() : Status::Invalid(message_); }

 private:
  std::string reason_;
  std::string message_;
};

class PayloadDecoder {
  struct Impl;
  // Only Create builds decoders: the private token keeps the constructor out of other hands
  // while letting std::make_unique call it.
  struct Token {
    explicit Token() = default;
  };

 public:
  // Validates the spec (unique column names, paths, offsets within the length, conversions
  // only on numbers, ...). Errors are Invalid, naming the spec and the field.
  static Result<std::unique_ptr<PayloadDecoder>> Create(PayloadSpec spec);
  ~PayloadDecoder();
  PayloadDecoder(const PayloadDecoder&) = delete;
  PayloadDecoder& operator=(const PayloadDecoder&) = delete;

  // topic fields (string), time column (int), then the payload fields.
  const Schema& schema() const { return schema_; }
  const PayloadSpec& spec() const { return spec_; }

  // REQUIRES: topic_values.size() == spec().topic_fields.size() (TopicTemplate::Match's
  // values). `arrival` is the gateway's receive time, used when the spec has no time field.
  // On a reject *out is unspecified.
  DecodeStatus Decode(std::span<const std::string_view> topic_values, std::string_view payload,
                      Timestamp arrival, DecodedRecord* out);

  PayloadDecoder(Token, PayloadSpec spec, Schema schema, std::unique_ptr<Impl> impl);

 private:
  PayloadSpec spec_;
  Schema schema_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace runnel
