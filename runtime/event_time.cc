#include "runtime/event_time.h"

#include <chrono>
#include <cmath>
#include <cstdint>

namespace runnel {

Result<TimeUnit> ParseTimeUnit(std::string_view name) {
  if (name == "s") return TimeUnit::kSeconds;
  if (name == "ms") return TimeUnit::kMillis;
  if (name == "us") return TimeUnit::kMicros;
  if (name == "ns") return TimeUnit::kNanos;
  if (name == "iso8601") return TimeUnit::kIso8601;
  return Status::Invalid("unknown time unit \"" + std::string(name) +
                         "\": use \"s\", \"ms\", \"us\", \"ns\" or \"iso8601\"");
}

namespace {

constexpr int64_t kMillisPerSecond = 1'000;
constexpr int64_t kMillisPerMinute = 60 * kMillisPerSecond;
constexpr int64_t kMillisPerHour = 60 * kMillisPerMinute;
constexpr int64_t kMillisPerDay = 24 * kMillisPerHour;

Status OutOfRange(const Value& raw) {
  return Status::Invalid("time " + raw.DebugString() + " is out of range");
}

Result<Timestamp> NormalizeInt(const Value& raw, TimeUnit unit) {
  const int64_t v = raw.AsInt();
  switch (unit) {
    case TimeUnit::kSeconds: {
      Timestamp out;
      if (__builtin_mul_overflow(v, kMillisPerSecond, &out)) return OutOfRange(raw);
      return out;
    }
    case TimeUnit::kMillis:
      return v;
    // Floor, not truncation: -1 us is in the millisecond [-1, 0), like every later window
    // computation that floors.
    case TimeUnit::kMicros:
      return FloorDiv(v, 1'000);
    case TimeUnit::kNanos:
      return FloorDiv(v, 1'000'000);
    case TimeUnit::kIso8601:
      break;
  }
  return Status::Invalid("time " + raw.DebugString() + " is a number, expected ISO 8601 text");
}

Result<Timestamp> NormalizeFloat(const Value& raw, TimeUnit unit) {
  const double v = raw.AsFloat();
  double ms = 0;
  switch (unit) {
    case TimeUnit::kSeconds:
      ms = v * 1e3;
      break;
    case TimeUnit::kMillis:
      ms = v;
      break;
    // Division is correctly rounded where multiplying by 1e-3 would not be.
    case TimeUnit::kMicros:
      ms = v / 1e3;
      break;
    case TimeUnit::kNanos:
      ms = v / 1e6;
      break;
    case TimeUnit::kIso8601:
      return Status::Invalid("time " + raw.DebugString() + " is a number, expected ISO 8601 text");
  }
  const double rounded = std::round(ms);  // half away from zero
  // 2^63 is exactly representable; anything at or beyond it does not fit an int64.
  constexpr double kLimit = 9223372036854775808.0;
  if (!std::isfinite(rounded) || rounded >= kLimit || rounded < -kLimit) return OutOfRange(raw);
  return static_cast<Timestamp>(rounded);
}

// A cursor over time text; every Read* returns false on a mismatch.
class TimeScanner {
 public:
  explicit TimeScanner(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ == text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

  // Between min_digits and max_digits decimal digits.
  bool ReadNumber(int min_digits, int max_digits, int* out) {
    int n = 0, value = 0;
    while (n < max_digits && IsDigit(Peek())) {
      value = value * 10 + (text_[pos_++] - '0');
      ++n;
    }
    *out = value;
    return n >= min_digits;
  }

  // One or more fraction digits; keeps milliseconds and truncates the rest.
  bool ReadFractionMillis(int* millis) {
    int n = 0, value = 0;
    while (IsDigit(Peek())) {
      if (n < 3) value = value * 10 + (text_[pos_] - '0');
      ++pos_;
      ++n;
    }
    for (int i = n; i < 3; ++i) value *= 10;
    *millis = value;
    return n > 0;
  }

  // "Z", "+hh:mm", "+hhmm" or "+hh" as an offset east of UTC in milliseconds.
  bool ReadZone(int64_t* offset_millis) {
    if (Consume('Z') || Consume('z')) {
      *offset_millis = 0;
      return true;
    }
    int sign = 0;
    if (Consume('+'))
      sign = 1;
    else if (Consume('-'))
      sign = -1;
    else
      return false;
    int hours = 0, minutes = 0;
    if (!ReadNumber(2, 2, &hours)) return false;
    if (Consume(':')) {
      if (!ReadNumber(2, 2, &minutes)) return false;
    } else if (IsDigit(Peek())) {
      if (!ReadNumber(2, 2, &minutes)) return false;
    }
    if (hours > 23 || minutes > 59) return false;
    *offset_millis = sign * (hours * kMillisPerHour + minutes * kMillisPerMinute);
    return true;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// Broken-down civil time as read from text; defaults are the epoch.
struct CivilTime {
  int year = 1970, month = 1, day = 1;
  int hour = 0, minute = 0, second = 0, millis = 0;
  int64_t offset_millis = 0;  // east of UTC
};

// Checks the ranges and converts to epoch milliseconds. Returns what is wrong, or nullptr.
const char* ToTimestamp(const CivilTime& t, Timestamp* out) {
  using namespace std::chrono;
  if (t.month < 1 || t.month > 12) return "month out of range";
  const year_month_day ymd{year{t.year}, month{static_cast<unsigned>(t.month)},
                           day{static_cast<unsigned>(t.day)}};
  if (t.day < 1 || !ymd.ok()) return "day out of range for the month";
  if (t.hour > 23 || t.minute > 59 || t.second > 59) return "time of day out of range";
  const int64_t days = sys_days(ymd).time_since_epoch().count();
  *out = days * kMillisPerDay + t.hour * kMillisPerHour + t.minute * kMillisPerMinute +
         t.second * kMillisPerSecond + t.millis - t.offset_millis;
  return nullptr;
}

Status InvalidIso(std::string_view text, std::string_view why) {
  return Status::Invalid("invalid ISO 8601 time \"" + std::string(text) +
                         "\": " + std::string(why) +
                         " (expected e.g. \"2004-03-10T18:00:00.250+01:00\" or \"2004-03-10\")");
}

Status InvalidFormatted(std::string_view text, std::string_view format, std::string_view why) {
  return Status::Invalid("invalid time \"" + std::string(text) + "\" for format \"" +
                         std::string(format) + "\": " + std::string(why));
}

}  // namespace

Result<Timestamp> NormalizeTime(const Value& raw, TimeUnit unit) {
  switch (raw.type()) {
    case ValueType::kInt:
      return NormalizeInt(raw, unit);
    case ValueType::kFloat:
      return NormalizeFloat(raw, unit);
    case ValueType::kString:
      if (unit == TimeUnit::kIso8601) return ParseIso8601(raw.AsString());
      return Status::Invalid("time " + raw.DebugString() + " is text, expected a number");
    case ValueType::kNull:
      return Status::Invalid("time is missing (null)");
    case ValueType::kBool:
      break;
  }
  return Status::Invalid("time " + raw.DebugString() + " is not a number or a text");
}

Result<Timestamp> ParseIso8601(std::string_view text) {
  TimeScanner in(text);
  CivilTime t;
  if (!in.ReadNumber(4, 4, &t.year) || !in.Consume('-') || !in.ReadNumber(2, 2, &t.month) ||
      !in.Consume('-') || !in.ReadNumber(2, 2, &t.day)) {
    return InvalidIso(text, "the date must read YYYY-MM-DD");
  }
  if (!in.AtEnd()) {
    if (!in.Consume('T') && !in.Consume('t') && !in.Consume(' ')) {
      return InvalidIso(text, "expected 'T' or a space after the date");
    }
    if (!in.ReadNumber(2, 2, &t.hour) || !in.Consume(':') || !in.ReadNumber(2, 2, &t.minute)) {
      return InvalidIso(text, "the time must read hh:mm[:ss[.fff]]");
    }
    if (in.Consume(':')) {
      if (!in.ReadNumber(2, 2, &t.second)) return InvalidIso(text, "seconds must be two digits");
      if (in.Consume('.') || in.Consume(',')) {
        if (!in.ReadFractionMillis(&t.millis)) {
          return InvalidIso(text, "expected digits after the decimal point");
        }
      }
    }
    if (!in.AtEnd() && !in.ReadZone(&t.offset_millis)) {
      return InvalidIso(text, "the zone must read Z, +hh:mm, +hhmm or +hh");
    }
    if (!in.AtEnd()) return InvalidIso(text, "unexpected text after the zone");
  }
  Timestamp out = 0;
  if (const char* error = ToTimestamp(t, &out)) return InvalidIso(text, error);
  return out;
}

Result<Timestamp> ParseTimeWithFormat(std::string_view text, std::string_view format) {
  TimeScanner in(text);
  CivilTime t;
  for (size_t i = 0; i < format.size(); ++i) {
    const char f = format[i];
    if (f != '%') {
      if (!in.Consume(f)) {
        return InvalidFormatted(text, format,
                                "expected '" + std::string(1, f) + "' at position " +
                                    std::to_string(i + 1) + " of the format");
      }
      continue;
    }
    if (++i == format.size())
      return Status::Invalid("time format \"" + std::string(format) + "\" ends with a lone '%'");
    bool ok = true;
    const char* what = "";
    switch (format[i]) {
      case 'Y':
        ok = in.ReadNumber(4, 4, &t.year), what = "a 4-digit year (%Y)";
        break;
      case 'm':
        ok = in.ReadNumber(1, 2, &t.month), what = "a month (%m)";
        break;
      case 'd':
        ok = in.ReadNumber(1, 2, &t.day), what = "a day (%d)";
        break;
      case 'H':
        ok = in.ReadNumber(1, 2, &t.hour), what = "an hour (%H)";
        break;
      case 'M':
        ok = in.ReadNumber(1, 2, &t.minute), what = "minutes (%M)";
        break;
      case 'S':
        ok = in.ReadNumber(1, 2, &t.second), what = "seconds (%S)";
        // Seconds may carry a fraction unless the format spells it out itself ("%S.%f").
        if (ok && (in.Peek() == '.' || in.Peek() == ',') && format.substr(i + 1, 3) != ".%f" &&
            format.substr(i + 1, 3) != ",%f") {
          in.Consume(in.Peek());
          ok = in.ReadFractionMillis(&t.millis), what = "fraction digits after the seconds";
        }
        break;
      case 'f':
        ok = in.ReadFractionMillis(&t.millis), what = "fraction digits (%f)";
        break;
      case 'z':
        ok = in.ReadZone(&t.offset_millis), what = "a zone (%z: Z, +hh:mm or +hhmm)";
        break;
      case '%':
        ok = in.Consume('%'), what = "'%'";
        break;
      default:
        return Status::Invalid("time format \"" + std::string(format) +
                               "\" uses unsupported directive %" + std::string(1, format[i]) +
                               " (supported: %Y %m %d %H %M %S %f %z %%)");
    }
    if (!ok) return InvalidFormatted(text, format, std::string("expected ") + what);
  }
  if (!in.AtEnd()) return InvalidFormatted(text, format, "unexpected text at the end");
  Timestamp out = 0;
  if (const char* error = ToTimestamp(t, &out)) return InvalidFormatted(text, format, error);
  return out;
}

}  // namespace runnel
