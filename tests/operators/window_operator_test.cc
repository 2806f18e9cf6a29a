#include "operators/window_operator.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

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

// Records what the window operator emits, on both ports, as text.
class Collector final : public Operator {
 public:
  void OnChange(int port, const Row& row, Timestamp time, Diff diff) override {
    std::string text = port == WindowOperator::kLatePort ? "late " : "";
    text += (diff > 0 ? "+" : "") + std::to_string(diff) + " @" + std::to_string(time) + " ";
    for (size_t i = 0; i < row.size(); ++i) text += (i ? "," : "") + row[i].DebugString();
    changes.push_back(text);
    rows.push_back({port, row, time, diff});
  }
  Status Advance(std::span<const Timestamp>, Timestamp*) override { return Status::Ok(); }

  struct Change {
    int port;
    Row row;
    Timestamp time;
    Diff diff;
  };
  std::vector<std::string> changes;
  std::vector<Change> rows;
};

// Input columns: device (string), ts (int), v (float).
const Schema& InputSchema() {
  static const Schema schema(
      {{"device", ValueType::kString}, {"ts", ValueType::kInt}, {"v", ValueType::kFloat}});
  return schema;
}

AggregateDef Agg(const std::string& name, const std::string& fn, bool with_v = true,
                 size_t column = 2, ValueType type = ValueType::kFloat) {
  AggregateCall call{name, fn, nullptr};
  if (with_v) call.argument = std::make_unique<ColumnRef>(column, type);
  Result<AggregateDef> def = MakeAggregate(std::move(call));
  REQUIRE(def.ok());
  return std::move(def).value();
}

// n = count(), avg = avg(v), max = max(v)
std::vector<AggregateDef> Basic() {
  std::vector<AggregateDef> aggs;
  aggs.push_back(Agg("n", "count", false));
  aggs.push_back(Agg("avg", "avg"));
  aggs.push_back(Agg("max", "max"));
  return aggs;
}

WindowSpec Tumbling(Duration size) { return {WindowType::kTumbling, size, 0, 0}; }
WindowSpec Sliding(Duration size, Duration hop) { return {WindowType::kSliding, size, hop, 0}; }
WindowSpec Session(Duration gap) { return {WindowType::kSession, 0, 0, gap}; }

struct Options {
  EmitMode emit = EmitMode::kFinal;
  Duration lateness = 0;
  bool insert_only = false;
};

class Harness {
 public:
  Harness(WindowSpec window, std::vector<AggregateDef> aggs, Options options = {},
          std::vector<size_t> group_by = {0}) {
    WindowOperatorSpec spec;
    spec.window = window;
    spec.group_by = std::move(group_by);
    spec.aggregates = std::move(aggs);
    spec.emit = options.emit;
    spec.allowed_lateness = options.lateness;
    spec.insert_only_input = options.insert_only;
    REQUIRE(WindowOperator::Validate(spec, InputSchema()).ok());
    op_ = std::make_unique<WindowOperator>(std::move(spec), InputSchema());
    op_->output(WindowOperator::kResultsPort).Connect(&out_, WindowOperator::kResultsPort);
    op_->output(WindowOperator::kLatePort).Connect(&out_, WindowOperator::kLatePort);
  }

  Harness& Add(const std::string& device, Timestamp ts, Value v, Diff diff = 1) {
    op_->OnChange(0, {Value::String(device), Value::Int(ts), std::move(v)}, ts, diff);
    return *this;
  }
  Harness& Add(const std::string& device, Timestamp ts, double v, Diff diff = 1) {
    return Add(device, ts, Value::Float(v), diff);
  }
  // Everything emitted since the previous call, this Advance included.
  std::vector<std::string> Advance(Timestamp watermark) {
    const Timestamp in[] = {watermark};
    const Status status = op_->Advance(in, &output_watermark_);
    REQUIRE_MESSAGE(status.ok(), status.message());
    return Take();
  }
  std::vector<std::string> Take() { return std::exchange(out_.changes, {}); }
  Status AdvanceStatus(Timestamp watermark) {
    const Timestamp in[] = {watermark};
    return op_->Advance(in, &output_watermark_);
  }
  Timestamp output_watermark() const { return output_watermark_; }
  OperatorStats stats() const { return op_->stats(); }

