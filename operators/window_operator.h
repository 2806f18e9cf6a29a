// WindowOperator: event-time windows (tumbling, sliding, session) grouped by key, with
// aggregates (SPEC §3). Output columns: window_start, window_end, group_by..., aggregates...
// Output port 0 carries results, port 1 the late records (input rows unchanged).
// A window closes when the input watermark reaches window_end (session: last time + gap);
// it keeps accepting corrections until window_end + allowed_lateness, then its state is freed.
// Result rows carry the time window_end - 1 (tumbling, sliding) or window_end (session: the
// last record's time), so a downstream window places them inside the window they summarise.
// The output watermark is watermark - allowed_lateness (tumbling, sliding), or watermark - gap -
// allowed_lateness for sessions, held lower while a session that grew after its row went out
// may still retract that row (at the row's own, earlier time).
// Threading: engine thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "operators/aggregate.h"
#include "runtime/operator.h"
#include "runtime/schema.h"
#include "runtime/time.h"

namespace runnel {

enum class WindowType { kTumbling, kSliding, kSession };
enum class EmitMode { kFinal, kUpdates };

struct WindowSpec {
  WindowType type = WindowType::kTumbling;
  Duration size = 0;  // tumbling, sliding
  Duration hop = 0;   // sliding
  Duration gap = 0;   // session
};

struct WindowOperatorSpec {
  WindowSpec window;
  std::vector<size_t> group_by;  // input column indexes
  std::vector<AggregateDef> aggregates;
  EmitMode emit = EmitMode::kFinal;
  Duration allowed_lateness = 0;
  // Set when the input never carries retractions (a source, or filters/projections of one).
  // min/max/first/last then keep one value per window and sessions keep no record log: O(1)
  // bytes per window instead of O(records). A retraction arriving anyway fails the next
  // Advance rather than give a wrong result. Leave false behind views that retract (emit =
  // "updates", allowed_lateness > 0, as-of joins).
  bool insert_only_input = false;
};

class WindowOperator final : public Operator {
 public:
  static constexpr int kResultsPort = 0;
  static constexpr int kLatePort = 1;

  WindowOperator(WindowOperatorSpec spec, const Schema& input_schema);
  ~WindowOperator() override;

  static Schema OutputSchema(const WindowOperatorSpec& spec, const Schema& input_schema);
  // Checks sizes, hop, gap, lateness, group_by indexes and output column names. The
  // constructor REQUIRES a spec that passes.
  static Status Validate(const WindowOperatorSpec& spec, const Schema& input_schema);

  void OnChange(int port, const Row& row, Timestamp time, Diff diff) override;
  Status Advance(std::span<const Timestamp> input_watermarks, Timestamp* output_watermark) override;
  OperatorStats stats() const override;

  // Snapshots: windows with their aggregate states or session record logs, emitted rows still
  // open to correction, the watermark, the arrival counter and late_records.
  bool has_state() const override { return true; }
  void SaveState(SnapshotWriter* out) const override;
  Status LoadState(SnapshotReader* in) override;
  std::string StateFingerprint() const override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace runnel
