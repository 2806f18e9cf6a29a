#include "operators/asof_join_operator.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tests/operators/change_collector.h"

namespace runnel {
namespace {

using testing::Collector;
using testing::Consolidate;
using testing::HasRetraction;
using testing::Show;
using testing::ShowAll;

Value S(const char* s) { return s ? Value::String(s) : Value::Null(); }
Value I(int64_t i) { return Value::Int(i); }

// Left: k (string), t (int), lv (int). Right: k (string), t (int), rv (string). The event
// time is the `t` column, as a source's time field is also one of its columns.
Row L(const char* k, int64_t t, int64_t lv) { return {S(k), I(t), I(lv)}; }
Row R(const char* k, int64_t t, const char* rv) { return {S(k), I(t), S(rv)}; }

Schema LeftSchema() {
  return Schema({{"k", ValueType::kString}, {"t", ValueType::kInt}, {"lv", ValueType::kInt}});
}
Schema RightSchema() {
  return Schema({{"k", ValueType::kString}, {"t", ValueType::kInt}, {"rv", ValueType::kString}});
}

AsofJoinOperatorSpec Spec(AsofJoinDirection direction = AsofJoinDirection::kBackward) {
  AsofJoinOperatorSpec spec;
  spec.left = LeftSchema();
  spec.right = RightSchema();
  spec.left_by = {0};
  spec.right_by = {0};
  spec.direction = direction;
  return spec;
}

// A test-only expression (the expression compiler is another module's business).
class FnExpr final : public Expr {
 public:
  FnExpr(ValueType type, std::function<Value(const Row&)> fn, std::optional<size_t> column = {})
      : Expr(type, column), fn_(std::move(fn)) {}
  Value Eval(const Row& row) const override { return fn_(row); }

 private:
  std::function<Value(const Row&)> fn_;
};

NamedExpression ColumnItem(std::string name, size_t index, ValueType type) {
  return {std::move(name), std::make_unique<FnExpr>(
                               type, [index](const Row& r) { return r[index]; }, index)};
}

// Drives one operator: left/right changes, then Advance with both watermarks.
class Run {
 public:
  explicit Run(AsofJoinOperatorSpec spec) : op_(std::move(spec)) {
    op_.output(AsofJoinOperator::kResultsPort).Connect(&results_, 0);
    op_.output(AsofJoinOperator::kLatePort).Connect(&late_, 0);
  }
  void Left(Row row, Diff diff = 1) {
    const Timestamp t = row[1].AsInt();
    op_.OnChange(AsofJoinOperator::kLeftPort, row, t, diff);
  }
  void Right(Row row, Diff diff = 1) {
    const Timestamp t = row[1].AsInt();
    op_.OnChange(AsofJoinOperator::kRightPort, row, t, diff);
  }
  // Returns the output watermark; checks that nothing emitted is behind the previous one.
  Timestamp Advance(Timestamp left_wm, Timestamp right_wm) {
    const std::vector<Timestamp> wms{left_wm, right_wm};
    Timestamp out = kMinTime;
    const Status status = op_.Advance(wms, &out);
    REQUIRE(status.ok());
    for (size_t i = checked_; i < results_.changes.size(); ++i) {
      CHECK_MESSAGE(results_.changes[i].time >= out_wm_, "emitted behind the watermark");
    }
    checked_ = results_.changes.size();
    CHECK(out >= out_wm_);
    out_wm_ = out;
    return out;
  }
  // The result changes since the last call.
  std::vector<std::string> Take() {
    std::vector<std::string> out;
    for (size_t i = taken_; i < results_.changes.size(); ++i)
      out.push_back(Show(results_.changes[i]));
    taken_ = results_.changes.size();
    return out;
  }
  const std::vector<Collector::Change>& results() const { return results_.changes; }
  const std::vector<Collector::Change>& late() const { return late_.changes; }
  AsofJoinOperator& op() { return op_; }

