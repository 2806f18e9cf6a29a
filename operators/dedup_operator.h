// DedupOperator: the `dedup` view (SPEC §2): keeps the first record for each key within
// `within` of event time, and drops the others as duplicates. Output rows are input rows
// unchanged, at their own time; output port 1 carries the late records (input rows unchanged).
// Threading: engine thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "operators/window_operator.h"  // EmitMode
#include "runtime/operator.h"
#include "runtime/schema.h"
#include "runtime/time.h"

namespace runnel {

struct DedupOperatorSpec {
  std::vector<size_t> by;  // input column indexes; empty: one key for the whole stream
  Duration within = 0;     // > 0
  EmitMode emit = EmitMode::kFinal;
  Duration allowed_lateness = 0;
};

// Definition (independent of arrival order): take a key's records in event-time order, ties
// in arrival order. The first is kept; each next record is a duplicate when its time is less
// than `within` after the last KEPT record, and is kept otherwise. So a kept record starts a
// window [t, t + within) that swallows the records after it, and the first record after the
// window starts the next one; with within = 1ms only records at the same millisecond are
// duplicates. Null `by` values form a key like any other value (as pandas drop_duplicates).
//
// Incremental behaviour (W: input watermark, L: allowed_lateness):
// - A record's status depends only on the records before it, so it is final once W > t.
//   emit=final emits a kept record then; emit=updates emits it at once and, when an earlier
//   record arrives or a retraction arrives, retracts the rows that became duplicates and
//   emits the ones that became kept, in that step's net changes.
// - A record with time < W - L is late: counted, emitted on kLatePort. Records below W - L
//   are forgotten, except the last kept one while its window still reaches W - L.
//   A retraction removes the most recent identical record.
// - `duplicates` counts duplicates once their status is final and they are forgotten.
// - Output watermark: W - L.
class DedupOperator final : public Operator {
 public:
  static constexpr int kResultsPort = 0;
  static constexpr int kLatePort = 1;

  // REQUIRES: Validate(spec, input_schema).ok()
  DedupOperator(DedupOperatorSpec spec, const Schema& input_schema);
  ~DedupOperator() override;

  static Status Validate(const DedupOperatorSpec& spec, const Schema& input_schema);

  void OnChange(int port, const Row& row, Timestamp time, Diff diff) override;
  Status Advance(std::span<const Timestamp> input_watermarks, Timestamp* output_watermark) override;
  // state_entries: records held; duplicates: see above.
  OperatorStats stats() const override;

  // Snapshots: the records held per key (with their status and whether they were emitted),
  // retractions waiting for their insertion, the watermark and horizon, the arrival counter,
  // late_records and duplicates. Key ids are kept: they order equal-time output.
  bool has_state() const override { return true; }
  void SaveState(SnapshotWriter* out) const override;
  Status LoadState(SnapshotReader* in) override;
  std::string StateFingerprint() const override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace runnel
