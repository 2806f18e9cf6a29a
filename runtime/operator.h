// Operator: a node of the dataflow graph that consumes changes and watermarks and produces
// changes. A change is a row with its event time and a signed multiplicity `diff` (+1 insert,
// -1 retraction), as in differential dataflow. Operators are push-based: upstream calls
// OnChange synchronously; once per step the scheduler calls Advance with the input
// watermarks, and the operator emits what this step changed or closed, then reports its own
// output watermark. Threading: one engine thread owns every operator; none is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/snapshot.h"
#include "runtime/status.h"
#include "runtime/time.h"
#include "runtime/value.h"

namespace runnel {

using Diff = int64_t;

class Operator;

// One output of a node: fans each emitted change out to the operator inputs connected to it.
class Output {
 public:
  void Connect(Operator* consumer, int port) { consumers_.push_back({consumer, port}); }
  inline void Emit(const Row& row, Timestamp time, Diff diff);
  uint64_t changes_emitted() const { return changes_emitted_; }

 private:
  struct Consumer {
    Operator* op;
    int port;
  };
  std::vector<Consumer> consumers_;
  uint64_t changes_emitted_ = 0;
};

// Counters an operator exposes to the run summary, metrics and dashboard.
struct OperatorStats {
  uint64_t late_records = 0;   // records dropped as late (SPEC §3)
  uint64_t state_entries = 0;  // windows/keys/rows currently held
  uint64_t rows_written = 0;   // sinks: changes written
  uint64_t duplicates = 0;     // dedup: records dropped as duplicates
  // MQTT sinks (SPEC §4): messages waiting in the outbox, dropped because it was full
  // (outbox_limit), taken by the broker, and changes with no topic to go to (null topic field).
  uint64_t outbox_depth = 0;
  uint64_t outbox_overflow = 0;
  uint64_t messages_delivered = 0;
  uint64_t messages_unpublishable = 0;
};

class Operator {
 public:
  explicit Operator(int num_outputs = 1) : outputs_(num_outputs) {}
  virtual ~Operator() = default;
  Operator(const Operator&) = delete;
  Operator& operator=(const Operator&) = delete;

  // A change arrives on input `port`. Must not fail: operators count and route bad data,
  // and sinks remember an I/O error and return it from the next Advance.
  virtual void OnChange(int port, const Row& row, Timestamp time, Diff diff) = 0;

  // Called once per step, in topological order, after every change of the step reached this
  // operator. `input_watermarks[i]` is the watermark of input port i (non-decreasing across
  // calls). Emits what the step changed or closed, then sets *output_watermark: no change it
  // emits later may have an earlier time (an operator that holds data for time t keeps it <= t).
  virtual Status Advance(std::span<const Timestamp> input_watermarks,
                         Timestamp* output_watermark) = 0;

  // End of the run (after the last Advance): flush and release resources.
  virtual Status Close() { return Status::Ok(); }

  virtual OperatorStats stats() const { return {}; }

  // State snapshots for checkpoints (docs/architecture.md, "State snapshots"). An operator
  // with state writes all of it, counters included, so that a fresh operator built from the
  // same definition and loaded from the bytes continues exactly as this one would.
  virtual bool has_state() const { return false; }
  // REQUIRES: at a step boundary (after Advance, before the next change).
  virtual void SaveState(SnapshotWriter* /*out*/) const {}
  // REQUIRES: a freshly built operator, before any change or Advance. Checks what it reads
  // against its own definition: Corruption for damaged bytes, Invalid for state of another
  // definition. On error the operator is unusable and must be discarded.
  virtual Status LoadState(SnapshotReader* /*in*/) { return Status::Ok(); }
  // Describes the definition the state depends on (window, aggregates with their expressions,
  // keys, emit, lateness, input schema): equal definitions give equal text in every run.
  // Saved state may be loaded only into an operator with the same fingerprint.
  virtual std::string StateFingerprint() const { return {}; }

  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  Output& output(int port = 0) { return outputs_[port]; }

 private:
  std::vector<Output> outputs_;
};

inline void Output::Emit(const Row& row, Timestamp time, Diff diff) {
  ++changes_emitted_;
  for (const Consumer& c : consumers_) c.op->OnChange(c.port, row, time, diff);
}

}  // namespace runnel
