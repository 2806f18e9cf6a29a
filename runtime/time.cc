#include "runtime/time.h"

#include <charconv>

namespace runnel {

Timestamp AddSaturating(Timestamp t, Duration d) {
  if (t == kMinTime || t == kMaxTime) return t;
  Timestamp out;
  if (__builtin_add_overflow(t, d, &out)) return d > 0 ? kMaxTime : kMinTime;
  return out;
}

Timestamp SubtractSaturating(Timestamp t, Duration d) {
  if (t == kMinTime || t == kMaxTime) return t;
  Timestamp out;
  if (__builtin_sub_overflow(t, d, &out)) return d > 0 ? kMinTime : kMaxTime;
  return out;
}

namespace {
struct Unit {
  std::string_view suffix;
  Duration millis;
};
constexpr Unit kUnits[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
}  // namespace

Result<Duration> ParseDuration(std::string_view text) {
  const auto bad = [&] {
    return Status::Invalid("invalid duration \"" + std::string(text) +
                           "\": write a whole number and a unit, e.g. \"250ms\", \"5s\", \"1m\", "
                           "\"2h\", \"1d\"");
  };
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return bad();
  std::string_view suffix = text.substr(digits);
  for (const Unit& unit : kUnits) {
    if (suffix != unit.suffix) continue;
    int64_t count = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, count);
    Duration out = 0;
    if (ec != std::errc() || ptr != text.data() + digits ||
        __builtin_mul_overflow(count, unit.millis, &out)) {
      return bad();
    }
    return out;
  }
  return bad();
}

std::string FormatDuration(Duration d) {
  for (int i = std::size(kUnits) - 1; i > 0; --i) {
    if (d != 0 && d % kUnits[i].millis == 0) {
      return std::to_string(d / kUnits[i].millis) + std::string(kUnits[i].suffix);
    }
  }
  return std::to_string(d) + "ms";
}

std::string FormatWatermark(Timestamp t) {
  if (t == kMinTime) return "-inf";
  if (t == kMaxTime) return "+inf";
  return std::to_string(t);
}

}  // namespace runnel
