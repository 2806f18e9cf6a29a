#include "app/persistence.h"

#include <limits>
#include <map>
#include <utility>

#include "runtime/snapshot.h"
#include "storage/input_log_source.h"

namespace runnel {

// Mutes a sink while recovery re-runs steps whose output the sink already received, and
// records what it passes on in a final step, so that a later run can retract it (backfill).
class SinkGate final : public Operator {
 public:
  struct Change {
    Row row;
    Timestamp time;
    Diff diff;
  };

  explicit SinkGate(std::unique_ptr<Operator> sink) : sink_(std::move(sink)) {}
  void set_muted(bool muted) { muted_ = muted; }
  void set_recording(bool recording) { recording_ = recording; }
  std::vector<Change> TakeRecorded() { return std::exchange(recorded_, {}); }
  // Retracts a change an earlier run's final step made.
  void Undo(const Row& row, Timestamp time, Diff diff) { sink_->OnChange(0, row, time, -diff); }

  void OnChange(int port, const Row& row, Timestamp time, Diff diff) override {
    if (muted_) return;
    if (recording_) recorded_.push_back({row, time, diff});
    sink_->OnChange(port, row, time, diff);
  }
  Status Advance(std::span<const Timestamp> input_watermarks,
                 Timestamp* output_watermark) override {
    return sink_->Advance(input_watermarks, output_watermark);
  }
  Status Close() override { return sink_->Close(); }
  OperatorStats stats() const override { return sink_->stats(); }

 private:
  std::unique_ptr<Operator> sink_;
  bool muted_ = false;
  bool recording_ = false;
  std::vector<Change> recorded_;
};

// Appends every record a source emits to the input log, tagged with the running step.
class InputLogTap final : public Operator {
 public:
  InputLogTap(InputLog* log, int64_t source_id, int node, const Dataflow* flow, const Clock* clock)
      : log_(log), source_id_(source_id), node_(node), flow_(flow), clock_(clock) {}

  int node() const { return node_; }
  int64_t source_id() const { return source_id_; }
  void set_muted(bool muted) { muted_ = muted; }
  // Whether records were logged since the last call.
  bool TakeWrote() { return std::exchange(wrote_, false); }

  void OnChange(int, const Row& row, Timestamp time, Diff) override {
    if (muted_ || !error_.ok()) return;
    record_.Reset();
    record_.WriteRow(row);
    error_ = log_->Append(source_id_, flow_->step(), time, clock_->NowMillis(), record_.bytes());
    wrote_ = true;
  }
  Status Advance(std::span<const Timestamp> input_watermarks,
                 Timestamp* output_watermark) override {
    *output_watermark = input_watermarks.empty() ? kMaxTime : input_watermarks[0];
    return error_;
  }