 private:
  std::unique_ptr<WindowOperator> op_;
  Collector out_;
  Timestamp output_watermark_ = kMinTime;
};

using Lines = std::vector<std::string>;

}  // namespace
}  // namespace runnel

// Failed comparisons of whole outputs print the lines.
template <>
struct doctest::StringMaker<std::vector<std::string>> {
  static doctest::String convert(const std::vector<std::string>& lines) {
    std::string text = "{";
    for (const std::string& line : lines) text += "\n  " + line;
    return (text + "\n}").c_str();
  }
};

namespace runnel {
namespace {

TEST_CASE("the output schema is window bounds, group_by columns, then aggregates") {
  WindowOperatorSpec spec;
  spec.window = Tumbling(60'000);
  spec.group_by = {0};
  spec.aggregates = Basic();
  const Schema schema = WindowOperator::OutputSchema(spec, InputSchema());
  std::string text;
  for (const Column& c : schema.columns())
    text += c.name + ":" + std::string(TypeName(c.type)) + " ";
  CHECK(text == "window_start:int window_end:int device:string n:int avg:float max:float ");
}

TEST_CASE("Validate rejects bad sizes and clashing output names") {
  WindowOperatorSpec spec;
  spec.window = Tumbling(0);
  CHECK(WindowOperator::Validate(spec, InputSchema()).message() ==
        "a tumbling window needs a size > 0, e.g. \"1m\"");
  spec.window = Sliding(10, 0);
  CHECK(!WindowOperator::Validate(spec, InputSchema()).ok());
  spec.window = Session(0);
  CHECK(!WindowOperator::Validate(spec, InputSchema()).ok());
  spec.window = Tumbling(10);
  spec.group_by = {7};
  CHECK(!WindowOperator::Validate(spec, InputSchema()).ok());
  spec.group_by = {0};
  spec.aggregates.push_back(Agg("device", "max"));
  CHECK(WindowOperator::Validate(spec, InputSchema()).message() ==
        "output column \"device\" appears twice: give the aggregate another name");
}

TEST_CASE("tumbling windows emit one row per window and group when the watermark passes the end") {
  Harness h(Tumbling(60'000), Basic());
  h.Add("b", 30'000, 10).Add("a", 1'000, 1).Add("a", 59'999, 3).Add("a", 60'000, 5).Add("a", -1, 7);
  CHECK(h.stats().state_entries == 4);
  // Epoch-aligned even before 1970: -1 lies in [-60000, 0).
  CHECK(h.Advance(59'999) == Lines{"+1 @-1 -60000,0,\"a\",1,7,7"});
  CHECK(h.output_watermark() == 59'999);
  CHECK(h.stats().state_entries == 3);
  CHECK(h.Advance(60'000) ==
        Lines{"+1 @59999 0,60000,\"a\",2,2,3", "+1 @59999 0,60000,\"b\",1,10,10"});
  CHECK(h.Advance(kMaxTime) == Lines{"+1 @119999 60000,120000,\"a\",1,5,5"});
  CHECK(h.output_watermark() == kMaxTime);
  CHECK(h.stats().state_entries == 0);
}

TEST_CASE("emit updates retracts and replaces a window's row at each step it changes") {
  std::vector<AggregateDef> aggs = Basic();
  Harness h(Tumbling(100), std::move(aggs), {.emit = EmitMode::kUpdates});
  h.Add("a", 10, 1);
  CHECK(h.Advance(0) == Lines{"+1 @99 0,100,\"a\",1,1,1"});
  h.Add("a", 20, 3).Add("b", 30, 4);
  CHECK(h.Advance(5) ==
        Lines{"-1 @99 0,100,\"a\",1,1,1", "+1 @99 0,100,\"a\",2,2,3", "+1 @99 0,100,\"b\",1,4,4"});
  CHECK(h.Advance(6).empty());
  // Closing changes nothing in updates mode; the state goes at the horizon.
  CHECK(h.Advance(100).empty());
  CHECK(h.stats().state_entries == 0);
}

TEST_CASE("emit updates emits nothing when a change leaves the row equal") {
  std::vector<AggregateDef> aggs;
  aggs.push_back(Agg("max", "max"));
  Harness h(Tumbling(100), std::move(aggs), {.emit = EmitMode::kUpdates});
  h.Add("a", 10, 5);
  CHECK(h.Advance(0) == Lines{"+1 @99 0,100,\"a\",5"});
  h.Add("a", 11, 2);
  CHECK(h.Advance(1).empty());
}

TEST_CASE("sliding windows count a record in every window containing it") {
  Harness h(Sliding(10'000, 5'000), Basic());
  h.Add("a", 7'000, 2).Add("a", 12'000, 4);
  CHECK(h.stats().state_entries == 3);
  CHECK(h.Advance(kMaxTime) == Lines{"+1 @9999 0,10000,\"a\",1,2,2",
                                     "+1 @14999 5000,15000,\"a\",2,3,4",
                                     "+1 @19999 10000,20000,\"a\",1,4,4"});
}

TEST_CASE("sliding windows with a hop above the size skip records between windows") {
  Harness h(Sliding(2'000, 5'000), Basic());
  h.Add("a", 3'000, 1).Add("a", 5'500, 2).Add("a", -4'000, 3);
  CHECK(h.Advance(kMaxTime) ==
        Lines{"+1 @-3001 -5000,-3000,\"a\",1,3,3", "+1 @6999 5000,7000,\"a\",1,2,2"});
  CHECK(h.stats().late_records == 0);
}

TEST_CASE("a sliding record goes to its live windows even when its earliest one has expired") {
  Harness h(Sliding(10'000, 5'000), Basic());
  h.Add("a", 1'000, 1);
  CHECK(h.Advance(10'000) ==
        Lines{"+1 @4999 -5000,5000,\"a\",1,1,1", "+1 @9999 0,10000,\"a\",1,1,1"});
  h.Add("a", 7'000, 3);  // [0, 10000) has expired, [5000, 15000) is live
  CHECK(h.Take().empty());
  CHECK(h.Advance(kMaxTime) == Lines{"+1 @14999 5000,15000,\"a\",1,3,3"});
  CHECK(h.stats().late_records == 0);
}

TEST_CASE("allowed lateness corrects a closed window, then late records go to the late port") {
  Harness h(Tumbling(60'000), Basic(), {.lateness = 30'000});
  h.Add("a", 1'000, 1);
  CHECK(h.Advance(60'000) == Lines{"+1 @59999 0,60000,\"a\",1,1,1"});
  CHECK(h.output_watermark() == 30'000);
  h.Add("a", 2'000, 5);
  CHECK(h.Advance(70'000) ==
        Lines{"-1 @59999 0,60000,\"a\",1,1,1", "+1 @59999 0,60000,\"a\",2,3,5"});
  CHECK(h.stats().state_entries == 1);
  CHECK(h.Advance(90'000).empty());
  CHECK(h.stats().state_entries == 0);
  h.Add("a", 3'000, 9).Add("a", 2'000, 5, -1);
  CHECK(h.Take() == Lines{"late +1 @3000 \"a\",3000,9", "late -1 @2000 \"a\",2000,5"});
  CHECK(h.stats().late_records == 2);
  CHECK(h.Advance(100'000).empty());
}

TEST_CASE("without lateness a record for a closed window is late") {
  Harness h(Tumbling(60'000), Basic(), {.emit = EmitMode::kUpdates});
  h.Add("a", 1'000, 1);
  h.Advance(60'000);
  CHECK(h.stats().state_entries == 0);
  h.Add("a", 59'999, 4).Add("a", 60'000, 2);
  CHECK(h.Take() == Lines{"late +1 @59999 \"a\",59999,4"});
  CHECK(h.Advance(60'001) == Lines{"+1 @119999 60000,120000,\"a\",1,2,2"});
  CHECK(h.stats().late_records == 1);
}

TEST_CASE("rows of one step come out sorted by end, start and group key") {
  std::vector<AggregateDef> aggs;
  aggs.push_back(Agg("n", "count", false));
  Harness h(Tumbling(10), std::move(aggs));
  // Enough groups that the operator sorts by precomputed ranks.
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back("d" + std::to_string(100 + (i * 37) % 40));
  for (const std::string& name : names) h.Add(name, 15, 0.0);
  for (const std::string& name : names) h.Add(name, 5, 0.0);
  h.Add("c", 5, 0.0).Add("a", 5, 0.0);
  const Lines out = h.Advance(kMaxTime);
  REQUIRE(out.size() == 82);
  CHECK(out[0] == "+1 @9 0,10,\"a\",1");
  CHECK(out[1] == "+1 @9 0,10,\"c\",1");
  CHECK(out[2] == "+1 @9 0,10,\"d100\",1");
  CHECK(out[41] == "+1 @9 0,10,\"d139\",1");
  CHECK(out[42] == "+1 @19 10,20,\"d100\",1");
  CHECK(std::is_sorted(out.begin() + 2, out.begin() + 42));
  CHECK(std::is_sorted(out.begin() + 42, out.end()));
}

TEST_CASE("windows without group_by form one group") {
  Harness h(Tumbling(10), Basic(), {}, {});
  h.Add("a", 1, 1).Add("b", 2, 3);
  CHECK(h.Advance(kMaxTime) == Lines{"+1 @9 0,10,2,2,3"});
}

TEST_CASE("retractions shrink a window, and a window retracted to nothing retracts its row") {
  Harness h(Tumbling(100), Basic(), {.emit = EmitMode::kUpdates});
  h.Add("a", 10, 1).Add("a", 20, 7);
  CHECK(h.Advance(0) == Lines{"+1 @99 0,100,\"a\",2,4,7"});
  h.Add("a", 20, 7, -1);
  CHECK(h.Advance(1) == Lines{"-1 @99 0,100,\"a\",2,4,7", "+1 @99 0,100,\"a\",1,1,1"});
  h.Add("a", 10, 1, -1);
  CHECK(h.Advance(2) == Lines{"-1 @99 0,100,\"a\",1,1,1"});
  CHECK(h.stats().state_entries == 0);
}

TEST_CASE("an insert-only window refuses a retraction at the next Advance") {
  for (WindowSpec w : {Tumbling(100), Session(10)}) {
    Harness h(w, Basic(), {.insert_only = true});
    h.Add("a", 10, 1).Add("a", 10, 1, -1);
    const Status status = h.AdvanceStatus(0);
    CHECK(status.code() == StatusCode::kRuntime);
    CHECK(status.message().find("insert_only_input") != std::string::npos);
    CHECK(h.AdvanceStatus(1).ok());
  }
  // count/sum/avg/var/median undo a record without keeping more, insert-only or not.
  std::vector<AggregateDef> invertible;
  invertible.push_back(Agg("n", "count", false));
  invertible.push_back(Agg("avg", "avg"));
  Harness h(Tumbling(100), std::move(invertible), {.insert_only = true});
  h.Add("a", 10, 1).Add("a", 20, 3).Add("a", 10, 1, -1);
  CHECK(h.Advance(kMaxTime) == Lines{"+1 @99 0,100,\"a\",1,3"});
}

TEST_CASE("a session spans records closer than the gap and closes at last + gap") {
  Harness h(Session(10), Basic());
  h.Add("a", 100, 1).Add("a", 105, 3).Add("b", 100, 5).Add("a", 115, 9);
  CHECK(h.stats().state_entries == 3);
  CHECK(h.Advance(109).empty());
  CHECK(h.output_watermark() == 99);
  CHECK(h.Advance(110) == Lines{"+1 @100 100,100,\"b\",1,5,5"});
  CHECK(h.Advance(114).empty());
  CHECK(h.Advance(115) == Lines{"+1 @105 100,105,\"a\",2,2,3"});
  CHECK(h.Advance(kMaxTime) == Lines{"+1 @115 115,115,\"a\",1,9,9"});
  CHECK(h.stats().state_entries == 0);
}

TEST_CASE("a record bridging two sessions merges them and retracts both rows in updates mode") {
  for (bool insert_only : {false, true}) {
    Harness h(Session(11), Basic(), {.emit = EmitMode::kUpdates, .insert_only = insert_only});
    h.Add("a", 100, 1);
    CHECK(h.Advance(0) == Lines{"+1 @100 100,100,\"a\",1,1,1"});
    h.Add("a", 120, 3);
    CHECK(h.Advance(1) == Lines{"+1 @120 120,120,\"a\",1,3,3"});
    h.Add("a", 110, 8);
    // Each row sorts by its own (end, start, key).
    CHECK(h.Advance(2) == Lines{"-1 @100 100,100,\"a\",1,1,1", "+1 @120 100,120,\"a\",3,4,8",
                                "-1 @120 120,120,\"a\",1,3,3"});
    CHECK(h.stats().state_entries == 1);
    CHECK(h.Advance(kMaxTime).empty());
  }
}

TEST_CASE("retracting the record that bridges a session splits it") {
  Harness h(Session(11), Basic(), {.emit = EmitMode::kUpdates});
  h.Add("a", 100, 1).Add("a", 110, 8).Add("a", 120, 3);
  CHECK(h.Advance(0) == Lines{"+1 @120 100,120,\"a\",3,4,8"});
  h.Add("a", 110, 8, -1);
  CHECK(h.stats().state_entries == 2);
  CHECK(h.Advance(1) == Lines{"+1 @100 100,100,\"a\",1,1,1", "-1 @120 100,120,\"a\",3,4,8",
                              "+1 @120 120,120,\"a\",1,3,3"});
  h.Add("a", 120, 3, -1);
  CHECK(h.Advance(2) == Lines{"-1 @120 120,120,\"a\",1,3,3"});
  CHECK(h.stats().state_entries == 1);
  // A retraction of something the session never held changes nothing.
  h.Add("a", 100, 42, -1);
  CHECK(h.Advance(3).empty());
}

TEST_CASE("allowed lateness lets a closed session grow, re-closing it later") {
  Harness h(Session(10), Basic(), {.lateness = 20});
  h.Add("a", 100, 1);
  CHECK(h.Advance(110) == Lines{"+1 @100 100,100,\"a\",1,1,1"});
  CHECK(h.output_watermark() == 80);
  h.Add("a", 105, 3);  // reopens: closes again at 115
  CHECK(h.Advance(111).empty());
  CHECK(h.Advance(115) == Lines{"-1 @100 100,100,\"a\",1,1,1", "+1 @105 100,105,\"a\",2,2,3"});
  h.Add("a", 101, 2);  // closed but within lateness: corrected at once
  CHECK(h.Advance(116) == Lines{"-1 @105 100,105,\"a\",2,2,3", "+1 @105 100,105,\"a\",3,2,3"});
  CHECK(h.Advance(135).empty());
  CHECK(h.stats().state_entries == 0);
  h.Add("a", 104, 2);
  CHECK(h.Take() == Lines{"late +1 @104 \"a\",104,2"});
  CHECK(h.stats().late_records == 1);
}

TEST_CASE("the session output watermark waits for rows a grown session may still retract") {
  Harness h(Session(10), Basic(), {.lateness = 20});
  h.Add("a", 100, 1);
  CHECK(h.Advance(110) == Lines{"+1 @100 100,100,\"a\",1,1,1"});
  // Late records keep reopening the session, each within lateness of the watermark.
  h.Add("a", 108, 1);
  CHECK(h.Advance(117).empty());
  h.Add("a", 116, 1);
  CHECK(h.Advance(125).empty());
  h.Add("a", 124, 1);
  CHECK(h.Advance(133).empty());
  // watermark - gap - lateness is 103, but the row at 100 is still to be retracted.
  CHECK(h.output_watermark() == 100);
  CHECK(h.Advance(134) == Lines{"-1 @100 100,100,\"a\",1,1,1", "+1 @124 100,124,\"a\",4,1,1"});
  CHECK(h.output_watermark() == 104);
}

TEST_CASE("a static run emits every window once and no retraction, in either emit mode") {
  for (EmitMode emit : {EmitMode::kFinal, EmitMode::kUpdates}) {
    for (WindowSpec w : {Tumbling(10), Sliding(10, 3), Session(4)}) {
      Harness h(w, Basic(), {.emit = emit, .lateness = 5});
      for (int i = 0; i < 50; ++i) h.Add(i % 3 ? "a" : "b", (i * 7) % 60, i * 0.5);
      const Lines out = h.Advance(kMaxTime);
      CHECK(!out.empty());
      for (const std::string& line : out) CHECK(line.rfind("+1 ", 0) == 0);
      CHECK(h.stats().state_entries == 0);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Property: whatever the arrival order (bounded disorder, nothing late), the consolidated output
// equals the output of the static run over the consolidated input.

struct Change {
  std::string device;
  Timestamp ts;
  Value v;
  Diff diff;
  double arrival;
};

std::vector<AggregateDef> Everything() {
  std::vector<AggregateDef> aggs;
  aggs.push_back(Agg("n", "count", false));
  for (const char* fn :
       {"count", "sum", "avg", "min", "max", "first", "last", "var", "stddev", "median"}) {
    aggs.push_back(Agg(fn, fn));
  }
  aggs.push_back(Agg("min_device", "min", true, 0, ValueType::kString));
  return aggs;
}

using Consolidated = std::map<std::string, Diff>;

Consolidated Consolidate(const std::vector<Collector::Change>& rows) {
  Consolidated out;
  for (const Collector::Change& c : rows) {
    std::string key = "@" + std::to_string(c.time);
    for (const Value& v : c.row) key += " " + v.DebugString();
    if ((out[key] += c.diff) == 0) out.erase(key);
  }
  return out;
}

void RunProperty(WindowSpec window, Options options, bool with_retractions, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const Duration max_delay = 1 + static_cast<Duration>(rng() % 20);
  // A record arrives at most `reach` after its time: W stays below t + lateness, so it is
  // never late, yet with lateness it may land in a window that already closed.
  const Duration reach = max_delay + std::max<Duration>(options.lateness - 1, 0);
  std::vector<Change> changes;
  std::vector<Change> survivors;
  const char* devices[] = {"a", "b", "c"};
  for (const char* device : devices) {
    // Distinct times per device: ties in time would make first/last depend on arrival order.
    std::vector<Timestamp> times;
    for (Timestamp t = 0; t < 150; ++t) {
      if (rng() % 4 == 0) times.push_back(t - 20);
    }
    for (Timestamp t : times) {
      // Quarter steps keep sums exact, so results do not depend on the order of additions.
      const Value v =
          rng() % 8 == 0 ? Value() : Value::Float(static_cast<double>(rng() % 400) / 4 - 50);
      const double arrival = static_cast<double>(t) + static_cast<double>(rng() % (reach + 1));
      changes.push_back({device, t, v, 1, arrival});
      if (with_retractions && rng() % 4 == 0) {
        // Retracted later, yet never late: it too arrives by t + reach.
        const double later = arrival + static_cast<double>(rng() % 1000) / 1000 *
                                           (static_cast<double>(t + reach) - arrival);
        changes.push_back({device, t, v, -1, later + 1e-6});
      } else {
        survivors.push_back({device, t, v, 1, 0});
      }
    }
  }
  std::stable_sort(changes.begin(), changes.end(),
                   [](const Change& a, const Change& b) { return a.arrival < b.arrival; });

  auto make = [&](Options o) {
    WindowOperatorSpec spec;
    spec.window = window;
    spec.group_by = {0};
    spec.aggregates = Everything();
    spec.emit = o.emit;
    spec.allowed_lateness = o.lateness;
    spec.insert_only_input = o.insert_only;
    return std::make_unique<WindowOperator>(std::move(spec), InputSchema());
  };

  // The static run: the consolidated input in one step, in a shuffled order, then +inf.
  std::shuffle(survivors.begin(), survivors.end(), rng);
  Collector static_out;
  auto static_op = make(options);
  static_op->output(0).Connect(&static_out, 0);
  static_op->output(1).Connect(&static_out, 1);
  for (const Change& c : survivors) {
    static_op->OnChange(0, {Value::String(c.device), Value::Int(c.ts), c.v}, c.ts, c.diff);
  }
  Timestamp wm = kMinTime;
  const Timestamp inf[] = {kMaxTime};
  REQUIRE(static_op->Advance(inf, &wm).ok());
  for (const Collector::Change& c : static_out.rows) REQUIRE(c.diff == 1);

  // The streaming run.
  Collector out;
  auto op = make(options);
  op->output(0).Connect(&out, 0);
  op->output(1).Connect(&out, 1);
  Timestamp max_seen = kMinTime, reported = kMinTime;
  size_t checked = 0;
  for (size_t i = 0; i < changes.size();) {
    const size_t step = 1 + rng() % 8;
    for (size_t j = 0; j < step && i < changes.size(); ++j, ++i) {
      const Change& c = changes[i];
      max_seen = std::max(max_seen, c.ts);
      op->OnChange(0, {Value::String(c.device), Value::Int(c.ts), c.v}, c.ts, c.diff);
    }
    const Timestamp in[] = {max_seen - max_delay};
    Timestamp next = kMinTime;
    REQUIRE(op->Advance(in, &next).ok());
    // Rows emitted in this step are not earlier than the watermark reported before it.
    for (; checked < out.rows.size(); ++checked) REQUIRE(out.rows[checked].time >= reported);
    REQUIRE(next >= reported);
    reported = next;
  }
  REQUIRE(op->Advance(inf, &wm).ok());
  for (; checked < out.rows.size(); ++checked) REQUIRE(out.rows[checked].time >= reported);

  CHECK(op->stats().late_records == 0);
  CHECK(op->stats().state_entries == 0);
  if (options.emit == EmitMode::kFinal && options.lateness == 0 && !with_retractions) {
    for (const Collector::Change& c : out.rows) CHECK(c.diff == 1);
  }
  const Consolidated streamed = Consolidate(out.rows);
  const Consolidated expected = Consolidate(static_out.rows);
  CHECK(streamed.size() == expected.size());
  auto a = streamed.begin();
  auto b = expected.begin();
  for (; a != streamed.end() && b != expected.end(); ++a, ++b) {
    CHECK(a->first == b->first);
    CHECK(a->second == b->second);
  }
}

TEST_CASE("property: streaming in any bounded-disorder order consolidates to the static run") {
  const WindowSpec windows[] = {Tumbling(10), Sliding(10, 4), Sliding(4, 6), Session(5)};
  uint64_t seed = 1;
  for (const WindowSpec& window : windows) {
    for (EmitMode emit : {EmitMode::kFinal, EmitMode::kUpdates}) {
      for (Duration lateness : {0, 7}) {
        for (int variant = 0; variant < 3; ++variant) {
          // 0: insert-only input, compact state; 1: retractable state, no retraction;
          // 2: retractable state with retractions.
          const Options options{emit, lateness, variant == 0};
          for (int round = 0; round < 8; ++round, ++seed) {
            CAPTURE(seed);
            CAPTURE(variant);
            RunProperty(window, options, variant == 2, seed);
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace runnel
