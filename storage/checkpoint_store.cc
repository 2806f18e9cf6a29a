#include "storage/checkpoint_store.h"

#include <utility>

namespace runnel {

Result<std::unique_ptr<CheckpointStore>> CheckpointStore::Open(StateDatabase* db) {
  auto store = std::make_unique<CheckpointStore>(PrivateTag{}, db);
  RUNNEL_ASSIGN_OR_RETURN(
      store->save_position_,
      SqliteStatement::Prepare(db->handle(),
                               "INSERT OR REPLACE INTO runnel_source_positions (source, step, "
                               "position) VALUES (?1, ?2, ?3)",
                               SqliteContext(db->path(), "save a source position"),
                               /*persistent=*/true));
  RUNNEL_ASSIGN_OR_RETURN(
      store->record_step_,
      SqliteStatement::Prepare(db->handle(),
                               "INSERT OR REPLACE INTO runnel_steps (step, watermarks) VALUES "
                               "(?1, ?2)",
                               SqliteContext(db->path(), "record a step"), /*persistent=*/true));
  return store;
}

CheckpointStore::CheckpointStore(PrivateTag, StateDatabase* db) : db_(db) {}
CheckpointStore::~CheckpointStore() = default;

Status CheckpointStore::SaveCheckpoint(const std::vector<NodeStateEntry>& nodes) {
  RUNNEL_RETURN_IF_ERROR(db_->EnsureTransaction());
  RUNNEL_RETURN_IF_ERROR(SqliteExec(db_->handle(), "DELETE FROM runnel_node_state",
                                    SqliteContext(db_->path(), "replace the checkpoint")));
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement insert,
      SqliteStatement::Prepare(db_->handle(),
                               "INSERT INTO runnel_node_state (node, fingerprint, step, watermark, "
                               "state) VALUES (?1, ?2, ?3, ?4, ?5)",
                               SqliteContext(db_->path(), "write the checkpoint")));
  for (const NodeStateEntry& node : nodes) {
    RUNNEL_RETURN_IF_ERROR(insert.BindText(1, node.node));
    RUNNEL_RETURN_IF_ERROR(insert.BindText(2, node.fingerprint));
    RUNNEL_RETURN_IF_ERROR(insert.BindInt(3, node.step));
    RUNNEL_RETURN_IF_ERROR(insert.BindInt(4, node.watermark));
    RUNNEL_RETURN_IF_ERROR(insert.BindBlob(5, node.state));
    RUNNEL_RETURN_IF_ERROR(insert.Run());
    insert.ClearBindings();
  }
  return Status::Ok();
}

Result<std::vector<NodeStateEntry>> CheckpointStore::LoadCheckpoint() {
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement query,
      SqliteStatement::Prepare(db_->handle(),
                               "SELECT node, fingerprint, step, watermark, state FROM "
                               "runnel_node_state ORDER BY node",
                               SqliteContext(db_->path(), "read the checkpoint")));
  std::vector<NodeStateEntry> out;
  while (true) {
    RUNNEL_ASSIGN_OR_RETURN(bool has_row, query.Step());
    if (!has_row) return out;
    out.push_back({query.ColumnText(0), query.ColumnText(1), query.ColumnInt(2), query.ColumnInt(3),
                   std::string(query.ColumnBlob(4))});
  }
}

Status CheckpointStore::SavePosition(const std::string& source, int64_t step,
                                     std::string_view position) {
  RUNNEL_RETURN_IF_ERROR(db_->EnsureTransaction());
  RUNNEL_RETURN_IF_ERROR(save_position_.BindText(1, source));
  RUNNEL_RETURN_IF_ERROR(save_position_.BindInt(2, step));
  RUNNEL_RETURN_IF_ERROR(save_position_.BindBlob(3, position));
  Status status = save_position_.Run();
  save_position_.ClearBindings();
  return status;
}

Result<std::vector<SourcePositionEntry>> CheckpointStore::LoadPositions() {
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement query,
      SqliteStatement::Prepare(db_->handle(),
                               "SELECT source, step, position FROM runnel_source_positions",
                               SqliteContext(db_->path(), "read source positions")));
  std::vector<SourcePositionEntry> out;
  while (true) {
    RUNNEL_ASSIGN_OR_RETURN(bool has_row, query.Step());
    if (!has_row) return out;
    out.push_back({query.ColumnText(0), query.ColumnInt(1), std::string(query.ColumnBlob(2))});
  }
}