 private:
  InputLog* log_;
  int64_t source_id_;
  int node_;
  const Dataflow* flow_;
  const Clock* clock_;
  bool muted_ = false;
  bool wrote_ = false;
  Status error_;
  SnapshotWriter record_;  // reused for every record
};

namespace {

// Node names are unique but for sinks of the same description; those get "#2", "#3".
std::vector<std::string> NodeKeys(const Dataflow& flow) {
  std::map<std::string, int> seen;
  std::vector<std::string> keys;
  for (const Dataflow::Node& node : flow.nodes()) {
    const int n = ++seen[node.name];
    keys.push_back(n == 1 ? node.name : node.name + " #" + std::to_string(n));
  }
  return keys;
}

}  // namespace

PipelinePersistence::PipelinePersistence(StateDatabase* db, Dataflow* flow,
                                         PersistenceOptions options)
    : db_(db), flow_(flow), options_(options) {
  if (options_.clock == nullptr) options_.clock = &system_clock_;
  if (options_.logger == nullptr) options_.logger = &stderr_logger_;
}

PipelinePersistence::~PipelinePersistence() = default;

Result<std::unique_ptr<PipelinePersistence>> PipelinePersistence::Open(StateDatabase* db,
                                                                       Dataflow* flow,
                                                                       PersistenceOptions options) {
  std::unique_ptr<PipelinePersistence> p(new PipelinePersistence(db, flow, options));
  RUNNEL_ASSIGN_OR_RETURN(p->log_, InputLog::Open(db));
  RUNNEL_ASSIGN_OR_RETURN(p->store_, CheckpointStore::Open(db));
  RUNNEL_ASSIGN_OR_RETURN(p->checkpoint_, p->store_->LoadCheckpoint());
  return p;
}

const std::vector<std::string>& PipelinePersistence::Keys() {
  // Nodes are only added before the run starts (the graph, then the dashboard's taps).
  if (keys_.size() != flow_->nodes().size()) keys_ = NodeKeys(*flow_);
  return keys_;
}

Status PipelinePersistence::LogSource(int node, const std::string& name, const Schema& schema) {
  RUNNEL_ASSIGN_OR_RETURN(int64_t id,
                          log_->RegisterSource(name, InputLogSource::FieldsText(schema)));
  auto tap = std::make_unique<InputLogTap>(log_.get(), id, node, flow_, options_.clock);
  taps_.push_back(tap.get());
  flow_->AddOperator("input log '" + name + "'", std::move(tap), {{node, 0}});
  return Status::Ok();
}

std::unique_ptr<Operator> PipelinePersistence::GateSink(std::unique_ptr<Operator> sink) {
  auto gate = std::make_unique<SinkGate>(std::move(sink));
  gates_.push_back(gate.get());
  return gate;
}

void PipelinePersistence::InstallStepListeners() {
  flow_->AddStepListener([this] { return BeforeCommit(); });
  flow_->AddStepListener([this] { return db_->CommitStep(); });
  flow_->AddStepListener([this] {
    for (const Dataflow::Node& node : flow_->nodes()) {
      if (node.source) node.source->OnCommitted();
    }
    return Status::Ok();
  });
}

std::string PipelinePersistence::EncodeSourceWatermarks() const {
  SnapshotWriter out;
  for (const Dataflow::Node& node : flow_->nodes()) {
    if (node.source) out.WriteTimestamp(node.output_watermark);
  }
  return out.Release();
}

Status PipelinePersistence::BeforeCommit() {
  const int64_t step = flow_->step();
  RUNNEL_RETURN_IF_ERROR(log_->Flush());
  const std::vector<Dataflow::Node>& nodes = flow_->nodes();
  last_positions_.resize(nodes.size());
  const std::vector<std::string>& keys = Keys();
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!nodes[i].source) continue;
    std::string position = nodes[i].source->SavePosition();
    if (position == last_positions_[i]) continue;
    RUNNEL_RETURN_IF_ERROR(store_->SavePosition(keys[i], step, position));
    last_positions_[i] = std::move(position);
  }
  bool logged = false;
  for (InputLogTap* tap : taps_) logged = tap->TakeWrote() || logged;
  std::string watermarks = EncodeSourceWatermarks();
  if (logged || watermarks != last_watermarks_) {
    RUNNEL_RETURN_IF_ERROR(store_->RecordStep(step, watermarks));
    last_watermarks_ = std::move(watermarks);
    changed_since_checkpoint_ = true;
  }
  const Timestamp now = options_.clock->NowMillis();
  if (recording_final_) {
    // The final step: its results are recorded, not checkpointed, so that a run over grown
    // input restores the state before them and retracts them (SPEC §6 backfill).
    RUNNEL_RETURN_IF_ERROR(SaveFinalChanges(step));
    recording_final_ = false;
    changed_since_checkpoint_ = false;  // nor at the end of the run (CheckpointAtEnd)
    return Status::Ok();
  }
  const bool finish_next = flow_->finish_pending();
  const bool due = last_checkpoint_step_ < 0 || finish_next ||
                   (changed_since_checkpoint_ &&
                    (ClockElapsed(now, last_checkpoint_at_) >= options_.checkpoint_interval ||
                     flow_->stop_requested()));
  if (due) {
    RUNNEL_RETURN_IF_ERROR(Checkpoint(step));
    last_checkpoint_at_ = now;
  }
  if (finish_next) {
    recording_final_ = true;
    for (SinkGate* gate : gates_) gate->set_recording(true);
  }
  return Status::Ok();
}

Status PipelinePersistence::SaveFinalChanges(int64_t step) {
  const std::vector<std::string>& keys = Keys();
  std::vector<FinalChange> changes;
  for (SinkGate* gate : gates_) {
    gate->set_recording(false);
    const std::string& sink = keys[NodeOf(gate)];
    for (SinkGate::Change& change : gate->TakeRecorded()) {
      SnapshotWriter record;
      record.WriteRow(change.row);
      changes.push_back({step, sink, change.time, change.diff, record.Release()});
    }
  }
  return store_->SaveFinalChanges(changes);
}

size_t PipelinePersistence::NodeOf(const Operator* op) const {
  const std::vector<Dataflow::Node>& nodes = flow_->nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].op.get() == op) return i;
  }
  return nodes.size();
}

