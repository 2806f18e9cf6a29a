// Window state snapshots: a run interrupted at any step and continued by a fresh operator
// loaded from the saved state gives exactly the uninterrupted output.
#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "operators/window_operator.h"
#include "tests/operators/snapshot_harness.h"

namespace runnel {
namespace {

using testing::CheckDamagedSnapshots;
using testing::CheckEverySplit;
using testing::InputChange;
using testing::InputStep;
using testing::OperatorFactory;

// Input columns: device (string), ts (int), v (float), n (int).
const Schema& InputSchema() {
  static const Schema schema({{"device", ValueType::kString},
                              {"ts", ValueType::kInt},
                              {"v", ValueType::kFloat},
                              {"n", ValueType::kInt}});
  return schema;
}

class ColumnRef final : public Expr {
 public:
  ColumnRef(size_t index, ValueType type) : Expr(type, index), index_(index) {}
  Value Eval(const Row& row) const override { return row[index_]; }

 private:
  size_t index_;
};

AggregateDef Agg(const std::string& name, const std::string& fn, int column = -1) {
  AggregateCall call{name, fn, nullptr};
  if (column >= 0) {
    const auto c = static_cast<size_t>(column);
    call.argument = std::make_unique<ColumnRef>(c, InputSchema().column(c).type);
    call.argument_text = InputSchema().column(c).name;
  }
  Result<AggregateDef> def = MakeAggregate(std::move(call));
  REQUIRE(def.ok());
  return std::move(def).value();
}

// Every aggregate function, over floats, ints and strings.
std::vector<AggregateDef> AllAggregates() {
  std::vector<AggregateDef> aggs;
  aggs.push_back(Agg("records", "count"));
  aggs.push_back(Agg("values", "count", 2));
  aggs.push_back(Agg("sum_v", "sum", 2));
  aggs.push_back(Agg("sum_n", "sum", 3));
  aggs.push_back(Agg("avg_v", "avg", 2));
  aggs.push_back(Agg("avg_n", "avg", 3));
  aggs.push_back(Agg("min_v", "min", 2));
  aggs.push_back(Agg("max_n", "max", 3));
  aggs.push_back(Agg("min_device", "min", 0));
  aggs.push_back(Agg("first_v", "first", 2));
  aggs.push_back(Agg("last_v", "last", 2));
  aggs.push_back(Agg("first_device", "first", 0));
  aggs.push_back(Agg("var_v", "var", 2));
  aggs.push_back(Agg("stddev_n", "stddev", 3));
  aggs.push_back(Agg("median_v", "median", 2));
  aggs.push_back(Agg("median_n", "median", 3));
  return aggs;
}

struct Config {
  WindowSpec window;
  EmitMode emit;
  Duration lateness;
  bool insert_only;
};

OperatorFactory Factory(const Config& config) {
  return [config] {
    WindowOperatorSpec spec;
    spec.window = config.window;
    spec.group_by = {0};
    spec.aggregates = AllAggregates();
    spec.emit = config.emit;
    spec.allowed_lateness = config.lateness;
    spec.insert_only_input = config.insert_only;
    REQUIRE(WindowOperator::Validate(spec, InputSchema()).ok());
    return std::make_unique<WindowOperator>(std::move(spec), InputSchema());
  };
}

// A disordered stream over three devices: values with and without exact sums, nulls, equal
// times (first/last tie-breaks), late records, and (unless insert-only) retractions of earlier
// records. Watermarks trail the largest time by a few ms and end at +inf.
std::vector<InputStep> RandomStream(uint64_t seed, bool retractions, size_t num_steps = 24) {
  std::mt19937_64 rng(seed);
  const auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  std::vector<InputStep> steps(num_steps);
  std::vector<InputChange> inserted;
  Timestamp max_time = 0;
  Timestamp watermark = kMinTime;
  for (size_t s = 0; s + 1 < num_steps; ++s) {
    const int n = pick(8);
    for (int i = 0; i < n; ++i) {
      if (retractions && !inserted.empty() && pick(5) == 0) {
        InputChange undo = inserted[static_cast<size_t>(pick(static_cast<int>(inserted.size())))];
        undo.diff = -1;
        steps[s].changes.push_back(undo);
        continue;
      }
      const Timestamp t = pick(10) == 0 ? max_time - 30 + pick(10) : max_time - 4 + pick(9);
      max_time = std::max(max_time, t);
      const std::string device = std::string(1, static_cast<char>('a' + pick(3)));
      Value v;
      switch (pick(4)) {
        case 0:
          v = Value::Null();
          break;
        case 1:
          v = Value::Float(0.1 * pick(50) + 1e9);
          break;
        default:
          v = Value::Float(0.5 * pick(20));
      }
      const Row row = {Value::String(device), Value::Int(t), v, Value::Int(pick(7) - 2)};
      const Diff diff = pick(10) == 0 ? 2 : 1;
      steps[s].changes.push_back({0, row, t, diff});
      inserted.push_back({0, row, t, 1});
    }
    if (pick(3) != 0) watermark = std::max(watermark, max_time - 3);
    steps[s].watermarks = {watermark};
  }
  steps.back().watermarks = {kMaxTime};
  return steps;
}

std::vector<Config> AllConfigs() {
  std::vector<Config> configs;
  const WindowSpec windows[] = {{WindowType::kTumbling, 10, 0, 0},
                                {WindowType::kSliding, 10, 4, 0},
                                {WindowType::kSession, 0, 0, 3}};
  for (const WindowSpec& window : windows) {
    for (EmitMode emit : {EmitMode::kFinal, EmitMode::kUpdates}) {
      for (Duration lateness : {0, 6}) {
        for (bool insert_only : {true, false})
          configs.push_back({window, emit, lateness, insert_only});
      }
    }
  }
  return configs;
}

std::string Describe(const Config& c) {
  const char* type = c.window.type == WindowType::kTumbling  ? "tumbling"
                     : c.window.type == WindowType::kSliding ? "sliding"
                                                             : "session";
  return std::string(type) + (c.emit == EmitMode::kFinal ? " final" : " updates") +
         " lateness=" + std::to_string(c.lateness) +
         (c.insert_only ? " insert-only" : " retracting");
}

TEST_CASE("a window run interrupted at any step continues exactly from its saved state") {
  for (const Config& config : AllConfigs()) {
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      INFO(Describe(config), ", seed ", seed);
      CheckEverySplit(Factory(config), RandomStream(seed, !config.insert_only));
    }
  }
}

TEST_CASE("a window snapshot holds the emitted rows, the watermark and late_records") {
  const OperatorFactory make =
      Factory({{WindowType::kTumbling, 10, 0, 0}, EmitMode::kUpdates, 5, false});
  std::unique_ptr<Operator> op = make();
  testing::PortRecorder recorder;
  testing::Connect(*op, &recorder);
  const Row a = {Value::String("a"), Value::Int(3), Value::Float(1.5), Value::Int(1)};
  op->OnChange(0, a, 3, 1);
  Timestamp out = kMinTime;
  const Timestamp wm[] = {20};
  REQUIRE(op->Advance(wm, &out).ok());
  op->OnChange(0, a, 3, 1);  // late: window [0,10) expired at 15
  REQUIRE(op->Advance(wm, &out).ok());
  CHECK(op->stats().late_records == 1);

  std::unique_ptr<Operator> fresh = make();
  REQUIRE(testing::Transfer(*op, *fresh).ok());
  CHECK(fresh->stats().late_records == 1);
  testing::PortRecorder after;
  testing::Connect(*fresh, &after);
  fresh->OnChange(0, a, 3, 1);  // still late after the restore
  REQUIRE(fresh->Advance(wm, &out).ok());
  CHECK(out == 15);
  CHECK(fresh->stats().late_records == 2);
  CHECK(after.lines == std::vector<std::string>{"1 +1 @3 \"a\" 3 1.5 1"});
}

TEST_CASE("window state loads only into a window of the same definition") {
  const Config base{{WindowType::kTumbling, 10, 0, 0}, EmitMode::kFinal, 0, false};
  std::unique_ptr<Operator> op = Factory(base)();
  op->OnChange(0, {Value::String("a"), Value::Int(3), Value::Float(1.5), Value::Int(1)}, 3, 1);
  Timestamp out = kMinTime;
  const Timestamp wm[] = {1};
  REQUIRE(op->Advance(wm, &out).ok());

  // Same definition: same fingerprint, in every run.
  CHECK(op->StateFingerprint() == Factory(base)()->StateFingerprint());
  CHECK(op->StateFingerprint().find("window;type=\"tumbling\";size=10;") == 0);

  Config session = base;
  session.window = {WindowType::kSession, 0, 0, 3};
  std::unique_ptr<Operator> other = Factory(session)();
  CHECK(other->StateFingerprint() != op->StateFingerprint());
  Status status = testing::Transfer(*op, *other);
  CHECK(status.code() == StatusCode::kInvalid);
  CHECK(status.message().find("window state was saved by a different definition (fixed "
                              "windows, 1 group_by columns") == 0);
  CHECK(status.message().find("--reset-state") != std::string::npos);

  Config insert_only = base;
  insert_only.insert_only = true;
  other = Factory(insert_only)();
  CHECK(other->StateFingerprint() != op->StateFingerprint());
  CHECK(testing::Transfer(*op, *other).code() == StatusCode::kInvalid);

  // Fewer aggregates.
  WindowOperatorSpec spec;
  spec.window = base.window;
  spec.group_by = {0};
  spec.aggregates.push_back(Agg("records", "count"));
  WindowOperator small(std::move(spec), InputSchema());
  CHECK(small.StateFingerprint() != op->StateFingerprint());
  CHECK(testing::Transfer(*op, small).code() == StatusCode::kInvalid);
}

TEST_CASE("the window fingerprint names the aggregates with their argument text") {
  WindowOperatorSpec spec;
  spec.window = {WindowType::kSliding, 60000, 10000, 0};
  spec.group_by = {0};
  spec.aggregates.push_back(Agg("avg_v", "avg", 2));
  spec.emit = EmitMode::kUpdates;
  spec.allowed_lateness = 5000;
  WindowOperator op(std::move(spec), InputSchema());
  CHECK(op.StateFingerprint() ==
        "window;type=\"sliding\";size=60000;hop=10000;gap=0;group_by=[\"device\":string];"
        "aggregate=\"avg_v=avg(v):float:#2->float\";emit=\"updates\";allowed_lateness=5000;"
        "insert_only_input=0;input=[\"device\":string,\"ts\":int,\"v\":float,\"n\":int]");
}

TEST_CASE("damaged window snapshots fail cleanly") {
  for (const Config& config : AllConfigs()) {
    if (config.lateness != 6) continue;
    INFO(Describe(config));
    const OperatorFactory make = Factory(config);
    std::unique_ptr<Operator> op = make();
    testing::PortRecorder recorder;
    testing::Connect(*op, &recorder);
    std::vector<InputStep> steps = RandomStream(7, !config.insert_only, 6);
    testing::RunSteps(*op, steps, 0, 4, &recorder);
    SnapshotWriter writer;
    op->SaveState(&writer);
    CheckDamagedSnapshots(make, writer.Release());
  }
}

}  // namespace
}  // namespace runnel
