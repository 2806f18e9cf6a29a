// AsofJoinOperator: the `asof_join` view (SPEC §2, §3). Each left record is matched with at
// most one right record of the same `by` values, exactly as pandas.merge_asof(left, right,
// on=<event time>, by=..., direction=..., tolerance=..., allow_exact_matches=...), and the
// output keeps the left record's time. Results are maintained incrementally under any arrival
// order, with retractions when late-but-allowed right data changes an earlier match.
// Threading: engine thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "operators/expression.h"
#include "operators/window_operator.h"  // EmitMode
#include "runtime/operator.h"
#include "runtime/schema.h"
#include "runtime/time.h"

namespace runnel {

// Named AsofJoinDirection because config/pipeline_config.h already owns `AsofDirection`.
enum class AsofJoinDirection { kBackward, kForward, kNearest };

struct AsofJoinOperatorSpec {
  Schema left;
  Schema right;
  // Column indexes of the `by` fields on each side; same count (one or more), paired in order.
  std::vector<size_t> left_by;
  std::vector<size_t> right_by;
  AsofJoinDirection direction = AsofJoinDirection::kBackward;
  // Inclusive bound on |left time - right time| (pandas `tolerance`); absent = unbounded.
  std::optional<Duration> tolerance;
  bool allow_exact = true;     // false: strictly before (backward) / after (forward)
  bool keep_unmatched = true;  // false: unmatched left records produce no row
  // pandas matches a null `by` value with a null `by` value (it factorizes NaN/None into one
  // group; checked in tests/scenarios/reference/asof_reference.py). false gives SQL semantics:
  // a record with a null `by` value never matches.
  bool null_keys_match = true;
  EmitMode emit = EmitMode::kFinal;
  Duration allowed_lateness = 0;
  // Output columns, compiled with Scope::Join over the combined row (left columns, then right
  // columns; all right columns are null when unmatched). Empty: the left columns followed by
  // the right columns other than the right `by` columns (see OutputSchema).
  std::vector<NamedExpression> select;
};

// Semantics (all times are event times, W is an input watermark: no record with time < W is
// still to come; L is allowed_lateness):
// - Ties: among right records with the same time, backward takes the last to arrive and
//   forward the first; nearest takes the backward candidate (last at its time) unless the
//   forward candidate (first at its time, as pandas computes nearest from its forward pass)
//   is strictly closer. A retraction cancels the most recent identical insertion (undo).
// - A left row's match is final once no right change at time <= F can come, F being the
//   latest right time that could still alter it: backward t (strict: t - 1); forward the
//   matched time, or t + tolerance when unmatched; nearest the matched forward time, or
//   max(t, t + d - 1) for a backward match at distance d, or t + tolerance when unmatched.
//   emit=final emits a row when W_right > F; emit=updates emits at once and corrects it.
//   Rows are corrected until W_right - L > F, then forgotten.
// - Late: a left record with time < W_left - L, or a right one with time < W_right - L. It is
//   counted and emitted on kLatePort in the combined layout of LateSchema: its own side's
//   fields filled in, the other side's fields null. Either side may be late independently.
// - Output watermark: min(W_left - L, time of any left row still held).
// - State: right records are compacted below min(W_left - L, W_right - L, oldest held left
//   row): backward/nearest keep the latest one below (dropped once beyond tolerance, or when
//   no left record can come), forward keeps none. Keys with no state are forgotten.
// - Keys compare by type and value: an int `by` value never equals a float one, so the planner
//   should give both sides' `by` fields the same type.
// - Cost: a step's left changes are buffered packed (keyed_buffers.h), then matched against
//   their key's right records (sorted by time, arrival) with a cursor that moves forward; a
//   row whose match is already final is emitted without ever being held. So a static run is
//   one pass over its input per side plus a merge, and holds nothing once it has emitted.
class AsofJoinOperator final : public Operator {
 public:
  static constexpr int kLeftPort = 0;
  static constexpr int kRightPort = 1;
  static constexpr int kResultsPort = 0;
  static constexpr int kLatePort = 1;

  // REQUIRES: Validate(spec).ok()
  explicit AsofJoinOperator(AsofJoinOperatorSpec spec);
  ~AsofJoinOperator() override;

  // Checks the `by` columns (same non-zero count, in range) and that tolerance >= 0.
  static Status Validate(const AsofJoinOperatorSpec& spec);
  // The result columns: the `select` names and types, or the default layout. In the default
  // layout a right column whose name is already taken is renamed "right_<name>".
  static Schema OutputSchema(const AsofJoinOperatorSpec& spec);
  // The late port's columns: all left columns, then all right columns (renamed as above).
  static Schema LateSchema(const AsofJoinOperatorSpec& spec);

  void OnChange(int port, const Row& row, Timestamp time, Diff diff) override;
  // input_watermarks: {left, right}.
  Status Advance(std::span<const Timestamp> input_watermarks, Timestamp* output_watermark) override;
  // state_entries: right records plus left rows held.
  OperatorStats stats() const override;

  // Snapshots: per key the right records and the left rows held with their matches and what
  // was emitted for them (to retract later); watermarks, horizons, arrival counters and
  // late_records. Key ids are kept: they order equal-time output.
  bool has_state() const override { return true; }
  void SaveState(SnapshotWriter* out) const override;
  Status LoadState(SnapshotReader* in) override;
  std::string StateFingerprint() const override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace runnel
