#include "operators/aggregate.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "operators/aggregate_state.h"

namespace runnel {
namespace {

// A bare column reference, so these tests do not depend on the expression compiler.
class ColumnRef final : public Expr {
 public:
  ColumnRef(size_t index, ValueType type) : Expr(type, index), index_(index) {}
  Value Eval(const Row& row) const override { return row[index_]; }

 private:
  size_t index_;
};

// A computed argument (2 * column): exercises the evaluated, non-column path.
class Doubled final : public Expr {
 public:
  explicit Doubled(size_t index) : Expr(ValueType::kFloat), index_(index) {}
  Value Eval(const Row& row) const override {
    return row[index_].is_null() ? Value() : Value::Float(2 * row[index_].AsNumber());
  }

 private:
  size_t index_;
};

AggregateDef Def(const std::string& name, const std::string& fn, ValueType type = ValueType::kNull,
                 size_t column = 0, bool with_argument = true) {
  AggregateCall call;
  call.name = name;
  call.function = fn;
  if (with_argument) call.argument = std::make_unique<ColumnRef>(column, type);
  Result<AggregateDef> def = MakeAggregate(std::move(call));
  REQUIRE_MESSAGE(def.ok(), def.status().message());
  return std::move(def).value();
}

AggregateDef Count(const std::string& name) {
  return Def(name, "count", ValueType::kNull, 0, /*with_argument=*/false);
}

Status MakeError(const std::string& fn, std::unique_ptr<Expr> argument) {
  AggregateCall call{"x", fn, std::move(argument)};
  Result<AggregateDef> def = MakeAggregate(std::move(call));
  REQUIRE(!def.ok());
  return def.status();
}

// One window's state driven by records of a single column `v` (column 0).
class Harness {
 public:
  Harness(std::vector<AggregateDef> defs, AggregateStates::Mode mode)
      : defs_(std::move(defs)),
        states_(defs_, mode),
        state_(std::make_unique<std::byte[]>(states_.state_size())),
        scratch_(states_.num_arguments()),
        args_(states_.num_arguments()) {
    states_.Initialize(state_.get());
  }
  ~Harness() { states_.Destroy(state_.get()); }

  Harness& Add(Value v, Timestamp time = 0, Diff diff = 1) {
    const Row row = {std::move(v)};
    states_.EvaluateArguments(row, scratch_.data(), args_.data());
    states_.Update(state_.get(), args_.data(), time, seq_++, diff);
    return *this;
  }
  Harness& Retract(Value v, Timestamp time = 0, Diff diff = -1) {
    return Add(std::move(v), time, diff);
  }

  // The results as "name=value, name=value".
  std::string Results() {
    std::vector<Value> out(states_.num_aggregates());
    states_.Finalize(state_.get(), out.data());
    std::string text;
    for (size_t i = 0; i < out.size(); ++i) {
      text += (i ? ", " : "") + defs_[i].name + "=" + out[i].DebugString();
    }
    return text;
  }
  std::string Result(size_t i) {
    std::vector<Value> out(states_.num_aggregates());
    states_.Finalize(state_.get(), out.data());
    return defs_[i].name + "=" + out[i].DebugString();
  }
  int64_t records() const { return states_.Records(state_.get()); }
  AggregateStates& states() { return states_; }
  std::byte* state() { return state_.get(); }

