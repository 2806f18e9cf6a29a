// Dedup and as-of join state snapshots: a run interrupted at any step and continued by a fresh
// operator loaded from the saved state gives exactly the uninterrupted output.
#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "operators/asof_join_operator.h"
#include "operators/dedup_operator.h"
#include "tests/operators/snapshot_harness.h"

namespace runnel {
namespace {

using testing::CheckDamagedSnapshots;
using testing::CheckEverySplit;
using testing::InputChange;
using testing::InputStep;
using testing::OperatorFactory;

Value Key(int k) { return k == 2 ? Value::Null() : Value::String(std::string(1, 'a' + k)); }

// Changes on `ports` input ports: keys a, b and null, disordered times, equal times and equal
// rows (ties and duplicates), late records, and retractions of earlier insertions when
// `retractions`. Each port's watermark trails its largest time and ends at +inf.
std::vector<InputStep> RandomStream(uint64_t seed, int ports, bool retractions,
                                    size_t num_steps = 24) {
  std::mt19937_64 rng(seed);
  const auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  std::vector<InputStep> steps(num_steps);
  std::vector<InputChange> inserted;
  std::vector<Timestamp> max_time(ports, 0), watermark(ports, kMinTime);
  for (size_t s = 0; s + 1 < num_steps; ++s) {
    const int n = pick(7);
    for (int i = 0; i < n; ++i) {
      if (retractions && !inserted.empty() && pick(5) == 0) {
        InputChange undo = inserted[static_cast<size_t>(pick(static_cast<int>(inserted.size())))];
        undo.diff = -1;
        steps[s].changes.push_back(undo);
        continue;
      }
      const int port = pick(ports);
      Timestamp& top = max_time[static_cast<size_t>(port)];
      const Timestamp t = pick(10) == 0 ? top - 25 + pick(10) : top - 4 + pick(9);
      top = std::max(top, t);
      const Row row = {Key(pick(3)), Value::Int(t), Value::Int(pick(3))};
      steps[s].changes.push_back({port, row, t, pick(12) == 0 ? 2 : 1});
      inserted.push_back({port, row, t, 1});
    }
    for (int p = 0; p < ports; ++p) {
      const auto i = static_cast<size_t>(p);
      if (pick(3) != 0) watermark[i] = std::max(watermark[i], max_time[i] - 3);
    }
    steps[s].watermarks = watermark;
  }
  steps.back().watermarks.assign(static_cast<size_t>(ports), kMaxTime);
  return steps;
}

Schema KeyedSchema(const char* value_name) {
  return Schema({{"k", ValueType::kString}, {"t", ValueType::kInt}, {value_name, ValueType::kInt}});
}

OperatorFactory Dedup(Duration within, EmitMode emit, Duration lateness) {
  return [=] {
    DedupOperatorSpec spec;
    spec.by = {0};
    spec.within = within;
    spec.emit = emit;
    spec.allowed_lateness = lateness;
    return std::make_unique<DedupOperator>(spec, KeyedSchema("v"));
  };
}

struct JoinConfig {
  AsofJoinDirection direction;
  std::optional<Duration> tolerance;
  bool allow_exact;
  bool keep_unmatched;
  bool null_keys_match;
  EmitMode emit;
  Duration lateness;
};

AsofJoinOperatorSpec JoinSpec(const JoinConfig& c) {
  AsofJoinOperatorSpec spec;
  spec.left = KeyedSchema("lv");
  spec.right = KeyedSchema("rv");
  spec.left_by = {0};
  spec.right_by = {0};
  spec.direction = c.direction;
  spec.tolerance = c.tolerance;
  spec.allow_exact = c.allow_exact;
  spec.keep_unmatched = c.keep_unmatched;
  spec.null_keys_match = c.null_keys_match;
  spec.emit = c.emit;
  spec.allowed_lateness = c.lateness;
  return spec;
}

OperatorFactory Join(const JoinConfig& c) {
  return [c] { return std::make_unique<AsofJoinOperator>(JoinSpec(c)); };
}

std::vector<JoinConfig> JoinConfigs() {
  std::vector<JoinConfig> configs;
  for (auto direction :
       {AsofJoinDirection::kBackward, AsofJoinDirection::kForward, AsofJoinDirection::kNearest}) {
    for (std::optional<Duration> tolerance :
         {std::optional<Duration>(), std::optional<Duration>(5)}) {
      for (bool strict : {false, true}) {
        for (EmitMode emit : {EmitMode::kFinal, EmitMode::kUpdates}) {
          for (Duration lateness : {0, 6}) {
            configs.push_back({direction, tolerance, !strict, !strict, strict, emit, lateness});
          }
        }
      }
    }
  }
  return configs;
}

TEST_CASE("a dedup run interrupted at any step continues exactly from its saved state") {
  for (Duration within : {1, 5}) {
    for (EmitMode emit : {EmitMode::kFinal, EmitMode::kUpdates}) {
      for (Duration lateness : {0, 6}) {
        for (bool retractions : {false, true}) {
          for (uint64_t seed = 1; seed <= 4; ++seed) {
            INFO("within=", within, " emit=", emit == EmitMode::kFinal ? "final" : "updates",
                 " lateness=", lateness, " retractions=", retractions, " seed=", seed);
            CheckEverySplit(Dedup(within, emit, lateness), RandomStream(seed, 1, retractions));
          }
        }
      }
    }
  }
}

TEST_CASE("an as-of join run interrupted at any step continues exactly from its saved state") {
  for (const JoinConfig& config : JoinConfigs()) {
    for (bool retractions : {false, true}) {
      for (uint64_t seed = 1; seed <= 2; ++seed) {
        INFO("direction=", static_cast<int>(config.direction),
             " tolerance=", config.tolerance.value_or(-1), " strict=", !config.allow_exact,
             " emit=", config.emit == EmitMode::kFinal ? "final" : "updates",
             " lateness=", config.lateness, " retractions=", retractions, " seed=", seed);
        CheckEverySplit(Join(config), RandomStream(seed, 2, retractions));
      }
    }
  }
}

TEST_CASE("dedup and as-of join state load only into the same definition") {
  const OperatorFactory dedup = Dedup(5, EmitMode::kFinal, 0);
  CHECK(dedup()->StateFingerprint() ==
        "dedup;by=[\"k\":string];within=5;emit=\"final\";allowed_lateness=0;"
        "input=[\"k\":string,\"t\":int,\"v\":int]");
  CHECK(dedup()->StateFingerprint() != Dedup(6, EmitMode::kFinal, 0)()->StateFingerprint());

  const JoinConfig base{AsofJoinDirection::kBackward, 5, true, true, true, EmitMode::kFinal, 0};
  JoinConfig nearest = base;
  nearest.direction = AsofJoinDirection::kNearest;
  CHECK(Join(base)()->StateFingerprint() == Join(base)()->StateFingerprint());
  CHECK(Join(base)()->StateFingerprint() != Join(nearest)()->StateFingerprint());
  CHECK(Join(base)()->StateFingerprint().find(
            "asof_join;left=[\"k\":string,\"t\":int,\"lv\":int];") == 0);

  // A dedup snapshot is not a join's, and a join keyed by two fields is not one keyed by one.
  std::unique_ptr<Operator> saved = dedup();
  std::unique_ptr<Operator> join = Join(base)();
  Status status = testing::Transfer(*saved, *join);
  CHECK(status.code() == StatusCode::kInvalid);
  CHECK(status.message() ==
        "as-of join state was saved by a different definition (dedup with 1 `by` fields; this "
        "view has 1): restart with --reset-state or replay the log");
  AsofJoinOperatorSpec two = JoinSpec(base);
  two.left_by = {0, 2};
  two.right_by = {0, 2};
  AsofJoinOperator two_keys(std::move(two));
  CHECK(testing::Transfer(*join, two_keys).code() == StatusCode::kInvalid);
  std::unique_ptr<Operator> other = dedup();
  CHECK(testing::Transfer(*join, *other).code() == StatusCode::kInvalid);
}

TEST_CASE("dedup keeps its duplicate and late counters across a restore") {
  const OperatorFactory make = Dedup(5, EmitMode::kFinal, 0);
  std::unique_ptr<Operator> op = make();
  testing::PortRecorder recorder;
  testing::Connect(*op, &recorder);
  const Row a1 = {Key(0), Value::Int(1), Value::Int(0)};
  const Row a2 = {Key(0), Value::Int(2), Value::Int(1)};
  op->OnChange(0, a1, 1, 1);
  op->OnChange(0, a2, 2, 1);
  Timestamp out = kMinTime;
  const Timestamp wm[] = {20};
  REQUIRE(op->Advance(wm, &out).ok());
  op->OnChange(0, a1, 1, 1);  // late
  REQUIRE(op->Advance(wm, &out).ok());
  CHECK(op->stats().duplicates == 1);
  CHECK(op->stats().late_records == 1);
  std::unique_ptr<Operator> fresh = make();
  REQUIRE(testing::Transfer(*op, *fresh).ok());
  CHECK(fresh->stats().duplicates == 1);
  CHECK(fresh->stats().late_records == 1);
}

TEST_CASE("damaged dedup and as-of join snapshots fail cleanly") {
  struct Case {
    OperatorFactory make;
    int ports;
  };
  const Case cases[] = {
      {Dedup(5, EmitMode::kUpdates, 6), 1},
      {Join({AsofJoinDirection::kNearest, 5, true, true, true, EmitMode::kUpdates, 6}), 2},
      {Join({AsofJoinDirection::kBackward, {}, true, true, true, EmitMode::kFinal, 6}), 2},
  };
  for (const Case& c : cases) {
    std::unique_ptr<Operator> op = c.make();
    testing::PortRecorder recorder;
    testing::Connect(*op, &recorder);
    const std::vector<InputStep> steps = RandomStream(11, c.ports, true, 8);
    testing::RunSteps(*op, steps, 0, 6, &recorder);
    SnapshotWriter writer;
    op->SaveState(&writer);
    CheckDamagedSnapshots(c.make, writer.Release());
  }
}

}  // namespace
}  // namespace runnel
