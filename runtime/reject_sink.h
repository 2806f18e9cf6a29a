// RejectSink: where sources keep the payloads that failed to decode or validate (SPEC §5), so
// that people can see what a device really sent. Implementations bound what they keep.
// Threading: called on the engine thread, inside the step (its writes commit with the step).
#pragma once

#include <string_view>

#include "runtime/status.h"
#include "runtime/time.h"

namespace runnel {

struct RejectedMessage {
  std::string_view source;
  std::string_view topic;
  Timestamp arrival = 0;     // gateway receive time, epoch ms
  std::string_view reason;   // machine-readable code, e.g. "invalid_json", "missing:temp"
  std::string_view payload;  // the raw bytes
};

class RejectSink {
 public:
  virtual ~RejectSink() = default;
  // An error stops the run (the state database is unusable).
  virtual Status Keep(const RejectedMessage& message) = 0;
};

}  // namespace runnel