Status PipelinePersistence::Checkpoint(int64_t step) {
  const std::vector<Dataflow::Node>& nodes = flow_->nodes();
  const std::vector<std::string>& keys = Keys();
  std::vector<NodeStateEntry> entries;
  entries.reserve(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    NodeStateEntry entry;
    entry.node = keys[i];
    entry.step = step;
    entry.watermark = nodes[i].output_watermark;
    if (nodes[i].op && nodes[i].op->has_state()) {
      entry.fingerprint = nodes[i].op->StateFingerprint();
      SnapshotWriter state;
      nodes[i].op->SaveState(&state);
      entry.state = state.Release();
    }
    entries.push_back(std::move(entry));
  }
  RUNNEL_RETURN_IF_ERROR(store_->SaveCheckpoint(entries));
  RUNNEL_RETURN_IF_ERROR(store_->DeleteStepsThrough(step));
  // Final results recorded before this checkpoint are part of its state now.
  RUNNEL_RETURN_IF_ERROR(store_->ClearFinalChanges());
  const Timestamp now = options_.clock->NowMillis();
  RUNNEL_ASSIGN_OR_RETURN(int64_t pruned,
                          log_->DeleteArrivedBefore(now - options_.log_retention, step));
  (void)pruned;
  last_checkpoint_step_ = step;
  changed_since_checkpoint_ = false;
  return Status::Ok();
}

Status PipelinePersistence::CheckpointAtEnd() {
  if (!changed_since_checkpoint_) return Status::Ok();
  RUNNEL_RETURN_IF_ERROR(Checkpoint(flow_->step()));
  last_checkpoint_at_ = options_.clock->NowMillis();
  return db_->CommitStep();
}

Status PipelinePersistence::Recover() {
  if (checkpoint_.empty()) return Status::Ok();
  const std::vector<std::string>& keys = Keys();
  std::map<std::string, const NodeStateEntry*> saved;
  for (const NodeStateEntry& entry : checkpoint_) saved[entry.node] = &entry;
  const int64_t checkpoint_step = checkpoint_.front().step;
  const std::vector<Dataflow::Node>& nodes = flow_->nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto it = saved.find(keys[i]);
    Operator* op = nodes[i].op.get();
    if (op != nullptr && op->has_state()) {
      if (it == saved.end()) {
        options_.logger->Warning(keys[i] +
                                 " is new since the last checkpoint: it starts empty "
                                 "and covers data from now on (to include the stored log: "
                                 "--reset-state with --replay)");
        continue;
      }
      if (it->second->fingerprint.empty() && it->second->state.empty()) {
        // Saved by a Runnel whose version of this operator kept no state.
        options_.logger->Warning(keys[i] +
                                 " kept no state in the last checkpoint (written by an older "
                                 "Runnel): it starts empty");
        continue;
      }
      if (it->second->fingerprint != op->StateFingerprint()) {
        return Status::Invalid(
            keys[i] + " changed since its state was saved in " + db_->path() +
            " (saved: " + it->second->fingerprint + "; now: " + op->StateFingerprint() +
            "): restore its definition, or start over with --reset-state (results are then "
            "recomputed from new data; keep a copy of runnel.db to --replay its input log)");
      }
      RUNNEL_ASSIGN_OR_RETURN(SnapshotReader reader, SnapshotReader::Open(it->second->state));
      RUNNEL_RETURN_IF_ERROR(
          op->LoadState(&reader).WithContext(keys[i] + ": restoring state from " + db_->path()));
    }
    if (it != saved.end()) flow_->RestoreWatermark(static_cast<int>(i), it->second->watermark);
  }
  last_checkpoint_step_ = checkpoint_step;
  last_checkpoint_at_ = options_.clock->NowMillis();
  RUNNEL_ASSIGN_OR_RETURN(std::vector<FinalChange> finals, store_->LoadFinalChanges());
  // The last run ended with a final step after the checkpoint: re-run the steps before it,
  // then retract its results; this run finalizes again over whatever input it adds.
  const int64_t final_step = finals.empty() ? 0 : finals.front().step;
  const bool refinalize = final_step > checkpoint_step;
  RUNNEL_RETURN_IF_ERROR(ReplaySteps(
      checkpoint_step, refinalize ? final_step - 1 : std::numeric_limits<int64_t>::max()));
  if (refinalize) RUNNEL_RETURN_IF_ERROR(UndoFinalChanges(finals));

  RUNNEL_ASSIGN_OR_RETURN(std::vector<SourcePositionEntry> positions, store_->LoadPositions());
  last_positions_.assign(nodes.size(), std::string());
  for (const SourcePositionEntry& position : positions) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!nodes[i].source || keys[i] != position.source) continue;
      RUNNEL_RETURN_IF_ERROR(nodes[i]
                                 .source->RestorePosition(position.position)
                                 .WithContext(keys[i] + ": restoring its position"));
      last_positions_[i] = position.position;
    }
  }
  last_watermarks_ = EncodeSourceWatermarks();
  return Status::Ok();
}

