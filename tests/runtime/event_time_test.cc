#include "runtime/event_time.h"

#include <doctest/doctest.h>

#include <limits>
#include <string>

namespace runnel {
namespace {

// The parsed time, or the error message prefixed with "error: " so that one CHECK compares
// the whole outcome.
std::string Iso(std::string_view text) {
  Result<Timestamp> r = ParseIso8601(text);
  return r.ok() ? std::to_string(*r) : "error: " + r.status().message();
}

std::string Formatted(std::string_view text, std::string_view format) {
  Result<Timestamp> r = ParseTimeWithFormat(text, format);
  return r.ok() ? std::to_string(*r) : "error: " + r.status().message();
}

std::string Normalized(const Value& raw, TimeUnit unit) {
  Result<Timestamp> r = NormalizeTime(raw, unit);
  return r.ok() ? std::to_string(*r) : "error: " + r.status().message();
}

TEST_CASE("time unit names parse to their units and anything else is rejected") {
  CHECK(*ParseTimeUnit("s") == TimeUnit::kSeconds);
  CHECK(*ParseTimeUnit("ms") == TimeUnit::kMillis);
  CHECK(*ParseTimeUnit("us") == TimeUnit::kMicros);
  CHECK(*ParseTimeUnit("ns") == TimeUnit::kNanos);
  CHECK(*ParseTimeUnit("iso8601") == TimeUnit::kIso8601);
  Result<TimeUnit> bad = ParseTimeUnit("sec");
  REQUIRE(!bad.ok());
  CHECK(bad.status().code() == StatusCode::kInvalid);
  CHECK(bad.status().message() ==
        "unknown time unit \"sec\": use \"s\", \"ms\", \"us\", \"ns\" or \"iso8601\"");
}

TEST_CASE("ISO 8601 times in every documented form read as epoch milliseconds") {
  CHECK(Iso("2004-03-10T18:00:00Z") == "1078941600000");
  CHECK(Iso("2004-03-10 18:00:00.250") == "1078941600250");
  CHECK(Iso("2004-03-10T18:00:00+01:00") == "1078938000000");
  CHECK(Iso("2004-03-10") == "1078876800000");
  CHECK(Iso("2004-03-10T18:00:00") == "1078941600000");  // no zone: UTC
  CHECK(Iso("2004-03-10T18:00") == "1078941600000");     // seconds optional
  CHECK(Iso("2004-03-10t18:00:00z") == "1078941600000");
}

TEST_CASE("ISO 8601 offsets are subtracted to reach UTC in all spellings") {
  CHECK(Iso("2004-03-10T18:00:00-05:30") == "1078961400000");
  CHECK(Iso("2004-03-10T18:00:00-0530") == "1078961400000");
  CHECK(Iso("2004-03-10T18:00:00+01") == "1078938000000");
  CHECK(Iso("2004-03-10T18:00:00.123+00:00") == "1078941600123");
}

TEST_CASE("ISO 8601 fractions keep milliseconds and truncate further digits") {
  CHECK(Iso("2004-03-10T18:00:00.2") == "1078941600200");
  CHECK(Iso("2004-03-10T18:00:00.25") == "1078941600250");
  CHECK(Iso("2004-03-10T18:00:00.123999999Z") == "1078941600123");
  CHECK(Iso("2004-03-10T18:00:00,5") == "1078941600500");
  CHECK(Iso("1969-12-31T23:59:59.999") == "-1");
}

TEST_CASE("ISO 8601 dates honour leap years and the calendar's range") {
  CHECK(Iso("2024-02-29") == "1709164800000");
  CHECK(Iso("2000-02-29") == "951782400000");  // divisible by 400: leap
  CHECK(Iso("1900-01-01") == "-2208988800000");
  CHECK(Iso("0001-01-01") == "-62135596800000");
  CHECK(Iso("9999-12-31T23:59:59.999") == "253402300799999");
  const std::string kHint = " (expected e.g. \"2004-03-10T18:00:00.250+01:00\" or \"2004-03-10\")";
  CHECK(Iso("1900-02-29") ==
        "error: invalid ISO 8601 time \"1900-02-29\": day out of range for the month" + kHint);
  CHECK(Iso("2023-02-29") ==
        "error: invalid ISO 8601 time \"2023-02-29\": day out of range for the month" + kHint);
  CHECK(Iso("2023-04-31") ==
        "error: invalid ISO 8601 time \"2023-04-31\": day out of range for the month" + kHint);
  CHECK(Iso("2023-00-10") ==
        "error: invalid ISO 8601 time \"2023-00-10\": month out of range" + kHint);
  CHECK(Iso("2023-13-10") ==
        "error: invalid ISO 8601 time \"2023-13-10\": month out of range" + kHint);
  CHECK(Iso("2023-01-00") ==
        "error: invalid ISO 8601 time \"2023-01-00\": day out of range for the month" + kHint);
}

TEST_CASE("malformed ISO 8601 text is rejected with the text and the reason") {
  const std::string kHint = " (expected e.g. \"2004-03-10T18:00:00.250+01:00\" or \"2004-03-10\")";
  CHECK(Iso("2004-03-10T24:00:00") ==
        "error: invalid ISO 8601 time \"2004-03-10T24:00:00\": time of day out of range" + kHint);
  CHECK(Iso("2004-03-10T18:60:00") ==
        "error: invalid ISO 8601 time \"2004-03-10T18:60:00\": time of day out of range" + kHint);
  CHECK(Iso("2004-03-10T18:00:60") ==
        "error: invalid ISO 8601 time \"2004-03-10T18:00:60\": time of day out of range" + kHint);
  CHECK(Iso("04-03-10") ==
        "error: invalid ISO 8601 time \"04-03-10\": the date must read YYYY-MM-DD" + kHint);
  CHECK(Iso("") == "error: invalid ISO 8601 time \"\": the date must read YYYY-MM-DD" + kHint);
  CHECK(Iso("2004-3-10") ==
        "error: invalid ISO 8601 time \"2004-3-10\": the date must read YYYY-MM-DD" + kHint);
  CHECK(Iso("2004-03-10X18:00") ==
        "error: invalid ISO 8601 time \"2004-03-10X18:00\": expected 'T' or a space after the "
        "date" +
            kHint);
  CHECK(Iso("2004-03-10T18") ==
        "error: invalid ISO 8601 time \"2004-03-10T18\": the time must read hh:mm[:ss[.fff]]" +
            kHint);
  CHECK(Iso("2004-03-10T18:00:00.") ==
        "error: invalid ISO 8601 time \"2004-03-10T18:00:00.\": expected digits after the "
        "decimal point" +
            kHint);
  CHECK(Iso("2004-03-10T18:00:00+25:00") ==
        "error: invalid ISO 8601 time \"2004-03-10T18:00:00+25:00\": the zone must read Z, "
        "+hh:mm, +hhmm or +hh" +
            kHint);
  CHECK(Iso("2004-03-10T18:00:00Z junk") ==
        "error: invalid ISO 8601 time \"2004-03-10T18:00:00Z junk\": unexpected text after the "
        "zone" +
            kHint);
}

TEST_CASE("formatted times follow the strftime-style subset") {
  CHECK(Formatted("10/03/2004 18:00:00", "%d/%m/%Y %H:%M:%S") == "1078941600000");
  CHECK(Formatted("10/03/2004 18.00.00", "%d/%m/%Y %H.%M.%S") == "1078941600000");
  CHECK(Formatted("3/1/2004 8:05:09", "%m/%d/%Y %H:%M:%S") == "1078128309000");
  CHECK(Formatted("20040310180000", "%Y%m%d%H%M%S") == "1078941600000");
  CHECK(Formatted("2004-03-10 18:00:00.25", "%Y-%m-%d %H:%M:%S") == "1078941600250");
  CHECK(Formatted("2004-03-10 18:00:00.123456", "%Y-%m-%d %H:%M:%S.%f") == "1078941600123");
  CHECK(Formatted("2004-03-10T18:00:00+0100", "%Y-%m-%dT%H:%M:%S%z") == "1078938000000");
  CHECK(Formatted("2004-03-10T18:00:00+01:00", "%Y-%m-%dT%H:%M:%S%z") == "1078938000000");
  CHECK(Formatted("2004-03-10T18:00:00Z", "%Y-%m-%dT%H:%M:%S%z") == "1078941600000");
  CHECK(Formatted("100% 2004", "100%% %Y") == "1072915200000");  // 2004-01-01
  CHECK(Formatted("2004-03-10", "%Y-%m-%d") == "1078876800000");
}

TEST_CASE("formatted times that do not match are rejected with the text and the format") {
  CHECK(Formatted("10/03/2004", "%d-%m-%Y") ==
        "error: invalid time \"10/03/2004\" for format \"%d-%m-%Y\": expected '-' at position 3 "
        "of the format");
  CHECK(Formatted("29/02/2023", "%d/%m/%Y") ==
        "error: invalid time \"29/02/2023\" for format \"%d/%m/%Y\": day out of range for the "
        "month");
  CHECK(Formatted("29/02/2024", "%d/%m/%Y") == "1709164800000");
  CHECK(Formatted("10/03/04", "%d/%m/%Y") ==
        "error: invalid time \"10/03/04\" for format \"%d/%m/%Y\": expected a 4-digit year (%Y)");
  CHECK(Formatted("10/03/2004 x", "%d/%m/%Y") ==
        "error: invalid time \"10/03/2004 x\" for format \"%d/%m/%Y\": unexpected text at the "
        "end");
  CHECK(Formatted("25:00", "%H:%M") ==
        "error: invalid time \"25:00\" for format \"%H:%M\": time of day out of range");
  CHECK(Formatted("10 Mar 2004", "%d %b %Y") ==
        "error: time format \"%d %b %Y\" uses unsupported directive %b (supported: %Y %m %d %H "
        "%M %S %f %z %%)");
  CHECK(Formatted("10", "%d%") == "error: time format \"%d%\" ends with a lone '%'");
}

TEST_CASE("integer times normalise per unit, flooring sub-millisecond units") {
  CHECK(Normalized(Value::Int(1700000000), TimeUnit::kSeconds) == "1700000000000");
  CHECK(Normalized(Value::Int(-2), TimeUnit::kSeconds) == "-2000");
  CHECK(Normalized(Value::Int(1700000000123), TimeUnit::kMillis) == "1700000000123");
  CHECK(Normalized(Value::Int(-5), TimeUnit::kMillis) == "-5");
  CHECK(Normalized(Value::Int(1700000000123999), TimeUnit::kMicros) == "1700000000123");
  CHECK(Normalized(Value::Int(-1), TimeUnit::kMicros) == "-1");
  CHECK(Normalized(Value::Int(-1000), TimeUnit::kMicros) == "-1");
  CHECK(Normalized(Value::Int(-1001), TimeUnit::kMicros) == "-2");
  CHECK(Normalized(Value::Int(1700000000123999999), TimeUnit::kNanos) == "1700000000123");
  CHECK(Normalized(Value::Int(-1), TimeUnit::kNanos) == "-1");
  CHECK(Normalized(Value::Int(999999), TimeUnit::kNanos) == "0");
  CHECK(Normalized(Value::Int(std::numeric_limits<int64_t>::max()), TimeUnit::kSeconds) ==
        "error: time 9223372036854775807 is out of range");
  CHECK(Normalized(Value::Int(std::numeric_limits<int64_t>::min()), TimeUnit::kNanos) ==
        "-9223372036855");
}

TEST_CASE("float times normalise per unit, rounding half away from zero") {
  CHECK(Normalized(Value::Float(1700000000.123), TimeUnit::kSeconds) == "1700000000123");
  CHECK(Normalized(Value::Float(1.5), TimeUnit::kSeconds) == "1500");
  CHECK(Normalized(Value::Float(0.0005), TimeUnit::kSeconds) == "1");
  CHECK(Normalized(Value::Float(-0.0005), TimeUnit::kSeconds) == "-1");
  CHECK(Normalized(Value::Float(2.5), TimeUnit::kMillis) == "3");
  CHECK(Normalized(Value::Float(-2.5), TimeUnit::kMillis) == "-3");
  CHECK(Normalized(Value::Float(2.4), TimeUnit::kMillis) == "2");
  CHECK(Normalized(Value::Float(1500.0), TimeUnit::kMicros) == "2");
  CHECK(Normalized(Value::Float(-1500.0), TimeUnit::kMicros) == "-2");
  CHECK(Normalized(Value::Float(1499999.0), TimeUnit::kNanos) == "1");
  CHECK(Normalized(Value::Float(1e300), TimeUnit::kSeconds) ==
        "error: time 1e+300 is out of range");
  CHECK(Normalized(Value::Float(9.3e18), TimeUnit::kMillis) ==
        "error: time 9.3e+18 is out of range");
}

TEST_CASE("times of the wrong type or null are errors") {
  CHECK(Normalized(Value(), TimeUnit::kMillis) == "error: time is missing (null)");
  CHECK(Normalized(Value::Bool(true), TimeUnit::kMillis) ==
        "error: time true is not a number or a text");
  CHECK(Normalized(Value::String("12"), TimeUnit::kMillis) ==
        "error: time \"12\" is text, expected a number");
  CHECK(Normalized(Value::Int(12), TimeUnit::kIso8601) ==
        "error: time 12 is a number, expected ISO 8601 text");
  CHECK(Normalized(Value::String("2004-03-10"), TimeUnit::kIso8601) == "1078876800000");
}

}  // namespace
}  // namespace runnel
