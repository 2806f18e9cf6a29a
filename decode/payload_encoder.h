// PayloadEncoder: the inverse of PayloadDecoder for one PayloadSpec. It turns a row of the
// decoder's schema (topic fields, time column, payload fields, in converted units) back into
// the bytes a device would send: the time in the spec's unit, each value converted back to raw
// units ((v - add) / scale, rounded for integer types) at its JSON path, CSV column, kv key or
// binary offset. Decoding what it writes gives the row back (up to the raw type's resolution).
// `runnel simulate` and the tests use it. Immutable after Create; safe to share across threads.
#pragma once

#include <memory>
#include <string>

#include "decode/payload_decoder.h"
#include "runtime/status.h"
#include "runtime/value.h"

namespace runnel {

class PayloadEncoder {
  struct Impl;
  struct Token {
    explicit Token() = default;
  };

 public:
  // REQUIRES: PayloadDecoder::Create accepts `spec`. Fails (Invalid) only for specs that
  // cannot be written back, e.g. JSON paths where one is a prefix of another ("a" and "a.b").
  static Result<std::unique_ptr<PayloadEncoder>> Create(PayloadSpec spec);
  ~PayloadEncoder();
  PayloadEncoder(const PayloadEncoder&) = delete;
  PayloadEncoder& operator=(const PayloadEncoder&) = delete;

  // The finest event time, in ms, the payload can carry: 1000 when the time is an integer
  // number of seconds (e.g. a u32 in a binary payload), else 1. Times are truncated to it.
  int64_t time_resolution() const { return time_resolution_; }

  // Replaces *out with the payload for `row` (the decoder's schema; a time column is ignored
  // when the spec stamps arrival time). Errors (Invalid): a value that the raw type cannot
  // hold (a binary u8 above 255), a null where the format has no null (binary integers), a kv
  // string with a quote.
  Status Encode(const Row& row, std::string* out) const;

  PayloadEncoder(Token, PayloadSpec spec, std::unique_ptr<Impl> impl, int64_t time_resolution);

 private:
  PayloadSpec spec_;
  std::unique_ptr<Impl> impl_;
  int64_t time_resolution_;
};

}  // namespace runnel