Status CheckpointStore::RecordStep(int64_t step, std::string_view watermarks) {
  RUNNEL_RETURN_IF_ERROR(db_->EnsureTransaction());
  RUNNEL_RETURN_IF_ERROR(record_step_.BindInt(1, step));
  RUNNEL_RETURN_IF_ERROR(record_step_.BindBlob(2, watermarks));
  Status status = record_step_.Run();
  record_step_.ClearBindings();
  return status;
}

Result<std::vector<StepEntry>> CheckpointStore::LoadSteps(int64_t after_step) {
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement query,
      SqliteStatement::Prepare(db_->handle(),
                               "SELECT step, watermarks FROM runnel_steps WHERE step > ?1 ORDER "
                               "BY step",
                               SqliteContext(db_->path(), "read the step log")));
  RUNNEL_RETURN_IF_ERROR(query.BindInt(1, after_step));
  std::vector<StepEntry> out;
  while (true) {
    RUNNEL_ASSIGN_OR_RETURN(bool has_row, query.Step());
    if (!has_row) return out;
    out.push_back({query.ColumnInt(0), std::string(query.ColumnBlob(1))});
  }
}

Status CheckpointStore::DeleteStepsThrough(int64_t step) {
  RUNNEL_RETURN_IF_ERROR(db_->EnsureTransaction());
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement erase,
      SqliteStatement::Prepare(db_->handle(), "DELETE FROM runnel_steps WHERE step <= ?1",
                               SqliteContext(db_->path(), "forget checkpointed steps")));
  RUNNEL_RETURN_IF_ERROR(erase.BindInt(1, step));
  return erase.Run();
}

Status CheckpointStore::SaveFinalChanges(const std::vector<FinalChange>& changes) {
  RUNNEL_RETURN_IF_ERROR(ClearFinalChanges());
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement insert,
      SqliteStatement::Prepare(db_->handle(),
                               "INSERT INTO runnel_final_changes (step, sink, time, diff, record) "
                               "VALUES (?1, ?2, ?3, ?4, ?5)",
                               SqliteContext(db_->path(), "record the final step's changes")));
  for (const FinalChange& change : changes) {
    RUNNEL_RETURN_IF_ERROR(insert.BindInt(1, change.step));
    RUNNEL_RETURN_IF_ERROR(insert.BindText(2, change.sink));
    RUNNEL_RETURN_IF_ERROR(insert.BindInt(3, change.time));
    RUNNEL_RETURN_IF_ERROR(insert.BindInt(4, change.diff));
    RUNNEL_RETURN_IF_ERROR(insert.BindBlob(5, change.record));
    RUNNEL_RETURN_IF_ERROR(insert.Run());
    insert.ClearBindings();
  }
  return Status::Ok();
}

Result<std::vector<FinalChange>> CheckpointStore::LoadFinalChanges() {
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement query,
      SqliteStatement::Prepare(db_->handle(),
                               "SELECT step, sink, time, diff, record FROM runnel_final_changes "
                               "ORDER BY seq",
                               SqliteContext(db_->path(), "read the final step's changes")));
  std::vector<FinalChange> out;
  while (true) {
    RUNNEL_ASSIGN_OR_RETURN(bool has_row, query.Step());
    if (!has_row) return out;
    out.push_back({query.ColumnInt(0), query.ColumnText(1), query.ColumnInt(2), query.ColumnInt(3),
                   std::string(query.ColumnBlob(4))});
  }
}

Status CheckpointStore::ClearFinalChanges() {
  RUNNEL_RETURN_IF_ERROR(db_->EnsureTransaction());
  return SqliteExec(db_->handle(), "DELETE FROM runnel_final_changes",
                    SqliteContext(db_->path(), "forget the final step's changes"));
}

Result<int64_t> CheckpointStore::LastStep() {
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement query,
      SqliteStatement::Prepare(db_->handle(),
                               "SELECT max(m) FROM (SELECT max(step) AS m FROM runnel_steps UNION "
                               "ALL SELECT max(step) FROM runnel_node_state)",
                               SqliteContext(db_->path(), "find the last step")));
  RUNNEL_ASSIGN_OR_RETURN(bool has_row, query.Step());
  return has_row ? query.ColumnInt(0) : 0;
}

}  // namespace runnel
