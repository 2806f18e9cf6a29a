#include "runtime/time.h"

#include <doctest/doctest.h>

namespace runnel {

TEST_CASE("durations parse with every unit") {
  CHECK(*ParseDuration("250ms") == 250);
  CHECK(*ParseDuration("5s") == 5'000);
  CHECK(*ParseDuration("1m") == 60'000);
  CHECK(*ParseDuration("2h") == 7'200'000);
  CHECK(*ParseDuration("1d") == 86'400'000);
  CHECK(*ParseDuration("0s") == 0);
}

TEST_CASE("bad durations are refused with a hint") {
  for (const char* text : {"", "5", "s", "5x", "-5s", "1.5s", "5 s", "99999999999999999999d"}) {
    auto d = ParseDuration(text);
    REQUIRE_MESSAGE(!d.ok(), text);
    CHECK(d.status().code() == StatusCode::kInvalid);
  }
  CHECK(ParseDuration("5x").status().message() ==
        "invalid duration \"5x\": write a whole number and a unit, e.g. \"250ms\", \"5s\", "
        "\"1m\", \"2h\", \"1d\"");
}

TEST_CASE("durations format with the largest exact unit") {
  CHECK(FormatDuration(60'000) == "1m");
  CHECK(FormatDuration(1'500) == "1500ms");
  CHECK(FormatDuration(86'400'000) == "1d");
  CHECK(FormatDuration(0) == "0ms");
}

TEST_CASE("watermark arithmetic saturates at the infinities") {
  CHECK(SubtractSaturating(kMinTime, 5) == kMinTime);
  CHECK(SubtractSaturating(kMaxTime, 5) == kMaxTime);
  CHECK(AddSaturating(kMaxTime - 1, 5) == kMaxTime);
  CHECK(SubtractSaturating(kMinTime + 1, 5) == kMinTime);
  CHECK(SubtractSaturating(100, 5) == 95);
  CHECK(FormatWatermark(kMinTime) == "-inf");
  CHECK(FormatWatermark(kMaxTime) == "+inf");
}

TEST_CASE("floor division rounds toward negative infinity") {
  CHECK(FloorDiv(7, 2) == 3);
  CHECK(FloorDiv(-7, 2) == -4);
  CHECK(FloorDiv(-6, 2) == -3);
  CHECK(FloorDiv(0, 5) == 0);
}

}  // namespace runnel