 private:
  AsofJoinOperator op_;
  Collector results_, late_;
  size_t taken_ = 0, checked_ = 0;
  Timestamp out_wm_ = kMinTime;
};

// A static run: everything in one step, then +inf. Checked in both source orders (which side
// is drained first) and for both emit modes; returns the result rows, sorted.
std::vector<std::string> Static(const std::function<AsofJoinOperatorSpec()>& make,
                                const std::vector<Row>& lefts, const std::vector<Row>& rights) {
  std::vector<std::string> first;
  for (EmitMode emit : {EmitMode::kFinal, EmitMode::kUpdates}) {
    for (bool right_first : {false, true}) {
      AsofJoinOperatorSpec spec = make();
      spec.emit = emit;
      Run run(std::move(spec));
      if (right_first) {
        for (const Row& r : rights) run.Right(r);
      }
      for (const Row& l : lefts) run.Left(l);
      if (!right_first) {
        for (const Row& r : rights) run.Right(r);
      }
      CHECK(run.Advance(kMaxTime, kMaxTime) == kMaxTime);
      CHECK_FALSE(HasRetraction(run.results()));
      CHECK(run.op().stats().state_entries == 0);
      std::vector<std::string> rows = ShowAll(run.results());
      std::sort(rows.begin(), rows.end());
      if (first.empty()) {
        first = rows;
      } else {
        CHECK(rows == first);
      }
    }
  }
  return first;
}

// --- The DuckDB as-of checklist, against pandas.merge_asof ---------------------------------
// Expected rows were checked with tests/scenarios/reference/asof_reference.py (pandas 1.5.3).
// Default layout: k t lv | right_t rv (the right `by` column is dropped, right `t` renamed).

const std::vector<Row> kTieRights = {R("a", 1, "r1"), R("a", 3, "x"), R("a", 3, "y"),
                                     R("a", 3, "z"), R("a", 7, "r7")};
const std::vector<Row> kTieLefts = {L("a", 0, 10), L("a", 1, 11), L("a", 2, 12), L("a", 3, 13),
                                    L("a", 5, 14), L("a", 7, 15), L("a", 8, 16)};

std::function<AsofJoinOperatorSpec()> Make(AsofJoinDirection direction, bool allow_exact = true,
                                           std::optional<Duration> tolerance = std::nullopt) {
  return [=] {
    AsofJoinOperatorSpec spec = Spec(direction);
    spec.allow_exact = allow_exact;
    spec.tolerance = tolerance;
    return spec;
  };
}

TEST_CASE("as-of join: the default output is the left columns then the right non-by columns") {
  const Schema schema = AsofJoinOperator::OutputSchema(Spec());
  CHECK(schema.Names() == std::vector<std::string>{"k", "t", "lv", "right_t", "rv"});
  CHECK(schema.column(4).type == ValueType::kString);
  CHECK(AsofJoinOperator::LateSchema(Spec()).Names() ==
        std::vector<std::string>{"k", "t", "lv", "right_k", "right_t", "rv"});
}

TEST_CASE("as-of join: validation rejects mismatched by fields and a negative tolerance") {
  AsofJoinOperatorSpec spec = Spec();
  CHECK(AsofJoinOperator::Validate(spec).ok());
  spec.right_by = {0, 1};
  CHECK_FALSE(AsofJoinOperator::Validate(spec).ok());
  spec = Spec();
  spec.left_by.clear();
  spec.right_by.clear();
  CHECK_FALSE(AsofJoinOperator::Validate(spec).ok());
  spec = Spec();
  spec.right_by = {7};
  CHECK_FALSE(AsofJoinOperator::Validate(spec).ok());
  spec = Spec();
  spec.tolerance = -1;
  CHECK_FALSE(AsofJoinOperator::Validate(spec).ok());
}

TEST_CASE("as-of join: an empty right side leaves every left row unmatched, or drops it") {
  const std::vector<Row> lefts = {L("a", 1, 10), L("b", 2, 20)};
  for (auto direction :
       {AsofJoinDirection::kBackward, AsofJoinDirection::kForward, AsofJoinDirection::kNearest}) {
    CHECK(Static(Make(direction), lefts, {}) ==
          std::vector<std::string>{"+1 @1 \"a\" 1 10 null null", "+1 @2 \"b\" 2 20 null null"});
    CHECK(Static(
              [=] {
                AsofJoinOperatorSpec spec = Make(direction)();
                spec.keep_unmatched = false;
                return spec;
              },
              lefts, {})
              .empty());
  }
}

TEST_CASE(
    "as-of join: backward takes the latest right record at or before, the last to arrive on a "
    "tie") {
  CHECK(Static(Make(AsofJoinDirection::kBackward), kTieLefts, kTieRights) ==
        std::vector<std::string>{"+1 @0 \"a\" 0 10 null null", "+1 @1 \"a\" 1 11 1 \"r1\"",
                                 "+1 @2 \"a\" 2 12 1 \"r1\"", "+1 @3 \"a\" 3 13 3 \"z\"",
                                 "+1 @5 \"a\" 5 14 3 \"z\"", "+1 @7 \"a\" 7 15 7 \"r7\"",
                                 "+1 @8 \"a\" 8 16 7 \"r7\""});
}

TEST_CASE(
    "as-of join: strict backward (allow_exact = false) takes the latest right record strictly "
    "before") {
  CHECK(Static(Make(AsofJoinDirection::kBackward, false), kTieLefts, kTieRights) ==
        std::vector<std::string>{"+1 @0 \"a\" 0 10 null null", "+1 @1 \"a\" 1 11 null null",
                                 "+1 @2 \"a\" 2 12 1 \"r1\"", "+1 @3 \"a\" 3 13 1 \"r1\"",
                                 "+1 @5 \"a\" 5 14 3 \"z\"", "+1 @7 \"a\" 7 15 3 \"z\"",
                                 "+1 @8 \"a\" 8 16 7 \"r7\""});
}

TEST_CASE(
    "as-of join: forward takes the earliest right record at or after, the first to arrive on a "
    "tie") {
  CHECK(Static(Make(AsofJoinDirection::kForward), kTieLefts, kTieRights) ==
        std::vector<std::string>{"+1 @0 \"a\" 0 10 1 \"r1\"", "+1 @1 \"a\" 1 11 1 \"r1\"",
                                 "+1 @2 \"a\" 2 12 3 \"x\"", "+1 @3 \"a\" 3 13 3 \"x\"",
                                 "+1 @5 \"a\" 5 14 7 \"r7\"", "+1 @7 \"a\" 7 15 7 \"r7\"",
                                 "+1 @8 \"a\" 8 16 null null"});
  CHECK(Static(Make(AsofJoinDirection::kForward, false), kTieLefts, kTieRights) ==
        std::vector<std::string>{"+1 @0 \"a\" 0 10 1 \"r1\"", "+1 @1 \"a\" 1 11 3 \"x\"",
                                 "+1 @2 \"a\" 2 12 3 \"x\"", "+1 @3 \"a\" 3 13 7 \"r7\"",
                                 "+1 @5 \"a\" 5 14 7 \"r7\"", "+1 @7 \"a\" 7 15 null null",
                                 "+1 @8 \"a\" 8 16 null null"});
}

TEST_CASE(
    "as-of join: nearest prefers backward on equal distance; its forward candidate is the first") {
  // @2: r1 and x are both 1 away: backward wins. @5: z and r7 both 2 away: z (the last at 3).
  CHECK(Static(Make(AsofJoinDirection::kNearest), kTieLefts, kTieRights) ==
        std::vector<std::string>{"+1 @0 \"a\" 0 10 1 \"r1\"", "+1 @1 \"a\" 1 11 1 \"r1\"",
                                 "+1 @2 \"a\" 2 12 1 \"r1\"", "+1 @3 \"a\" 3 13 3 \"z\"",
                                 "+1 @5 \"a\" 5 14 3 \"z\"", "+1 @7 \"a\" 7 15 7 \"r7\"",
                                 "+1 @8 \"a\" 8 16 7 \"r7\""});
  // Strict: @1 has nothing before and x (first at 3) after; @3 prefers r1 (2 away) to r7.
  CHECK(Static(Make(AsofJoinDirection::kNearest, false), kTieLefts, kTieRights) ==
        std::vector<std::string>{"+1 @0 \"a\" 0 10 1 \"r1\"", "+1 @1 \"a\" 1 11 3 \"x\"",
                                 "+1 @2 \"a\" 2 12 1 \"r1\"", "+1 @3 \"a\" 3 13 1 \"r1\"",
                                 "+1 @5 \"a\" 5 14 3 \"z\"", "+1 @7 \"a\" 7 15 3 \"z\"",
                                 "+1 @8 \"a\" 8 16 7 \"r7\""});
}

TEST_CASE(
    "as-of join: tolerance is inclusive: a distance exactly at the limit matches, one more does "
    "not") {
  const std::vector<Row> rights = {R("a", 10, "r10")};
  const std::vector<Row> lefts = {L("a", 6, 1), L("a", 7, 2), L("a", 10, 3), L("a", 13, 4),
                                  L("a", 14, 5)};
  CHECK(Static(Make(AsofJoinDirection::kBackward, true, 3), lefts, rights) ==
        std::vector<std::string>{"+1 @10 \"a\" 10 3 10 \"r10\"", "+1 @13 \"a\" 13 4 10 \"r10\"",
                                 "+1 @14 \"a\" 14 5 null null", "+1 @6 \"a\" 6 1 null null",
                                 "+1 @7 \"a\" 7 2 null null"});
  CHECK(Static(Make(AsofJoinDirection::kForward, true, 3), lefts, rights) ==
        std::vector<std::string>{"+1 @10 \"a\" 10 3 10 \"r10\"", "+1 @13 \"a\" 13 4 null null",
                                 "+1 @14 \"a\" 14 5 null null", "+1 @6 \"a\" 6 1 null null",
                                 "+1 @7 \"a\" 7 2 10 \"r10\""});
  CHECK(Static(Make(AsofJoinDirection::kNearest, true, 3), lefts, rights) ==
        std::vector<std::string>{"+1 @10 \"a\" 10 3 10 \"r10\"", "+1 @13 \"a\" 13 4 10 \"r10\"",
                                 "+1 @14 \"a\" 14 5 null null", "+1 @6 \"a\" 6 1 null null",
                                 "+1 @7 \"a\" 7 2 10 \"r10\""});
  // Tolerance 0 with allow_exact: only the same time.
  CHECK(Static(Make(AsofJoinDirection::kNearest, true, 0), {L("a", 9, 1), L("a", 10, 2)}, rights) ==
        std::vector<std::string>{"+1 @10 \"a\" 10 2 10 \"r10\"", "+1 @9 \"a\" 9 1 null null"});
}

TEST_CASE(
    "as-of join: a null key matches a null key, as in pandas; null_keys_match = false never "
    "matches") {
  const std::vector<Row> rights = {R(nullptr, 1, "null-key"), R("a", 1, "a-key")};
  const std::vector<Row> lefts = {L(nullptr, 5, 1), L("a", 5, 2)};
  CHECK(Static(Make(AsofJoinDirection::kBackward), lefts, rights) ==
        std::vector<std::string>{"+1 @5 \"a\" 5 2 1 \"a-key\"", "+1 @5 null 5 1 1 \"null-key\""});
  CHECK(Static(
            [] {
              AsofJoinOperatorSpec spec = Spec();
              spec.null_keys_match = false;
              return spec;
            },
            lefts, rights) ==
        std::vector<std::string>{"+1 @5 \"a\" 5 2 1 \"a-key\"", "+1 @5 null 5 1 null null"});
}

TEST_CASE("as-of join: several by fields must all be equal") {
  // Left: site, dev, t, v. Right: site, dev, t, cal. by = [site, dev] on both sides.
  const auto make = [] {
    AsofJoinOperatorSpec spec;
    spec.left = Schema({{"site", ValueType::kString},
                        {"dev", ValueType::kInt},
                        {"t", ValueType::kInt},
                        {"v", ValueType::kInt}});
    spec.right = Schema({{"dev", ValueType::kInt},
                         {"site", ValueType::kString},
                         {"t", ValueType::kInt},
                         {"cal", ValueType::kInt}});
    spec.left_by = {0, 1};
    spec.right_by = {1, 0};
    return spec;
  };
  CHECK(AsofJoinOperator::OutputSchema(make()).Names() ==
        std::vector<std::string>{"site", "dev", "t", "v", "right_t", "cal"});
  std::vector<std::string> rows;
  for (bool right_first : {false, true}) {
    AsofJoinOperator op(make());
    Collector out;
    op.output(0).Connect(&out, 0);
    const auto right = [&] {
      op.OnChange(1, {I(1), S("x"), I(1), I(100)}, 1, 1);
      op.OnChange(1, {I(2), S("x"), I(2), I(200)}, 2, 1);
      op.OnChange(1, {I(1), S("y"), I(3), I(300)}, 3, 1);
    };
    if (right_first) right();
    op.OnChange(0, {S("x"), I(1), I(5), I(1)}, 5, 1);
    op.OnChange(0, {S("x"), I(2), I(5), I(2)}, 5, 1);
    op.OnChange(0, {S("y"), I(1), I(5), I(3)}, 5, 1);
    op.OnChange(0, {S("y"), I(2), I(5), I(4)}, 5, 1);
    if (!right_first) right();
    const std::vector<Timestamp> wms{kMaxTime, kMaxTime};
    Timestamp wm;
    REQUIRE(op.Advance(wms, &wm).ok());
    rows = ShowAll(out.changes);
    std::sort(rows.begin(), rows.end());
    CHECK(rows == std::vector<std::string>{"+1 @5 \"x\" 1 5 1 1 100", "+1 @5 \"x\" 2 5 2 2 200",
                                           "+1 @5 \"y\" 1 5 3 3 300",
                                           "+1 @5 \"y\" 2 5 4 null null"});
  }
}

TEST_CASE(
    "as-of join: select expressions see the combined row, with null right fields when unmatched") {
  const auto make = [] {
    AsofJoinOperatorSpec spec = Spec();
    spec.select.push_back(ColumnItem("k", 0, ValueType::kString));
    spec.select.push_back(ColumnItem("rv", 5, ValueType::kString));
    // lv * 10 + right.t, null when unmatched (SQL null propagation).
    spec.select.push_back({"mix", std::make_unique<FnExpr>(ValueType::kInt, [](const Row& r) {
                             if (r[4].is_null()) return Value::Null();
                             return Value::Int(r[2].AsInt() * 10 + r[4].AsInt());
                           })});
    return spec;
  };
  const Schema schema = AsofJoinOperator::OutputSchema(make());
  CHECK(schema.Names() == std::vector<std::string>{"k", "rv", "mix"});
  CHECK(schema.column(2).type == ValueType::kInt);
  CHECK(Static(make, {L("a", 1, 7), L("a", 5, 8)}, {R("a", 2, "r2")}) ==
        std::vector<std::string>{"+1 @1 \"a\" null null", "+1 @5 \"a\" \"r2\" 82"});
}

// A select of plain columns takes a path of its own (no combined row); it must give exactly
// what the same columns computed as expressions give.
TEST_CASE("as-of join: a select of plain columns equals the same columns computed") {
  const auto make = [](bool plain) {
    return [plain] {
      AsofJoinOperatorSpec spec = Spec();
      // right.rv, k, right.t, lv: reordered, both sides, the right `by` column left out.
      const std::vector<std::pair<size_t, ValueType>> columns{{5, ValueType::kString},
                                                              {0, ValueType::kString},
                                                              {4, ValueType::kInt},
                                                              {2, ValueType::kInt}};
      for (const auto& [index, type] : columns) {
        if (plain) {
          spec.select.push_back(ColumnItem("c" + std::to_string(index), index, type));
        } else {
          spec.select.push_back(
              {"c" + std::to_string(index),
               std::make_unique<FnExpr>(type, [i = index](const Row& r) { return r[i]; })});
        }
      }
      return spec;
    };
  };
  const std::vector<Row> lefts{L("a", 1, 10), L("a", 5, 50), L("b", 3, 30), L(nullptr, 4, 40),
                               L("a", 9, 90)};
  const std::vector<Row> rights{R("a", 2, "r2"), R("a", 5, "r5"), R("b", 3, "b3"),
                                R(nullptr, 1, "n1")};
  const std::vector<std::string> plain = Static(make(true), lefts, rights);
  CHECK(plain == Static(make(false), lefts, rights));
  CHECK(plain == std::vector<std::string>{"+1 @1 null \"a\" null 10", "+1 @3 \"b3\" \"b\" 3 30",
                                          "+1 @4 \"n1\" null 1 40", "+1 @5 \"r5\" \"a\" 5 50",
                                          "+1 @9 \"r5\" \"a\" 5 90"});

  // Corrections (a retraction and its replacement from the same left values) too.
  std::vector<std::vector<std::string>> outputs;
  for (bool plain_select : {true, false}) {
    AsofJoinOperatorSpec spec = make(plain_select)();
    spec.emit = EmitMode::kUpdates;
    Run run(std::move(spec));
    run.Right(R("a", 1, "r1"));
    run.Left(L("a", 8, 80));
    run.Advance(0, 0);
    run.Right(R("a", 6, "r6"));
    run.Advance(0, 0);
    outputs.push_back(run.Take());
  }
  CHECK(outputs[0] == outputs[1]);
  CHECK(outputs[0] == std::vector<std::string>{"+1 @8 \"r1\" \"a\" 1 80", "-1 @8 \"r1\" \"a\" 1 80",
                                               "+1 @8 \"r6\" \"a\" 6 80"});
}

// --- Incremental behaviour -----------------------------------------------------------------

TEST_CASE(
    "as-of join: updates mode emits at once and corrects the rows a later right record changes") {
  AsofJoinOperatorSpec spec = Spec();
  spec.emit = EmitMode::kUpdates;
  Run updates(std::move(spec));
  updates.Right(R("a", 1, "r1"));
  updates.Left(L("a", 5, 50));
  updates.Left(L("a", 8, 80));
  CHECK(updates.Advance(0, 0) == 0);
  CHECK(updates.Take() ==
        std::vector<std::string>{"+1 @5 \"a\" 5 50 1 \"r1\"", "+1 @8 \"a\" 8 80 1 \"r1\""});
  // A right record at 6 changes the match of the row at 8 only.
  updates.Right(R("a", 6, "r6"));
  CHECK(updates.Advance(0, 0) == 0);
  CHECK(updates.Take() ==
        std::vector<std::string>{"-1 @8 \"a\" 8 80 1 \"r1\"", "+1 @8 \"a\" 8 80 6 \"r6\""});
  // Another record at the same time 6 arrives later and so wins the tie.
  updates.Right(R("a", 6, "r6b"));
  updates.Advance(0, 0);
  CHECK(updates.Take() ==
        std::vector<std::string>{"-1 @8 \"a\" 8 80 6 \"r6\"", "+1 @8 \"a\" 8 80 6 \"r6b\""});
  // Its retraction brings the first one back; a record and its retraction in one step are
  // consolidated away.
  updates.Right(R("a", 6, "r6b"), -1);
  updates.Right(R("a", 7, "r7"));
  updates.Right(R("a", 7, "r7"), -1);
  updates.Advance(0, 0);
  CHECK(updates.Take() ==
        std::vector<std::string>{"-1 @8 \"a\" 8 80 6 \"r6b\"", "+1 @8 \"a\" 8 80 6 \"r6\""});
  // Nothing changes: nothing is emitted.
  updates.Right(R("a", 20, "r20"));
  updates.Advance(0, 0);
  CHECK(updates.Take().empty());
  // Once the right watermark passes 8 the rows are final and forgotten.
  CHECK(updates.Advance(100, 9) == 100);
  CHECK(updates.op().stats().state_entries == 2);  // r6 (latest below the horizon) and r20
  updates.Right(R("a", 8, "late"));
  CHECK(updates.op().stats().late_records == 1);
  CHECK(ShowAll(updates.late()) ==
        std::vector<std::string>{"+1 @8 null null null \"a\" 8 \"late\""});
}

TEST_CASE("as-of join: allowed lateness: a late-but-allowed right record corrects a final row") {
  AsofJoinOperatorSpec spec = Spec();
  spec.allowed_lateness = 10;
  Run run(std::move(spec));
  run.Right(R("a", 1, "r1"));
  run.Left(L("a", 5, 50));
  // Final mode: the row at 5 waits until the right watermark passes 5.
  CHECK(run.Advance(5, 5) == 5 - 10);
  CHECK(run.Take().empty());
  CHECK(run.Advance(6, 6) == 6 - 10);
  CHECK(run.Take() == std::vector<std::string>{"+1 @5 \"a\" 5 50 1 \"r1\""});
  // Behind the watermark but within the lateness: accepted, the row is corrected.
  run.Right(R("a", 3, "r3"));
  run.Advance(14, 14);
  CHECK(run.Take() ==
        std::vector<std::string>{"-1 @5 \"a\" 5 50 1 \"r1\"", "+1 @5 \"a\" 5 50 3 \"r3\""});
  CHECK(run.op().stats().late_records == 0);
  // The row is held (holding the output watermark at 5) until right watermark - 10 passes 5.
  CHECK(run.Advance(20, 15) == 5);
  CHECK(run.Advance(20, 16) == 10);
  run.Right(R("a", 5, "too late"));
  CHECK(run.op().stats().late_records == 1);
  run.Advance(kMaxTime, kMaxTime);
  CHECK(run.Take().empty());
  CHECK(run.op().stats().state_entries == 0);
}

TEST_CASE("as-of join: final mode emits a row as soon as its match can no longer change") {
  SUBCASE("backward: once the right watermark passes the left time") {
    Run run(Spec(AsofJoinDirection::kBackward));
    run.Right(R("a", 1, "r1"));
    run.Left(L("a", 5, 50));
    CHECK(run.Advance(10, 5) == 5);  // a right record at 5 could still come and win
    CHECK(run.Take().empty());
    CHECK(run.Advance(10, 6) == 10);
    CHECK(run.Take() == std::vector<std::string>{"+1 @5 \"a\" 5 50 1 \"r1\""});
  }
  SUBCASE("strict backward: once it reaches the left time") {
    AsofJoinOperatorSpec spec = Spec(AsofJoinDirection::kBackward);
    spec.allow_exact = false;
    Run run(std::move(spec));
    run.Left(L("a", 5, 50));
    CHECK(run.Advance(10, 4) == 5);
    CHECK(run.Take().empty());
    run.Advance(10, 5);
    CHECK(run.Take() == std::vector<std::string>{"+1 @5 \"a\" 5 50 null null"});
  }
  SUBCASE("forward: once the right watermark passes the matched time, not the tolerance") {
    AsofJoinOperatorSpec spec = Spec(AsofJoinDirection::kForward);
    spec.tolerance = 1000;
    Run run(std::move(spec));
    run.Left(L("a", 5, 50));
    run.Right(R("a", 8, "r8"));
    CHECK(run.Advance(10, 8) == 5);  // a retraction of r8, or a record at 5..7, could come
    CHECK(run.Take().empty());
    run.Right(R("a", 8, "r8 second"));  // loses the tie: the first to arrive wins
    run.Advance(10, 9);
    CHECK(run.Take() == std::vector<std::string>{"+1 @5 \"a\" 5 50 8 \"r8\""});
  }
  SUBCASE("forward unmatched: once the right watermark passes left time + tolerance") {
    AsofJoinOperatorSpec spec = Spec(AsofJoinDirection::kForward);
    spec.tolerance = 3;
    Run run(std::move(spec));
    run.Left(L("a", 5, 50));
    run.Advance(10, 8);
    CHECK(run.Take().empty());
    run.Advance(10, 9);
    CHECK(run.Take() == std::vector<std::string>{"+1 @5 \"a\" 5 50 null null"});
  }
  SUBCASE("nearest with a backward match d away: once it passes left time + d - 1") {
    Run run(Spec(AsofJoinDirection::kNearest));
    run.Right(R("a", 2, "r2"));
    run.Left(L("a", 5, 50));
    run.Advance(10, 7);  // a record at 7 would be 2 away: closer
    CHECK(run.Take().empty());
    run.Advance(10, 8);  // one at 8 would be 3 away: a tie, which backward wins
    CHECK(run.Take() == std::vector<std::string>{"+1 @5 \"a\" 5 50 2 \"r2\""});
  }
  SUBCASE("nearest: a strictly closer forward record changes the pending match") {
    Run run(Spec(AsofJoinDirection::kNearest));
    run.Right(R("a", 2, "r2"));
    run.Left(L("a", 5, 50));
    run.Advance(10, 6);
    CHECK(run.Take().empty());
    run.Right(R("a", 6, "r6"));
    run.Advance(10, 7);
    CHECK(run.Take() == std::vector<std::string>{"+1 @5 \"a\" 5 50 6 \"r6\""});
  }
}

TEST_CASE("as-of join: late records of either side go to port 1 in the combined layout") {
  AsofJoinOperatorSpec spec = Spec();
  spec.emit = EmitMode::kUpdates;
  Run run(std::move(spec));
  run.Advance(100, 50);
  run.Left(L("a", 99, 1));   // late: left watermark 100
  run.Left(L("a", 100, 2));  // on time
  run.Right(R("a", 49, "late"));
  run.Right(R("a", 50, "ok"));
  run.Advance(100, 50);
  CHECK(ShowAll(run.late()) == std::vector<std::string>{"+1 @99 \"a\" 99 1 null null null",
                                                        "+1 @49 null null null \"a\" 49 \"late\""});
  CHECK(run.op().stats().late_records == 2);
  CHECK(run.Take() == std::vector<std::string>{"+1 @100 \"a\" 100 2 50 \"ok\""});
}

TEST_CASE("as-of join: the output watermark is held by left rows that may still be emitted") {
  Run run(Spec());
  CHECK(run.Advance(kMinTime, kMinTime) == kMinTime);
  run.Left(L("a", 10, 1));
  run.Left(L("b", 20, 2));
  CHECK(run.Advance(30, 0) == 10);
  CHECK(run.Advance(30, 15) == 20);
  CHECK(run.Advance(30, 25) == 30);
  CHECK(run.Take().size() == 2);
}

TEST_CASE(
    "as-of join: left retractions retract the emitted row; unknown ones emit the negative row") {
  AsofJoinOperatorSpec spec = Spec();
  spec.emit = EmitMode::kUpdates;
  Run run(std::move(spec));
  run.Right(R("a", 1, "r1"));
  run.Left(L("a", 5, 50));
  run.Advance(0, 0);
  run.Left(L("a", 5, 50), -1);
  run.Advance(0, 0);
  CHECK(run.Take() ==
        std::vector<std::string>{"+1 @5 \"a\" 5 50 1 \"r1\"", "-1 @5 \"a\" 5 50 1 \"r1\""});
  CHECK(run.op().stats().state_entries == 1);
  // A multiplicity of 2, and a retraction coming before its insertion (both net to zero).
  run.Left(L("a", 6, 60), 2);
  run.Left(L("a", 7, 70), -1);
  run.Left(L("a", 7, 70));
  run.Advance(0, 0);
  CHECK(run.Take() == std::vector<std::string>{"+2 @6 \"a\" 6 60 1 \"r1\""});
}

TEST_CASE("as-of join: a right retraction before its insertion waits for it") {
  AsofJoinOperatorSpec spec = Spec();
  spec.emit = EmitMode::kUpdates;
  Run run(std::move(spec));
  run.Right(R("a", 1, "r1"));
  run.Right(R("a", 3, "r3"), -1);
  run.Left(L("a", 5, 50));
  run.Advance(0, 0);
  CHECK(run.Take() == std::vector<std::string>{"+1 @5 \"a\" 5 50 1 \"r1\""});
  run.Right(R("a", 3, "r3"));
  run.Advance(0, 0);
  CHECK(run.Take().empty());
  run.Right(R("a", 3, "r3"));
  run.Advance(0, 0);
  CHECK(run.Take() ==
        std::vector<std::string>{"-1 @5 \"a\" 5 50 1 \"r1\"", "+1 @5 \"a\" 5 50 3 \"r3\""});
}

TEST_CASE("as-of join: once the left input is finished, no right record is held") {
  Run run(Spec());
  run.Right(R("a", 1, "r1"));
  run.Right(R("b", 2, "r2"));
  run.Left(L("a", 5, 50));
  run.Advance(10, 10);
  CHECK(run.op().stats().state_entries == 2);  // the latest right record of each key
  run.Advance(kMaxTime, 10);
  CHECK(run.op().stats().state_entries == 0);
  run.Right(R("a", 20, "r20"));
  run.Advance(kMaxTime, 30);
  CHECK(run.op().stats().state_entries == 0);
  CHECK(run.Take() == std::vector<std::string>{"+1 @5 \"a\" 5 50 1 \"r1\""});
}

TEST_CASE("as-of join: state stays bounded over a long stream and is empty at the end") {
  for (auto direction :
       {AsofJoinDirection::kBackward, AsofJoinDirection::kForward, AsofJoinDirection::kNearest}) {
    for (EmitMode emit : {EmitMode::kFinal, EmitMode::kUpdates}) {
      CAPTURE(static_cast<int>(direction));
      AsofJoinOperatorSpec spec = Spec(direction);
      spec.emit = emit;
      spec.tolerance = 50;
      spec.allowed_lateness = 20;
      Run run(std::move(spec));
      const char* keys[] = {"a", "b", "c", "d"};
      uint64_t max_state = 0;
      size_t rows = 0;
      for (int64_t step = 0; step < 2000; ++step) {
        for (int i = 0; i < 4; ++i) {
          const int64_t t = step * 10 + i;
          run.Left(L(keys[i], t, step));
          // Keys b and d send right records rarely; key c goes silent halfway.
          if (i == 0 || (i == 1 && step % 50 == 0) || (i == 2 && step < 1000)) {
            run.Right(R(keys[i], t - 3, "r"));
          }
        }
        run.Advance(step * 10 - 30, step * 10 - 30);
        max_state = std::max(max_state, run.op().stats().state_entries);
        rows = run.results().size();
      }
      CHECK(max_state < 100);
      run.Advance(kMaxTime, kMaxTime);
      CHECK(run.op().stats().state_entries == 0);
      CHECK(Consolidate(run.results()).size() == 8000);
      CHECK(rows > 0);
    }
  }
}

// --- Randomized: any arrival order converges to the static result -------------------------

struct Event {
  bool left;
  Row row;
  Timestamp time;
  Diff diff;
  double arrival;
};

// Brute force, from the documented rules (checked against pandas by asof_reference.py).
std::vector<std::string> BruteForce(const AsofJoinOperatorSpec& spec, const std::vector<Row>& lefts,
                                    const std::vector<Row>& rights) {
  std::vector<std::string> out;
  const auto within = [&](int64_t d) { return !spec.tolerance || d <= *spec.tolerance; };
  for (const Row& l : lefts) {
    const int64_t t = l[1].AsInt();
    std::optional<size_t> back, fwd;
    for (size_t i = 0; i < rights.size(); ++i) {
      const Row& r = rights[i];
      if (!(r[0] == l[0])) continue;
      const int64_t rt = r[1].AsInt();
      if ((spec.allow_exact ? rt <= t : rt < t) && within(t - rt) &&
          (!back || rt >= rights[*back][1].AsInt())) {
        back = i;
      }
      if ((spec.allow_exact ? rt >= t : rt > t) && within(rt - t) &&
          (!fwd || rt < rights[*fwd][1].AsInt())) {
        fwd = i;
      }
    }
    std::optional<size_t> match;
    switch (spec.direction) {
      case AsofJoinDirection::kBackward:
        match = back;
        break;
      case AsofJoinDirection::kForward:
        match = fwd;
        break;
      case AsofJoinDirection::kNearest:
        if (back && fwd) {
          match = t - rights[*back][1].AsInt() <= rights[*fwd][1].AsInt() - t ? back : fwd;
        } else {
          match = back ? back : fwd;
        }
        break;
    }
    if (!match && !spec.keep_unmatched) continue;
    Row row = l;
    row.push_back(match ? rights[*match][1] : Value());
    row.push_back(match ? rights[*match][2] : Value());
    out.push_back("1 @" + std::to_string(t) + " " + Show(row));
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE(
    "as-of join: random arrival orders converge to the static result (and to the brute force)") {
  std::mt19937_64 rng(20240611);
  const auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const char* keys[] = {"a", "b", nullptr};
  int runs = 0;
  for (auto direction :
       {AsofJoinDirection::kBackward, AsofJoinDirection::kForward, AsofJoinDirection::kNearest}) {
    for (bool allow_exact : {true, false}) {
      for (std::optional<Duration> tolerance :
           {std::optional<Duration>(), std::optional<Duration>(0), std::optional<Duration>(3),
            std::optional<Duration>(10)}) {
        for (EmitMode emit : {EmitMode::kFinal, EmitMode::kUpdates}) {
          for (Duration lateness : {0, 6}) {
            for (int seed = 0; seed < 3; ++seed) {
              const auto make = [&] {
                AsofJoinOperatorSpec spec = Spec(direction);
                spec.allow_exact = allow_exact;
                spec.tolerance = tolerance;
                spec.emit = emit;
                spec.allowed_lateness = lateness;
                spec.keep_unmatched = seed != 2;
                return spec;
              };
              CAPTURE(static_cast<int>(direction));
              CAPTURE(allow_exact);
              CAPTURE(tolerance.value_or(-1));
              CAPTURE(static_cast<int>(emit));
              CAPTURE(lateness);
              CAPTURE(seed);
              ++runs;
              // Data with many ties; some records are inserted and retracted again
              // ("phantoms"): they must leave no trace.
              std::vector<Row> lefts, rights;
              std::vector<Event> events;
              const Duration max_delay = 4;
              const Duration disorder = max_delay + lateness;
              const int n = static_cast<int>(uniform(20, 120));
              for (int i = 0; i < n; ++i) {
                const bool left = uniform(0, 2) != 0;
                const char* key = keys[uniform(0, 2)];
                const int64_t t = uniform(0, 60);
                const bool phantom = uniform(0, 9) == 0;
                Row row = left ? L(key, t, i) : R(key, t, ("r" + std::to_string(i)).c_str());
                const double a1 =
                    static_cast<double>(t) + static_cast<double>(uniform(0, disorder));
                if (phantom) {
                  const double a2 =
                      static_cast<double>(uniform(static_cast<int64_t>(a1), t + disorder)) + 0.5;
                  events.push_back({left, row, t, 1, a1});
                  events.push_back({left, row, t, -1, std::max(a2, a1 + 0.25)});
                  continue;
                }
                (left ? lefts : rights).push_back(row);
                events.push_back({left, row, t, 1, a1});
              }
              // Right records with the same key and time must keep their relative order: it
              // decides ties. Give them their group's arrival times in order.
              std::map<std::pair<std::string, Timestamp>, std::vector<size_t>> groups;
              for (size_t i = 0; i < events.size(); ++i) {
                if (events[i].left || events[i].diff < 0) continue;
                groups[{events[i].row[0].DebugString(), events[i].time}].push_back(i);
              }
              for (auto& [_, members] : groups) {
                std::vector<double> arrivals;
                for (size_t i : members) arrivals.push_back(events[i].arrival);
                std::sort(arrivals.begin(), arrivals.end());
                for (size_t j = 0; j < members.size(); ++j)
                  events[members[j]].arrival = arrivals[j];
              }
              std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
                return a.arrival < b.arrival;
              });

              Run run(make());
              Timestamp max_left = kMinTime, max_right = kMinTime, right_wm = kMinTime;
              bool left_phantom = false;
              size_t i = 0;
              while (i < events.size()) {
                const size_t batch = static_cast<size_t>(uniform(1, 8));
                for (size_t j = 0; j < batch && i < events.size(); ++j, ++i) {
                  const Event& e = events[i];
                  if (e.left) {
                    run.Left(e.row, e.diff);
                    max_left = std::max(max_left, e.time);
                    if (e.diff < 0) left_phantom = true;
                  } else {
                    run.Right(e.row, e.diff);
                    max_right = std::max(max_right, e.time);
                  }
                }
                const auto wm = [&](Timestamp max) {
                  return max == kMinTime ? kMinTime : max - max_delay;
                };
                // Sometimes the right watermark stays behind for a step, holding results back.
                if (uniform(0, 3) != 0) right_wm = wm(max_right);
                run.Advance(wm(max_left), right_wm);
              }
              run.Advance(kMaxTime, kMaxTime);
              CHECK(run.op().stats().late_records == 0);
              CHECK(run.op().stats().state_entries == 0);
              if (emit == EmitMode::kFinal && lateness == 0 && !left_phantom) {
                CHECK_FALSE(HasRetraction(run.results()));
              }
              const std::vector<std::string> expected = BruteForce(make(), lefts, rights);
              CHECK(Consolidate(run.results()) == expected);
              std::vector<std::string> static_rows = Static(make, lefts, rights);
              for (std::string& row : static_rows) row = row.substr(1);  // "+1 @.." -> "1 @.."
              CHECK(static_rows == expected);
            }
          }
        }
      }
    }
  }
  CHECK(runs == 288);
}

}  // namespace
}  // namespace runnel
