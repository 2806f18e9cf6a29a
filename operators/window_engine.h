// WindowEngine: the machinery behind WindowOperator, one implementation for the fixed windows
// (tumbling, sliding: window_fixed.cc) and one for sessions (window_session.cc). The base keeps
// what both share: group interning, argument evaluation, the late port, the rows emitted and
// still open to correction, and the deterministic output order.
// Threading: engine thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "operators/aggregate_state.h"
#include "operators/window_operator.h"
#include "operators/window_storage.h"
#include "runtime/operator.h"

namespace runnel {

class WindowEngine {
 public:
  WindowEngine(WindowOperatorSpec spec, Output* results, Output* late);
  virtual ~WindowEngine();
  WindowEngine(const WindowEngine&) = delete;
  WindowEngine& operator=(const WindowEngine&) = delete;

  virtual void OnChange(const Row& row, Timestamp time, Diff diff) = 0;
  // `watermark` is the input watermark (never below the previous one).
  virtual Status Advance(Timestamp watermark, Timestamp* output_watermark) = 0;
  virtual size_t live_windows() const = 0;

  OperatorStats stats() const;

  // Snapshots (Operator::SaveState): the engine's whole state. REQUIRES for LoadState: a fresh
  // engine.
  virtual void SaveState(SnapshotWriter* out) const = 0;
  virtual Status LoadState(SnapshotReader* in) = 0;

 protected:
  // Row flags shared by both engines' slot headers.
  static constexpr uint8_t kDirty = 1;       // changed since its row was last brought up to date
  static constexpr uint8_t kHasEmitted = 2;  // emitted_ holds its current output row

  // The late port: the input change, unchanged.
  void EmitLate(const Row& row, Timestamp time, Diff diff);
  // A retraction reached states that cannot undo it; the next Advance reports the error.
  void RefuseRetraction();
  Status TakeDeferredError();

  // Evaluates the aggregate arguments of `row` into args_.
  void EvaluateArguments(const Row& row) {
    states_.EvaluateArguments(row, arg_scratch_.data(), args_.data());
  }
  // Fills row_ with (start, end, key of `group`) and returns where the aggregates go.
  Value* BeginRow(Timestamp start, Timestamp end, uint32_t group);

  // Ordering of groups for output; call PrepareGroupOrder(n) before sorting n items.
  void PrepareGroupOrder(size_t n);
  std::weak_ordering CompareGroups(uint32_t a, uint32_t b) const {
    if (ranks_ != nullptr) return (*ranks_)[a] <=> (*ranks_)[b];
    return groups_.Compare(a, b);
  }

  // What both engines save first: the shape of the definition (checked on load), then the
  // watermark and counters.
  void SaveCommon(std::string_view engine, SnapshotWriter* out) const;
  Status LoadCommon(std::string_view engine, SnapshotReader* in);
  void SaveKey(uint32_t group, SnapshotWriter* out) const;
  // Reads a group key and interns it; the caller takes the reference.
  Status LoadKey(SnapshotReader* in, uint32_t* group);
  uint32_t InternKey(std::span<const Value> key);
  // Reads a result row (window_start, window_end, key, aggregates), checked against the spec.
  Status LoadResultRow(SnapshotReader* in, Row* row) const;

  WindowOperatorSpec spec_;
  AggregateStates states_;
  GroupTable groups_;
  Output* results_;
  Output* late_;
  bool updates_;
  Timestamp watermark_ = kMinTime;             // the input watermark of the last Advance
  uint64_t next_seq_ = 0;                      // arrival number of the next record
  std::unordered_map<uint32_t, Row> emitted_;  // by slot: rows out and still open to correction
  Row row_;
  std::vector<const Value*> args_;

 private:
  static AggregateStates::Mode ModeFor(const WindowOperatorSpec& spec);

  std::vector<Value> arg_scratch_;
  const std::vector<uint32_t>* ranks_ = nullptr;
  uint64_t late_records_ = 0;
  Status deferred_;
};

std::unique_ptr<WindowEngine> MakeFixedWindowEngine(WindowOperatorSpec spec, Output* results,
                                                    Output* late);
std::unique_ptr<WindowEngine> MakeSessionWindowEngine(WindowOperatorSpec spec, Output* results,
                                                      Output* late);

}  // namespace runnel
