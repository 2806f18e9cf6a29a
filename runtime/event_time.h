// Event-time normalisation: turns the raw time value a source reads (seconds, ms, us, ns,
// ISO 8601 text, or text in a strftime-style format) into epoch milliseconds. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "runtime/status.h"
#include "runtime/time.h"
#include "runtime/value.h"

namespace runnel {

enum class TimeUnit { kSeconds, kMillis, kMicros, kNanos, kIso8601 };

// "s", "ms", "us", "ns", "iso8601".
Result<TimeUnit> ParseTimeUnit(std::string_view name);

// An int or float number in `unit` (float seconds keep their milliseconds, rounded half away
// from zero), or for kIso8601 a string. Null, wrong types and out-of-range values are errors.
Result<Timestamp> NormalizeTime(const Value& raw, TimeUnit unit);

// "2004-03-10T18:00:00Z", "2004-03-10 18:00:00.250", "2004-03-10T18:00:00+01:00", "2004-03-10"
// (date only = midnight). No zone designator means UTC.
Result<Timestamp> ParseIso8601(std::string_view text);

// strftime-style subset: %Y %m %d %H %M %S (seconds may carry a fraction), %f (fraction
// digits), %z (+hh:mm, +hhmm or Z), %% and literal characters. Missing zone means UTC.
// Used with `time_format` for logs like "10/03/2004 18:00:00" ("%d/%m/%Y %H:%M:%S").
Result<Timestamp> ParseTimeWithFormat(std::string_view text, std::string_view format);

}  // namespace runnel
