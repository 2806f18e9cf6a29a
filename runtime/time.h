// Event time in Runnel: integer epoch milliseconds everywhere inside a pipeline.
// A watermark is a Timestamp promising that no record with an earlier time is still to come
// (records that come anyway are "late"). kMinTime is -infinity, kMaxTime +infinity.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "runtime/status.h"

namespace runnel {

using Timestamp = int64_t;  // epoch milliseconds
using Duration = int64_t;   // milliseconds

inline constexpr Timestamp kMinTime = std::numeric_limits<int64_t>::min();
inline constexpr Timestamp kMaxTime = std::numeric_limits<int64_t>::max();

// Saturating arithmetic for watermarks: -inf and +inf stay put.
Timestamp AddSaturating(Timestamp t, Duration d);
Timestamp SubtractSaturating(Timestamp t, Duration d);

// Floor division for window arithmetic with negative times (before 1970).
inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Parses "250ms", "5s", "1m", "2h", "1d" (a non-negative integer and a unit).
Result<Duration> ParseDuration(std::string_view text);
// The shortest exact spelling: 60000 -> "1m", 1500 -> "1500ms".
std::string FormatDuration(Duration d);
// "-inf", "+inf" or the integer.
std::string FormatWatermark(Timestamp t);

}  // namespace runnel
