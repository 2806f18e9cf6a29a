#include "operators/dedup_operator.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/operators/change_collector.h"

namespace runnel {
namespace {

using testing::Collector;
using testing::Consolidate;
using testing::HasRetraction;
using testing::Show;

// Input: k (string), t (int, the event time), v (int).
Row D(const char* k, int64_t t, int64_t v) {
  return {k ? Value::String(k) : Value::Null(), Value::Int(t), Value::Int(v)};
}

Schema InputSchema() {
  return Schema({{"k", ValueType::kString}, {"t", ValueType::kInt}, {"v", ValueType::kInt}});
}

DedupOperatorSpec Spec(Duration within, EmitMode emit = EmitMode::kFinal, Duration lateness = 0) {
  DedupOperatorSpec spec;
  spec.by = {0};
  spec.within = within;
  spec.emit = emit;
  spec.allowed_lateness = lateness;
  return spec;
}

class Run {
 public:
  explicit Run(DedupOperatorSpec spec) : op_(std::move(spec), InputSchema()) {
    op_.output(DedupOperator::kResultsPort).Connect(&results_, 0);
    op_.output(DedupOperator::kLatePort).Connect(&late_, 0);
  }
  void Add(Row row, Diff diff = 1) {
    const Timestamp t = row[1].AsInt();
    op_.OnChange(0, row, t, diff);
  }
  Timestamp Advance(Timestamp wm) {
    const std::vector<Timestamp> wms{wm};
    Timestamp out = kMinTime;
    REQUIRE(op_.Advance(wms, &out).ok());
    for (size_t i = checked_; i < results_.changes.size(); ++i) {
      CHECK_MESSAGE(results_.changes[i].time >= out_wm_, "emitted behind the watermark");
    }
    checked_ = results_.changes.size();
    CHECK(out >= out_wm_);
    out_wm_ = out;
    return out;
  }
  std::vector<std::string> Take() {
    std::vector<std::string> out;
    for (size_t i = taken_; i < results_.changes.size(); ++i) {
      out.push_back(Show(results_.changes[i]));
    }
    taken_ = results_.changes.size();
    return out;
  }
  const std::vector<Collector::Change>& results() const { return results_.changes; }
  const std::vector<Collector::Change>& late() const { return late_.changes; }
  DedupOperator& op() { return op_; }

