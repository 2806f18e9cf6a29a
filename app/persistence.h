// PipelinePersistence: makes a running pipeline restartable (SPEC §6). It logs what the
// unbounded sources emit (InputLog), records each committed step's source watermarks and
// positions, checkpoints every node's state every checkpoint_interval (and on stop), all in
// the step's transaction together with the table sinks. At start it restores the last
// checkpoint, re-runs the logged steps after it with the sinks muted (their effects were
// committed already), and lets the sources continue from their positions: tables are exactly
// once, file and MQTT sinks at least once. Bounded (static) sources finish in a step of their
// own: the state before it is checkpointed and its results recorded, so that a run over grown
// input restores that state, retracts those results, reads only the new input and finalizes
// again: the same results as a run from scratch (backfill).
// Threading: engine thread only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/clock.h"
#include "runtime/dataflow.h"
#include "runtime/logger.h"
#include "runtime/schema.h"
#include "storage/checkpoint_store.h"
#include "storage/input_log.h"
#include "storage/state_database.h"

namespace runnel {

class SinkGate;
class InputLogTap;

struct PersistenceOptions {
  Duration checkpoint_interval = 1'000;
  Duration log_retention = 7 * 86'400'000LL;
  const Clock* clock = nullptr;  // null: the system clock
  Logger* logger = nullptr;
};

class PipelinePersistence {
 public:
  // `db` and `flow` must outlive this object.
  static Result<std::unique_ptr<PipelinePersistence>> Open(StateDatabase* db, Dataflow* flow,
                                                           PersistenceOptions options);
  ~PipelinePersistence();
  PipelinePersistence(const PipelinePersistence&) = delete;
  PipelinePersistence& operator=(const PipelinePersistence&) = delete;

  // Whether the database holds a checkpoint to restore (decided before the sinks are built:
  // a restored run keeps its tables and appends to its files).
  bool has_checkpoint() const { return !checkpoint_.empty(); }

  // Logs what source node `node` (named `name`, rows of `schema`) emits.
  Status LogSource(int node, const std::string& name, const Schema& schema);
  // Wraps a sink so that recovery can mute it while it re-runs committed steps.
  std::unique_ptr<Operator> GateSink(std::unique_ptr<Operator> sink);

  // Registers the step listeners: record the step and checkpoint when due (on stop too, so
  // that SIGTERM checkpoints), commit the step transaction, then tell the sources.
  void InstallStepListeners();
  std::optional<Timestamp> last_checkpoint_time() const {
    if (last_checkpoint_at_ == kMinTime) return std::nullopt;
    return last_checkpoint_at_;
  }

  // Restores the checkpoint and re-runs the steps after it. Call after the graph is complete,
  // before Dataflow::Run. Invalid: a view whose definition changed (names it, with options).
  Status Recover();

  // Checkpoints the last committed step if it is not in the checkpoint yet. A stop that
  // arrives between two steps ends Dataflow::Run without a step that sees it, so the step
  // listener alone would leave a SIGTERM run uncheckpointed. Call after Run returned Ok.
  Status CheckpointAtEnd();

 private:
  PipelinePersistence(StateDatabase* db, Dataflow* flow, PersistenceOptions options);
  Status BeforeCommit();
  Status Checkpoint(int64_t step);
  std::string EncodeSourceWatermarks() const;
  // Re-runs the logged steps in (after_step, through_step].
  Status ReplaySteps(int64_t after_step, int64_t through_step);
  Status SaveFinalChanges(int64_t step);
  Status UndoFinalChanges(const std::vector<FinalChange>& finals);
  size_t NodeOf(const Operator* op) const;  // index of op's node
  // Each node's checkpoint key (its name, "#2" for a repeated sink name), computed once.
  const std::vector<std::string>& Keys();

  StateDatabase* db_;
  Dataflow* flow_;
  PersistenceOptions options_;
  SystemClock system_clock_;
  StderrLogger stderr_logger_;
  std::unique_ptr<InputLog> log_;
  std::unique_ptr<CheckpointStore> store_;
  std::vector<NodeStateEntry> checkpoint_;   // as loaded at start
  std::vector<std::string> keys_;            // see Keys()
  std::vector<SinkGate*> gates_;             // owned by the dataflow
  std::vector<InputLogTap*> taps_;           // owned by the dataflow
  std::vector<std::string> last_positions_;  // per source node, as last saved
  std::string last_watermarks_;
  bool changed_since_checkpoint_ = false;
  bool recording_final_ = false;  // the running step is the final one (bounded sources end)
  Timestamp last_checkpoint_at_ = kMinTime;
  int64_t last_checkpoint_step_ = -1;
};

}  // namespace runnel
