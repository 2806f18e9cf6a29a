// CheckpointStore: the engine's restart state in the state database (SPEC §6): each stateful
// node's state with the fingerprint of its definition and the step it belongs to
// (`runnel_node_state`), each source's position as of the last committed step
// (`runnel_source_positions`), and the watermarks of every committed step that changed
// something (`runnel_steps`), which recovery needs to re-run the steps after the checkpoint.
// State is opaque bytes. Writes join the step transaction, so a checkpoint, the table sinks and
// the input log of its step commit together. Threading: the connection's thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/status.h"
#include "runtime/time.h"
#include "storage/state_database.h"

namespace runnel {

struct NodeStateEntry {
  std::string node;
  std::string fingerprint;
  int64_t step = 0;
  Timestamp watermark = kMinTime;
  std::string state;
};

struct SourcePositionEntry {
  std::string source;
  int64_t step = 0;
  std::string position;
};

struct FinalChange {
  int64_t step = 0;
  std::string sink;
  Timestamp time = 0;
  int64_t diff = 0;
  std::string record;
};

struct StepEntry {
  int64_t step = 0;
  std::string watermarks;
};

class CheckpointStore {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // `db` must outlive the store.
  static Result<std::unique_ptr<CheckpointStore>> Open(StateDatabase* db);
  CheckpointStore(PrivateTag, StateDatabase* db);
  ~CheckpointStore();
  CheckpointStore(const CheckpointStore&) = delete;
  CheckpointStore& operator=(const CheckpointStore&) = delete;

  // Replaces the checkpoint with `nodes` (all of them: nodes not listed are dropped).
  Status SaveCheckpoint(const std::vector<NodeStateEntry>& nodes);
  Result<std::vector<NodeStateEntry>> LoadCheckpoint();

  Status SavePosition(const std::string& source, int64_t step, std::string_view position);
  Result<std::vector<SourcePositionEntry>> LoadPositions();

  Status RecordStep(int64_t step, std::string_view watermarks);
  // Steps after `after_step`, in order.
  Result<std::vector<StepEntry>> LoadSteps(int64_t after_step);
  // Forgets steps at or before `step` (they are inside the checkpoint).
  Status DeleteStepsThrough(int64_t step);
  // Replaces the recorded final-step changes (`runnel_final_changes`).
  Status SaveFinalChanges(const std::vector<FinalChange>& changes);
  Result<std::vector<FinalChange>> LoadFinalChanges();
  Status ClearFinalChanges();

  // The last committed step (0 when none).
  Result<int64_t> LastStep();

 private:
  StateDatabase* db_;
  SqliteStatement save_position_;
  SqliteStatement record_step_;
};

}  // namespace runnel