 private:
  DedupOperator op_;
  Collector results_, late_;
  size_t taken_ = 0, checked_ = 0;
  Timestamp out_wm_ = kMinTime;
};

// Everything in one step, then +inf; in the given order, for both emit modes. Returns the
// sorted result rows and checks that they do not depend on the mode, and that nothing is
// retracted or left behind.
std::vector<std::string> Static(Duration within, const std::vector<Row>& rows,
                                uint64_t* duplicates = nullptr) {
  std::vector<std::string> first;
  for (EmitMode emit : {EmitMode::kFinal, EmitMode::kUpdates}) {
    Run run(Spec(within, emit));
    for (const Row& r : rows) run.Add(r);
    CHECK(run.Advance(kMaxTime) == kMaxTime);
    CHECK_FALSE(HasRetraction(run.results()));
    CHECK(run.op().stats().state_entries == 0);
    CHECK(run.op().stats().duplicates == rows.size() - run.results().size());
    if (duplicates) *duplicates = run.op().stats().duplicates;
    std::vector<std::string> out = run.Take();
    std::sort(out.begin(), out.end());
    if (first.empty()) {
      first = out;
    } else {
      CHECK(out == first);
    }
  }
  return first;
}

TEST_CASE("dedup: validation rejects a non-positive within and unknown columns") {
  CHECK(DedupOperator::Validate(Spec(1), InputSchema()).ok());
  CHECK_FALSE(DedupOperator::Validate(Spec(0), InputSchema()).ok());
  DedupOperatorSpec spec = Spec(5);
  spec.by = {3};
  CHECK_FALSE(DedupOperator::Validate(spec, InputSchema()).ok());
}

TEST_CASE("dedup: a kept record swallows the records less than `within` after it") {
  // within 10: 0 keeps [0, 10); 10 is the first record after it and keeps [10, 20); etc.
  std::vector<Row> rows;
  for (int64_t t : {0, 5, 9, 10, 12, 20, 25, 29, 30}) rows.push_back(D("a", t, t));
  const std::vector<std::string> expected = {"+1 @0 \"a\" 0 0", "+1 @10 \"a\" 10 10",
                                             "+1 @20 \"a\" 20 20", "+1 @30 \"a\" 30 30"};
  uint64_t duplicates = 0;
  CHECK(Static(10, rows, &duplicates) == expected);
  CHECK(duplicates == 5);
  // The kept set is defined in event-time order, so the arrival order does not matter.
  std::reverse(rows.begin(), rows.end());
  CHECK(Static(10, rows) == expected);
}

TEST_CASE("dedup: among records at the same time the first to arrive is kept") {
  CHECK(Static(1, {D("a", 5, 1), D("a", 5, 2), D("a", 6, 3), D("a", 5, 4)}) ==
        std::vector<std::string>{"+1 @5 \"a\" 5 1", "+1 @6 \"a\" 6 3"});
}

TEST_CASE("dedup: keys are independent; a null key is a key; no `by` is one key") {
  CHECK(Static(10, {D("a", 0, 1), D("b", 1, 2), D(nullptr, 2, 3), D("a", 3, 4), D(nullptr, 4, 5),
                    D("b", 11, 6)}) ==
        std::vector<std::string>{"+1 @0 \"a\" 0 1", "+1 @1 \"b\" 1 2", "+1 @11 \"b\" 11 6",
                                 "+1 @2 null 2 3"});
  DedupOperatorSpec spec = Spec(10, EmitMode::kUpdates);
  spec.by.clear();
  Run run(std::move(spec));
  run.Add(D("a", 0, 1));
  run.Add(D("b", 1, 2));
  run.Advance(kMaxTime);
  CHECK(run.Take() == std::vector<std::string>{"+1 @0 \"a\" 0 1"});
}

TEST_CASE("dedup: updates mode: an earlier record that arrives later takes over, step by step") {
  Run run(Spec(10, EmitMode::kUpdates));
  run.Add(D("a", 10, 1));
  run.Add(D("a", 19, 2));
  run.Add(D("a", 21, 3));
  CHECK(run.Advance(0) == 0);
  CHECK(run.Take() == std::vector<std::string>{"+1 @10 \"a\" 10 1", "+1 @21 \"a\" 21 3"});
  // 2 keeps [2, 12): 10 becomes a duplicate, so 19 starts a window, which swallows 21.
  run.Add(D("a", 2, 4));
  run.Advance(0);
  CHECK(run.Take() == std::vector<std::string>{"+1 @2 \"a\" 2 4", "-1 @10 \"a\" 10 1",
                                               "+1 @19 \"a\" 19 2", "-1 @21 \"a\" 21 3"});
  // Retracting the kept record at 2 restores the earlier result.
  run.Add(D("a", 2, 4), -1);
  run.Advance(0);
  CHECK(run.Take() == std::vector<std::string>{"-1 @2 \"a\" 2 4", "+1 @10 \"a\" 10 1",
                                               "-1 @19 \"a\" 19 2", "+1 @21 \"a\" 21 3"});
  // A duplicate arriving changes nothing and emits nothing.
  run.Add(D("a", 12, 5));
  run.Advance(0);
  CHECK(run.Take().empty());
  CHECK(run.op().stats().state_entries == 4);
}

TEST_CASE("dedup: final mode emits a kept record once the watermark passes its time") {
  Run run(Spec(10));
  run.Add(D("a", 10, 1));
  run.Add(D("a", 15, 2));
  CHECK(run.Advance(10) == 10);
  CHECK(run.Take().empty());  // a record at 10 (or a retraction) could still come
  run.Add(D("a", 10, 3));     // same time, arrives later: a duplicate
  CHECK(run.Advance(11) == 11);
  CHECK(run.Take() == std::vector<std::string>{"+1 @10 \"a\" 10 1"});
  run.Add(D("a", 20, 4));
  run.Advance(100);
  CHECK(run.Take() == std::vector<std::string>{"+1 @20 \"a\" 20 4"});
  CHECK(run.op().stats().duplicates == 2);
  CHECK(run.op().stats().state_entries == 0);  // 20's window ends at 30 <= 100
}

TEST_CASE("dedup: late records go to port 1; lateness lets a final result be corrected") {
  Run run(Spec(10, EmitMode::kFinal, 5));
  run.Add(D("a", 20, 1));
  CHECK(run.Advance(30) == 25);
  CHECK(run.Take() == std::vector<std::string>{"+1 @20 \"a\" 20 1"});
  run.Add(D("a", 24, 2));  // late: below 30 - 5
  run.Add(D("a", 25, 3));  // behind the watermark, within the lateness: a duplicate of 20
  run.Advance(30);
  CHECK(run.Take().empty());
  CHECK(run.op().stats().late_records == 1);
  CHECK(run.late().size() == 1);
  CHECK(Show(run.late()[0]) == "+1 @24 \"a\" 24 2");
  // The kept record at 20 is still held (it anchors [20, 30)); 25 is a duplicate.
  run.Advance(40);
  CHECK(run.op().stats().duplicates == 1);
}

TEST_CASE("dedup: lateness: an allowed late record retracts the final row it dominates") {
  Run run(Spec(10, EmitMode::kFinal, 10));
  run.Add(D("a", 20, 1));
  run.Advance(25);
  CHECK(run.Take() == std::vector<std::string>{"+1 @20 \"a\" 20 1"});
  run.Add(D("a", 16, 2));
  CHECK(run.Advance(25) == 15);
  CHECK(run.Take() == std::vector<std::string>{"+1 @16 \"a\" 16 2", "-1 @20 \"a\" 20 1"});
}

TEST_CASE("dedup: state stays bounded over a long stream") {
  for (EmitMode emit : {EmitMode::kFinal, EmitMode::kUpdates}) {
    Run run(Spec(25, emit, 10));
    uint64_t max_state = 0;
    for (int64_t step = 0; step < 5000; ++step) {
      for (const char* key : {"a", "b", "c"}) run.Add(D(key, step * 10, step));
      run.Add(D("a", step * 10 + 3, -step));  // always a duplicate
      run.Advance(step * 10 - 20);
      max_state = std::max(max_state, run.op().stats().state_entries);
    }
    CHECK(max_state < 40);
    run.Advance(kMaxTime);
    CHECK(run.op().stats().state_entries == 0);
    // Kept: every third step per key (0, 30, 60, ...); all others are duplicates.
    CHECK(Consolidate(run.results()).size() == 3 * 1667);
    CHECK(run.op().stats().duplicates == 4 * 5000 - 3 * 1667);
  }
}

TEST_CASE("dedup: many keys come and go: each is forgotten when idle and starts afresh") {
  Run run(Spec(10, EmitMode::kUpdates));
  std::mt19937_64 rng(99);
  std::vector<Row> all;
  for (int64_t step = 0; step < 60; ++step) {
    // A random third of 600 devices report twice (the second a duplicate) in each step.
    for (int device = 0; device < 600; ++device) {
      if (rng() % 3 != 0) continue;
      const std::string key = "dev" + std::to_string(device);
      for (int64_t dt : {0, 4}) {
        Row row = D(key.c_str(), step * 100 + dt, device);
        all.push_back(row);
        run.Add(row);
      }
    }
    run.Advance(step * 100 + 50);
    CHECK(run.op().stats().state_entries <= 2 * 600);
  }
  run.Advance(kMaxTime);
  CHECK(run.op().stats().state_entries == 0);
  CHECK(run.op().stats().duplicates == all.size() / 2);
  std::vector<std::string> expected;
  for (size_t i = 0; i < all.size(); i += 2) {
    expected.push_back("1 @" + std::to_string(all[i][1].AsInt()) + " " + Show(all[i]));
  }
  std::sort(expected.begin(), expected.end());
  CHECK(Consolidate(run.results()) == expected);
}

TEST_CASE("dedup: several by columns form one key") {
  DedupOperatorSpec spec = Spec(10, EmitMode::kUpdates);
  spec.by = {0, 2};
  Run run(std::move(spec));
  run.Add(D("a", 0, 1));
  run.Add(D("a", 1, 2));
  run.Add(D("a", 2, 1));
  run.Advance(kMaxTime);
  CHECK(run.Take() == std::vector<std::string>{"+1 @0 \"a\" 0 1", "+1 @1 \"a\" 1 2"});
}

// --- Randomized: any arrival order converges to the static result -------------------------

std::vector<std::string> BruteForce(Duration within, const std::vector<Row>& rows) {
  // Per key, in (time, arrival) order: kept iff at least `within` after the last kept one.
  std::vector<size_t> order(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return rows[a][1].AsInt() < rows[b][1].AsInt(); });
  std::map<std::string, int64_t> last_kept;
  std::vector<std::string> out;
  for (size_t i : order) {
    const std::string key = rows[i][0].DebugString();
    const int64_t t = rows[i][1].AsInt();
    auto it = last_kept.find(key);
    if (it != last_kept.end() && t - it->second < within) continue;
    last_kept[key] = t;
    out.push_back("1 @" + std::to_string(t) + " " + Show(rows[i]));
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("dedup: random arrival orders converge to the static result (and to the brute force)") {
  std::mt19937_64 rng(4711);
  const auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const char* keys[] = {"a", "b", nullptr};
  int runs = 0;
  for (Duration within : {1, 3, 10}) {
    for (EmitMode emit : {EmitMode::kFinal, EmitMode::kUpdates}) {
      for (Duration lateness : {0, 6}) {
        for (int seed = 0; seed < 12; ++seed) {
          CAPTURE(within);
          CAPTURE(static_cast<int>(emit));
          CAPTURE(lateness);
          CAPTURE(seed);
          ++runs;
          struct Event {
            Row row;
            Timestamp time;
            Diff diff;
            double arrival;
          };
          std::vector<Row> rows;
          std::vector<Event> events;
          const Duration max_delay = 4;
          const Duration disorder = max_delay + lateness;
          const int n = static_cast<int>(uniform(10, 150));
          for (int i = 0; i < n; ++i) {
            const int64_t t = uniform(0, 80);
            Row row = D(keys[uniform(0, 2)], t, i);
            const double a1 = static_cast<double>(t + uniform(0, disorder));
            if (uniform(0, 9) == 0) {  // a phantom: inserted, then retracted
              events.push_back({row, t, 1, a1});
              events.push_back({row, t, -1, a1 + 0.5});
              continue;
            }
            rows.push_back(row);
            events.push_back({row, t, 1, a1});
          }
          // Records with the same key and time keep their relative order (it breaks ties).
          std::map<std::pair<std::string, int64_t>, std::vector<size_t>> groups;
          for (size_t i = 0; i < events.size(); ++i) {
            if (events[i].diff > 0)
              groups[{events[i].row[0].DebugString(), events[i].time}].push_back(i);
          }
          for (auto& [_, members] : groups) {
            std::vector<double> arrivals;
            for (size_t i : members) arrivals.push_back(events[i].arrival);
            std::sort(arrivals.begin(), arrivals.end());
            for (size_t j = 0; j < members.size(); ++j) events[members[j]].arrival = arrivals[j];
          }
          std::stable_sort(events.begin(), events.end(),
                           [](const Event& a, const Event& b) { return a.arrival < b.arrival; });

          Run run(Spec(within, emit, lateness));
          Timestamp max_time = kMinTime;
          bool phantom = false;
          size_t i = 0;
          while (i < events.size()) {
            const size_t batch = static_cast<size_t>(uniform(1, 8));
            for (size_t j = 0; j < batch && i < events.size(); ++j, ++i) {
              run.Add(events[i].row, events[i].diff);
              max_time = std::max(max_time, events[i].time);
              if (events[i].diff < 0) phantom = true;
            }
            run.Advance(max_time == kMinTime ? kMinTime : max_time - max_delay);
          }
          run.Advance(kMaxTime);
          CHECK(run.op().stats().late_records == 0);
          CHECK(run.op().stats().state_entries == 0);
          const std::vector<std::string> expected = BruteForce(within, rows);
          CHECK(Consolidate(run.results()) == expected);
          // Phantoms are retracted before their status is final: never counted.
          CHECK(run.op().stats().duplicates == rows.size() - expected.size());
          if (emit == EmitMode::kFinal && lateness == 0 && !phantom) {
            CHECK_FALSE(HasRetraction(run.results()));
          }
          std::vector<std::string> static_rows = Static(within, rows);
          for (std::string& row : static_rows) row = row.substr(1);
          CHECK(static_rows == expected);
        }
      }
    }
  }
  CHECK(runs == 144);
}

}  // namespace
}  // namespace runnel