Status PipelinePersistence::UndoFinalChanges(const std::vector<FinalChange>& finals) {
  const std::vector<std::string>& keys = Keys();
  std::map<std::string, SinkGate*> gate_of;
  for (SinkGate* gate : gates_) gate_of[keys[NodeOf(gate)]] = gate;
  for (const FinalChange& change : finals) {
    auto gate = gate_of.find(change.sink);
    if (gate == gate_of.end()) continue;  // a sink no longer in the pipeline
    RUNNEL_ASSIGN_OR_RETURN(SnapshotReader reader, SnapshotReader::Open(change.record));
    Row row;
    RUNNEL_RETURN_IF_ERROR(reader.ReadRow("final result", &row).WithContext(db_->path()));
    gate->second->Undo(row, change.time, change.diff);
  }
  options_.logger->Info("continuing after the last run: " + std::to_string(finals.size()) +
                        " final results are retracted and computed again with the input added "
                        "since");
  return store_->ClearFinalChanges();
}

Status PipelinePersistence::ReplaySteps(int64_t after_step, int64_t through_step) {
  RUNNEL_ASSIGN_OR_RETURN(std::vector<StepEntry> steps, store_->LoadSteps(after_step));
  while (!steps.empty() && steps.back().step > through_step) steps.pop_back();
  if (steps.empty()) {
    flow_->SetStep(after_step);
    options_.logger->Info("restored the checkpoint of step " + std::to_string(after_step) +
                          " (no logged steps after it)");
    return Status::Ok();
  }
  std::map<int64_t, int> node_of_source;
  for (InputLogTap* tap : taps_) {
    node_of_source[tap->source_id()] = tap->node();
    tap->set_muted(true);
  }
  for (SinkGate* gate : gates_) gate->set_muted(true);
  // One pass over the log after the checkpoint (one query per step made recovery after many
  // small steps slow): `batches` collects the records of one step; a record of a later step
  // first re-runs the steps up to it, those without records with empty batches.
  std::map<int, std::vector<std::pair<Row, Timestamp>>> batches;
  size_t next = 0;  // index in `steps` of the next step to re-run
  auto run_steps_through = [&](int64_t last) -> Status {
    for (; next < steps.size() && steps[next].step <= last; ++next) {
      const StepEntry& step = steps[next];
      std::vector<Timestamp> watermarks;
      RUNNEL_ASSIGN_OR_RETURN(SnapshotReader reader, SnapshotReader::Open(step.watermarks));
      while (reader.remaining() > 0) {
        Timestamp t;
        RUNNEL_RETURN_IF_ERROR(reader.ReadTimestamp("step watermark", &t));
        watermarks.push_back(t);
      }
      flow_->SetStep(step.step - 1);
      RUNNEL_RETURN_IF_ERROR(flow_->ReplayStep(
          [&](int node, Output& out) {
            auto batch = batches.find(node);
            if (batch == batches.end()) return Status::Ok();
            for (const auto& [row, time] : batch->second) out.Emit(row, time, 1);
            return Status::Ok();
          },
          watermarks));
      batches.clear();
    }
    return Status::Ok();
  };
  uint64_t replayed = 0;
  Status status = log_->ReadSteps(after_step, steps.back().step, [&](const LoggedRecord& record) {
    RUNNEL_RETURN_IF_ERROR(run_steps_through(record.step - 1));
    auto node = node_of_source.find(record.source_id);
    if (node == node_of_source.end()) return Status::Ok();  // a source no longer logged
    RUNNEL_ASSIGN_OR_RETURN(SnapshotReader reader, SnapshotReader::Open(record.record));
    Row row;
    RUNNEL_RETURN_IF_ERROR(reader.ReadRow("logged record", &row));
    batches[node->second].emplace_back(std::move(row), record.time);
    ++replayed;
    return Status::Ok();
  });
  if (status.ok()) status = run_steps_through(steps.back().step);
  for (InputLogTap* tap : taps_) tap->set_muted(false);
  for (SinkGate* gate : gates_) gate->set_muted(false);
  RUNNEL_RETURN_IF_ERROR(status.WithContext("re-running the logged steps after the checkpoint"));
  flow_->SetStep(steps.back().step);
  options_.logger->Info("restored the checkpoint of step " + std::to_string(after_step) +
                        " and re-ran " + std::to_string(steps.size()) + " logged steps (" +
                        std::to_string(replayed) + " records)");
  return Status::Ok();
}

}  // namespace runnel