 private:
  std::vector<AggregateDef> defs_;
  AggregateStates states_;
  std::unique_ptr<std::byte[]> state_;
  std::vector<Value> scratch_;
  std::vector<const Value*> args_;
  uint64_t seq_ = 0;
};

std::vector<AggregateDef> AllFloat() {
  std::vector<AggregateDef> defs;
  defs.push_back(Count("n"));
  defs.push_back(Def("nn", "count", ValueType::kFloat));
  defs.push_back(Def("sum", "sum", ValueType::kFloat));
  defs.push_back(Def("avg", "avg", ValueType::kFloat));
  defs.push_back(Def("min", "min", ValueType::kFloat));
  defs.push_back(Def("max", "max", ValueType::kFloat));
  defs.push_back(Def("first", "first", ValueType::kFloat));
  defs.push_back(Def("last", "last", ValueType::kFloat));
  defs.push_back(Def("var", "var", ValueType::kFloat));
  defs.push_back(Def("stddev", "stddev", ValueType::kFloat));
  defs.push_back(Def("median", "median", ValueType::kFloat));
  return defs;
}

std::vector<AggregateDef> AllInt() {
  std::vector<AggregateDef> defs;
  defs.push_back(Count("n"));
  defs.push_back(Def("nn", "count", ValueType::kInt));
  defs.push_back(Def("sum", "sum", ValueType::kInt));
  defs.push_back(Def("avg", "avg", ValueType::kInt));
  defs.push_back(Def("min", "min", ValueType::kInt));
  defs.push_back(Def("max", "max", ValueType::kInt));
  defs.push_back(Def("first", "first", ValueType::kInt));
  defs.push_back(Def("last", "last", ValueType::kInt));
  defs.push_back(Def("var", "var", ValueType::kInt));
  defs.push_back(Def("stddev", "stddev", ValueType::kInt));
  defs.push_back(Def("median", "median", ValueType::kInt));
  return defs;
}

constexpr AggregateStates::Mode kBothModes[] = {AggregateStates::Mode::kInsertOnly,
                                                AggregateStates::Mode::kRetractable};

TEST_CASE("MakeAggregate gives each function its result type") {
  CHECK(Count("n").kind == AggregateKind::kCount);
  CHECK(Count("n").result_type == ValueType::kInt);
  CHECK(Def("n", "count", ValueType::kString).kind == AggregateKind::kCountNonNull);
  CHECK(Def("s", "sum", ValueType::kInt).result_type == ValueType::kInt);
  CHECK(Def("s", "sum", ValueType::kFloat).result_type == ValueType::kFloat);
  CHECK(Def("a", "avg", ValueType::kInt).result_type == ValueType::kFloat);
  CHECK(Def("v", "var", ValueType::kInt).result_type == ValueType::kFloat);
  CHECK(Def("d", "stddev", ValueType::kFloat).result_type == ValueType::kFloat);
  CHECK(Def("m", "median", ValueType::kInt).result_type == ValueType::kFloat);
  CHECK(Def("m", "min", ValueType::kString).result_type == ValueType::kString);
  CHECK(Def("m", "max", ValueType::kBool).result_type == ValueType::kBool);
  CHECK(Def("f", "first", ValueType::kString).result_type == ValueType::kString);
  CHECK(Def("l", "last", ValueType::kInt).result_type == ValueType::kInt);
  const AggregateDef def = Def("avg_temp", "avg", ValueType::kFloat, 3);
  CHECK(def.name == "avg_temp");
  CHECK(def.kind == AggregateKind::kAvg);
  CHECK(def.argument->column_index() == 3u);
}

TEST_CASE("MakeAggregate rejects bad calls with a message saying what to write") {
  CHECK(MakeError("mean", std::make_unique<ColumnRef>(0, ValueType::kFloat)).message() ==
        "unknown aggregate function \"mean\": write avg(...) instead");
  CHECK(MakeError("mode", std::make_unique<ColumnRef>(0, ValueType::kFloat)).message() ==
        "unknown aggregate function \"mode\": use one of count, sum, avg, min, max, first, last, "
        "var, stddev, median");
  CHECK(MakeError("avg", nullptr).message() ==
        "avg() needs an argument: write avg(field) or, to count records, count()");
  CHECK(MakeError("avg", std::make_unique<ColumnRef>(0, ValueType::kString)).message() ==
        "avg() needs a numeric argument (int or float), got string: convert it with "
        "to_float(...) if it holds numbers");
  CHECK(MakeError("sum", std::make_unique<ColumnRef>(0, ValueType::kBool)).message() ==
        "sum() needs a numeric argument (int or float), got bool: to count true values write "
        "count() with a where filter");
  CHECK(MakeError("sum", std::make_unique<ColumnRef>(0, ValueType::kString)).code() ==
        StatusCode::kInvalid);
  CHECK(MakeError("median", std::make_unique<ColumnRef>(0, ValueType::kBool)).code() ==
        StatusCode::kInvalid);
  CHECK(MakeError("min", std::make_unique<ColumnRef>(0, ValueType::kNull)).message() ==
        "min() needs an argument of a known type (int, float, string or bool), got null: give "
        "the field a type");
}

TEST_CASE("every float aggregate over values with nulls") {
  for (AggregateStates::Mode mode : kBothModes) {
    Harness h(AllFloat(), mode);
    h.Add(Value::Float(4), 30).Add(Value(), 5).Add(Value::Float(1), 10).Add(Value::Float(2.5), 20);
    CHECK(h.Results() ==
          "n=4, nn=3, sum=7.5, avg=2.5, min=1, max=4, first=1, last=4, var=2.25, stddev=1.5, "
          "median=2.5");
  }
}

TEST_CASE("every int aggregate keeps int where the type says so") {
  for (AggregateStates::Mode mode : kBothModes) {
    Harness h(AllInt(), mode);
    h.Add(Value::Int(7), 1).Add(Value::Int(-3), 2).Add(Value(), 3).Add(Value::Int(2), 3);
    CHECK(h.Results() ==
          "n=4, nn=3, sum=6, avg=2, min=-3, max=7, first=7, last=2, var=25, stddev=5, median=2");
  }
}

TEST_CASE("aggregates over no non-null values are null, counts are zero or the records") {
  for (AggregateStates::Mode mode : kBothModes) {
    Harness h(AllFloat(), mode);
    CHECK(h.Results() ==
          "n=0, nn=0, sum=null, avg=null, min=null, max=null, first=null, last=null, var=null, "
          "stddev=null, median=null");
    h.Add(Value()).Add(Value());
    CHECK(h.Results() ==
          "n=2, nn=0, sum=null, avg=null, min=null, max=null, first=null, last=null, var=null, "
          "stddev=null, median=null");
  }
}

TEST_CASE("var and stddev are null below two values and zero for equal values") {
  Harness h(AllFloat(), AggregateStates::Mode::kInsertOnly);
  h.Add(Value::Float(21.5));
  CHECK(h.Result(8) == "var=null");
  CHECK(h.Result(9) == "stddev=null");
  h.Add(Value::Float(21.5)).Add(Value::Float(21.5));
  CHECK(h.Result(8) == "var=0");
  CHECK(h.Result(9) == "stddev=0");
}

TEST_CASE("median is the middle value for an odd count and the mean of the two for an even one") {
  for (AggregateStates::Mode mode : kBothModes) {
    std::vector<AggregateDef> defs;
    defs.push_back(Def("median", "median", ValueType::kInt));
    Harness h(std::move(defs), mode);
    h.Add(Value::Int(9)).Add(Value::Int(1)).Add(Value::Int(5));
    CHECK(h.Results() == "median=5");
    h.Add(Value::Int(6));
    CHECK(h.Results() == "median=5.5");
    h.Add(Value::Int(6), 0, 2);  // 1 5 6 6 6 9
    CHECK(h.Results() == "median=6");
    // Near the int64 limit the two middle values are added exactly before one rounding.
    std::vector<AggregateDef> d2;
    d2.push_back(Def("median", "median", ValueType::kInt));
    Harness h2(std::move(d2), mode);
    h2.Add(Value::Int(INT64_MAX)).Add(Value::Int(INT64_MAX - 2));
    CHECK(h2.Results() == "median=9223372036854775808");
  }
}

TEST_CASE("first and last break event-time ties by arrival order") {
  for (AggregateStates::Mode mode : kBothModes) {
    std::vector<AggregateDef> defs;
    defs.push_back(Def("first", "first", ValueType::kString));
    defs.push_back(Def("last", "last", ValueType::kString));
    Harness h(std::move(defs), mode);
    h.Add(Value::String("b"), 10)
        .Add(Value::String("a"), 10)
        .Add(Value::String("late-but-early"), 5)
        .Add(Value::String("x"), 20)
        .Add(Value::String("y"), 20)
        .Add(Value(), 30);  // nulls are skipped
    CHECK(h.Results() == "first=\"late-but-early\", last=\"y\"");
  }
}

TEST_CASE("min and max work on strings and bools") {
  for (AggregateStates::Mode mode : kBothModes) {
    std::vector<AggregateDef> defs;
    defs.push_back(Def("min", "min", ValueType::kString, 0));
    defs.push_back(Def("max", "max", ValueType::kString, 0));
    Harness h(std::move(defs), mode);
    h.Add(Value::String("pear")).Add(Value::String("apple")).Add(Value::String("zucchini"));
    CHECK(h.Results() == "min=\"apple\", max=\"zucchini\"");

    std::vector<AggregateDef> bools;
    bools.push_back(Def("min", "min", ValueType::kBool));
    bools.push_back(Def("max", "max", ValueType::kBool));
    Harness b(std::move(bools), mode);
    b.Add(Value::Bool(true)).Add(Value::Bool(true));
    CHECK(b.Results() == "min=true, max=true");
    b.Add(Value::Bool(false));
    CHECK(b.Results() == "min=false, max=true");
  }
}

TEST_CASE("retractions undo every aggregate, including the current extreme and multiplicities") {
  Harness h(AllFloat(), AggregateStates::Mode::kRetractable);
  CHECK(h.states().can_retract());
  h.Add(Value::Float(5), 10, 3)  // three records at once
      .Add(Value::Float(1), 20)
      .Add(Value::Float(9), 30)
      .Add(Value(), 40);
  CHECK(h.Results() ==
        "n=6, nn=5, sum=25, avg=5, min=1, max=9, first=5, last=9, var=8, "
        "stddev=2.8284271247461903, median=5");
  h.Retract(Value::Float(9), 30).Retract(Value::Float(1), 20).Retract(Value::Float(5), 10, -2);
  CHECK(h.Results() ==
        "n=2, nn=1, sum=5, avg=5, min=5, max=5, first=5, last=5, var=null, stddev=null, median=5");
  h.Retract(Value(), 40).Retract(Value::Float(5), 10);
  CHECK(h.records() == 0);
  CHECK(h.Results() ==
        "n=0, nn=0, sum=null, avg=null, min=null, max=null, first=null, last=null, var=null, "
        "stddev=null, median=null");
  // An emptied state starts afresh: no rounding residue from what was retracted.
  h.Add(Value::Float(0.1), 50).Add(Value::Float(0.2), 60);
  CHECK(h.Result(2) == "sum=0.30000000000000004");
}

TEST_CASE("a retraction of first/last removes the latest arrival of that value at that time") {
  std::vector<AggregateDef> defs;
  defs.push_back(Def("first", "first", ValueType::kString));
  defs.push_back(Def("last", "last", ValueType::kString));
  Harness h(std::move(defs), AggregateStates::Mode::kRetractable);
  h.Add(Value::String("a"), 10).Add(Value::String("b"), 10).Add(Value::String("a"), 10);
  CHECK(h.Results() == "first=\"a\", last=\"a\"");
  h.Retract(Value::String("a"), 10);
  CHECK(h.Results() == "first=\"a\", last=\"b\"");
  h.Retract(Value::String("a"), 10);
  CHECK(h.Results() == "first=\"b\", last=\"b\"");
}

TEST_CASE("insert-only states refuse retractions only when they keep a single value") {
  Harness h(AllFloat(), AggregateStates::Mode::kInsertOnly);
  CHECK_FALSE(h.states().can_retract());
  std::vector<AggregateDef> invertible;
  invertible.push_back(Count("n"));
  invertible.push_back(Def("sum", "sum", ValueType::kFloat));
  invertible.push_back(Def("avg", "avg", ValueType::kFloat));
  invertible.push_back(Def("var", "var", ValueType::kFloat));
  invertible.push_back(Def("median", "median", ValueType::kFloat));
  Harness g(std::move(invertible), AggregateStates::Mode::kInsertOnly);
  CHECK(g.states().can_retract());
  g.Add(Value::Float(2)).Add(Value::Float(4)).Add(Value::Float(9)).Retract(Value::Float(9));
  CHECK(g.Results() == "n=2, sum=6, avg=3, var=2, median=3");
}

TEST_CASE("float sums are compensated: large values retracted leave the small ones exact") {
  std::vector<AggregateDef> defs;
  defs.push_back(Def("sum", "sum", ValueType::kFloat));
  defs.push_back(Def("avg", "avg", ValueType::kFloat));
  Harness h(std::move(defs), AggregateStates::Mode::kRetractable);
  h.Add(Value::Float(1e20))
      .Add(Value::Float(1))
      .Add(Value::Float(1e-3))
      .Retract(Value::Float(1e20));
  CHECK(h.Results() == "sum=1.001, avg=0.5005");
  // A diff of 3 counts like three records, product rounding included.
  Harness k(AllFloat(), AggregateStates::Mode::kInsertOnly);
  Harness l(AllFloat(), AggregateStates::Mode::kInsertOnly);
  k.Add(Value::Float(0.1), 0, 3);
  l.Add(Value::Float(0.1)).Add(Value::Float(0.1)).Add(Value::Float(0.1));
  CHECK(k.Results() == l.Results());
}

TEST_CASE("int sums are exact and null when they leave int64") {
  std::vector<AggregateDef> defs;
  defs.push_back(Def("sum", "sum", ValueType::kInt));
  defs.push_back(Def("avg", "avg", ValueType::kInt));
  Harness h(std::move(defs), AggregateStates::Mode::kRetractable);
  h.Add(Value::Int(INT64_MAX)).Add(Value::Int(INT64_MAX));
  CHECK(h.Results() == "sum=null, avg=9223372036854775808");
  h.Retract(Value::Int(INT64_MAX)).Add(Value::Int(-1));
  CHECK(h.Results() == "sum=9223372036854775806, avg=4611686018427387904");
}

TEST_CASE("counts beyond 32 bits stay exact and shrink back") {
  for (AggregateStates::Mode mode : kBothModes) {
    Harness h(AllFloat(), mode);
    h.Add(Value::Float(1), 0, 3'000'000'000).Add(Value(), 0, 2'000'000'000).Add(Value::Float(4));
    CHECK(h.Result(0) == "n=5000000001");
    CHECK(h.Result(1) == "nn=3000000001");
    CHECK(h.Result(2) == "sum=3000000004");
    CHECK(h.Result(4) == "min=1");
    CHECK(h.Result(5) == "max=4");
    if (mode == AggregateStates::Mode::kRetractable) {
      h.Retract(Value::Float(1), 0, -2'999'999'999).Retract(Value(), 0, -2'000'000'000);
      CHECK(h.Results() ==
            "n=2, nn=2, sum=5, avg=2.5, min=1, max=4, first=1, last=4, var=4.5, "
            "stddev=2.1213203435596424, median=2.5");
    }
  }
}

TEST_CASE("a computed argument is evaluated per record and aggregates over one column share it") {
  std::vector<AggregateDef> defs;
  AggregateCall call{"twice", "max", std::make_unique<Doubled>(0)};
  defs.push_back(std::move(MakeAggregate(std::move(call))).value());
  defs.push_back(Def("min", "min", ValueType::kFloat, 0));
  defs.push_back(Def("max", "max", ValueType::kFloat, 0));
  Harness h(std::move(defs), AggregateStates::Mode::kRetractable);
  CHECK(h.states().num_arguments() == 2);
  h.Add(Value::Float(1.5)).Add(Value::Float(-2));
  CHECK(h.Results() == "twice=3, min=-2, max=1.5");
}

TEST_CASE("merging two insert-only states equals one state over all records") {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 50; ++round) {
    Harness all(AllFloat(), AggregateStates::Mode::kInsertOnly);
    Harness left(AllFloat(), AggregateStates::Mode::kInsertOnly);
    Harness right(AllFloat(), AggregateStates::Mode::kInsertOnly);
    const int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      // Quarter steps keep every sum exact, so results must agree bit for bit.
      const Value v = rng() % 5 == 0 ? Value() : Value::Float(static_cast<double>(rng() % 400) / 4);
      // Distinct times: each harness numbers arrivals on its own, so ties could differ.
      const Timestamp t = static_cast<Timestamp>(rng() % 1000) * 16 + i;
      all.Add(v, t);
      (rng() % 2 ? left : right).Add(v, t);
    }
    left.states().Merge(left.state(), right.state());
    CHECK(left.Results() == all.Results());
  }
}

TEST_CASE("insert-only and retractable states agree, and retracting a suffix restores a prefix") {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 100; ++round) {
    Harness compact(AllInt(), AggregateStates::Mode::kInsertOnly);
    Harness full(AllInt(), AggregateStates::Mode::kRetractable);
    Harness prefix(AllInt(), AggregateStates::Mode::kRetractable);
    std::vector<std::pair<Value, Timestamp>> records;
    const int n = 1 + static_cast<int>(rng() % 15);
    for (int i = 0; i < n; ++i) {
      const Value v = rng() % 6 == 0 ? Value() : Value::Int(static_cast<int64_t>(rng() % 50) - 20);
      const Timestamp t = static_cast<Timestamp>(rng() % 100);
      records.emplace_back(v, t);
      compact.Add(v, t);
      full.Add(v, t);
    }
    CHECK(compact.Results() == full.Results());
    const size_t keep = rng() % records.size();
    for (size_t i = 0; i < keep; ++i) prefix.Add(records[i].first, records[i].second);
    for (size_t i = records.size(); i-- > keep;) full.Retract(records[i].first, records[i].second);
    CHECK(full.Results() == prefix.Results());
  }
}

}  // namespace
}  // namespace runnel
