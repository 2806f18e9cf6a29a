#include "operators/map_operator.h"

#include <doctest/doctest.h>

#include <ostream>
#include <string>
#include <vector>

#include "runtime/time.h"

namespace runnel {
namespace {

struct Change {
  Row row;
  Timestamp time;
  Diff diff;
  bool operator==(const Change&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Change& c) {
  os << "{";
  for (size_t i = 0; i < c.row.size(); ++i) os << (i ? ", " : "") << c.row[i].DebugString();
  return os << "} @" << c.time << " x" << c.diff;
}

// Lets doctest print both sides of a failed comparison of whole outputs.
std::ostream& operator<<(std::ostream& os, const std::vector<Change>& changes) {
  os << "[";
  for (const Change& c : changes) os << "\n  " << c;
  return os << "]";
}

// Downstream of the operator under test: records every change it receives.
class CaptureOperator final : public Operator {
 public:
  void OnChange(int port, const Row& row, Timestamp time, Diff diff) override {
    CHECK(port == 0);
    changes.push_back({row, time, diff});
  }
  Status Advance(std::span<const Timestamp> input_watermarks,
                 Timestamp* output_watermark) override {
    *output_watermark = input_watermarks.empty() ? kMinTime : input_watermarks[0];
    return Status::Ok();
  }

  std::vector<Change> changes;
};

Schema Readings() {
  return Schema({{"device", ValueType::kString},
                 {"temp", ValueType::kFloat},
                 {"hum", ValueType::kFloat},
                 {"ok", ValueType::kBool}});
}

Row Reading(std::string device, Value temp, Value hum, Value ok) {
  return {Value::String(std::move(device)), std::move(temp), std::move(hum), std::move(ok)};
}

std::unique_ptr<Expr> Compile(std::string_view text) {
  Result<std::unique_ptr<Expr>> e = CompileExpression(text, Scope(Readings()));
  REQUIRE_MESSAGE(e.ok(), (e.ok() ? std::string() : e.status().message()));
  return std::move(e).value();
}

std::vector<std::unique_ptr<Expr>> Projections(const std::vector<std::string>& items) {
  std::vector<std::unique_ptr<Expr>> exprs;
  for (const std::string& item : items) {
    Result<NamedExpression> named = CompileSelectItem(item, Scope(Readings()));
    REQUIRE_MESSAGE(named.ok(), (named.ok() ? std::string() : named.status().message()));
    exprs.push_back(std::move(named->expr));
  }
  return exprs;
}

const Row kWarm = Reading("a", Value::Float(25.0), Value::Float(40.0), Value::Bool(true));
const Row kCold = Reading("b", Value::Float(5.0), Value::Null(), Value::Bool(false));
const Row kUnknown = Reading("c", Value::Null(), Value::Float(55.5), Value::Null());

TEST_CASE("a filter keeps only changes whose condition is true, with their time and diff") {
  MapOperator map(Compile("temp > 20"), {});
  CaptureOperator capture;
  map.output(0).Connect(&capture, 0);

  map.OnChange(0, kWarm, 1000, 1);
  map.OnChange(0, kCold, 1001, 1);
  map.OnChange(0, kUnknown, 1002, 1);  // null condition: dropped, as in SQL WHERE
  map.OnChange(0, kWarm, 1000, -1);

  CHECK(capture.changes == std::vector<Change>{{kWarm, 1000, 1}, {kWarm, 1000, -1}});
  CHECK(map.output(0).changes_emitted() == 2);
}

TEST_CASE("a filter on a bare bool column keeps true and drops false and null") {
  MapOperator map(Compile("ok"), {});
  CaptureOperator capture;
  map.output(0).Connect(&capture, 0);

  map.OnChange(0, kWarm, 1, 1);
  map.OnChange(0, kCold, 2, 1);
  map.OnChange(0, kUnknown, 3, 1);

  CHECK(capture.changes == std::vector<Change>{{kWarm, 1, 1}});
}

TEST_CASE("a projection builds each output row from its items in the listed order") {
  MapOperator map(nullptr, Projections({"hum", "device", "temp_f = temp * 9 / 5 + 32",
                                        "dry = coalesce(hum < 50, false)"}));
  CaptureOperator capture;
  map.output(0).Connect(&capture, 0);

  map.OnChange(0, kWarm, 10, 1);
  map.OnChange(0, kCold, 20, -1);
  map.OnChange(0, kUnknown, 30, 2);

  // Row by row, so that a value left over from the previous record would show.
  CHECK(
      capture.changes ==
      std::vector<Change>{
          {{Value::Float(40.0), Value::String("a"), Value::Float(77.0), Value::Bool(true)}, 10, 1},
          {{Value::Null(), Value::String("b"), Value::Float(41.0), Value::Bool(false)}, 20, -1},
          {{Value::Float(55.5), Value::String("c"), Value::Null(), Value::Bool(false)}, 30, 2},
      });
}

TEST_CASE("a filter and a projection apply together: filter on input fields, then project") {
  MapOperator map(Compile("device != 'b' and hum > 0"), Projections({"device", "h = round(hum)"}));
  CaptureOperator capture;
  map.output(0).Connect(&capture, 0);

  map.OnChange(0, kWarm, 1, 1);
  map.OnChange(0, kCold, 2, 1);
  map.OnChange(0, kUnknown, 3, 1);

  CHECK(capture.changes == std::vector<Change>{{{Value::String("a"), Value::Float(40.0)}, 1, 1},
                                               {{Value::String("c"), Value::Float(56.0)}, 3, 1}});
}

TEST_CASE("without filter or projections every row passes through unchanged") {
  MapOperator map(nullptr, {});
  CaptureOperator capture;
  map.output(0).Connect(&capture, 0);

  map.OnChange(0, kWarm, 5, 1);
  map.OnChange(0, kUnknown, 6, -1);

  CHECK(capture.changes == std::vector<Change>{{kWarm, 5, 1}, {kUnknown, 6, -1}});
}

TEST_CASE("the output watermark is the input watermark, since nothing is held back") {
  MapOperator map(Compile("temp > 0"), Projections({"device"}));
  Timestamp out = 0;
  for (Timestamp in : {kMinTime, Timestamp{0}, Timestamp{1234}, kMaxTime}) {
    const Timestamp watermarks[] = {in};
    REQUIRE(map.Advance(watermarks, &out).ok());
    CHECK(out == in);
  }
}

TEST_CASE("advance without an input is a wiring error, not a crash") {
  MapOperator map(nullptr, {});
  Timestamp out = 0;
  const Status status = map.Advance({}, &out);
  CHECK(status.code() == StatusCode::kRuntime);
  CHECK(status.message() == "a filter/select view was wired without an input");
}

}  // namespace
}  // namespace runnel
