#include "storage/input_log.h"

#include <sqlite3.h>

#include <utility>

namespace runnel {

namespace {

Status Visit(SqliteStatement& query, const std::function<Status(const LoggedRecord&)>& visit) {
  while (true) {
    RUNNEL_ASSIGN_OR_RETURN(bool has_row, query.Step());
    if (!has_row) return Status::Ok();
    LoggedRecord record;
    record.source_id = query.ColumnInt(0);
    record.step = query.ColumnInt(1);
    record.time = query.ColumnInt(2);
    record.arrival = query.ColumnInt(3);
    record.record = query.ColumnBlob(4);
    record.seq = query.ColumnInt(5);
    Status status = visit(record);
    if (!status.ok()) {
      query.Reset();
      return status;
    }
  }
}

}  // namespace

Result<std::unique_ptr<InputLog>> InputLog::Open(StateDatabase* db) {
  auto log = std::make_unique<InputLog>(PrivateTag{}, db);
  RUNNEL_ASSIGN_OR_RETURN(
      log->append_,
      SqliteStatement::Prepare(db->handle(),
                               "INSERT INTO runnel_input_log (source_id, step, time, arrival, "
                               "record) VALUES (?1, ?2, ?3, ?4, ?5)",
                               SqliteContext(db->path(), "append to the input log"),
                               /*persistent=*/true));
  return log;
}

InputLog::InputLog(PrivateTag, StateDatabase* db) : db_(db) {}
InputLog::~InputLog() = default;

Result<InputLog::SourceEntry> InputLog::FindSource(const std::string& name) {
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement find,
      SqliteStatement::Prepare(db_->handle(),
                               "SELECT id, fields FROM runnel_sources WHERE name = ?1",
                               SqliteContext(db_->path(), "look up source " + name)));
  RUNNEL_RETURN_IF_ERROR(find.BindText(1, name));
  RUNNEL_ASSIGN_OR_RETURN(bool found, find.Step());
  if (found) return SourceEntry{find.ColumnInt(0), find.ColumnText(1)};
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement list,
      SqliteStatement::Prepare(db_->handle(), "SELECT name FROM runnel_sources ORDER BY name",
                               SqliteContext(db_->path(), "list logged sources")));
  std::string names;
  while (true) {
    RUNNEL_ASSIGN_OR_RETURN(bool has_row, list.Step());
    if (!has_row) break;
    names += (names.empty() ? "" : ", ") + list.ColumnText(0);
  }
  return Status::Invalid(
      db_->path() + ": no input log for source '" + name + "' (" +
      (names.empty() ? std::string("it holds no logged source") : "logged sources: " + names) +
      ")");
}

Result<int64_t> InputLog::RegisterSource(const std::string& name, const std::string& fields) {
  auto existing = FindSource(name);
  if (existing.ok()) {
    if (existing->fields != fields) {
      return Status::Invalid("source '" + name +
                             "' has changed its fields since its input log "
                             "was written (logged: " +
                             existing->fields + "; now: " + fields +
                             "): restart with --reset-state, or keep the old fields");
    }
    return existing->id;
  }
  RUNNEL_RETURN_IF_ERROR(db_->EnsureTransaction());
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement insert,
      SqliteStatement::Prepare(db_->handle(),
                               "INSERT INTO runnel_sources (name, fields) VALUES (?1, ?2)",
                               SqliteContext(db_->path(), "register source " + name)));
  RUNNEL_RETURN_IF_ERROR(insert.BindText(1, name));
  RUNNEL_RETURN_IF_ERROR(insert.BindText(2, fields));
  RUNNEL_RETURN_IF_ERROR(insert.Run());
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_->handle()));
}

Status InputLog::Append(int64_t source_id, int64_t step, Timestamp time, int64_t arrival,
                        std::string_view record) {
  RUNNEL_RETURN_IF_ERROR(db_->EnsureTransaction());
  RUNNEL_RETURN_IF_ERROR(append_.BindInt(1, source_id));
  RUNNEL_RETURN_IF_ERROR(append_.BindInt(2, step));
  RUNNEL_RETURN_IF_ERROR(append_.BindInt(3, time));
  RUNNEL_RETURN_IF_ERROR(append_.BindInt(4, arrival));
  RUNNEL_RETURN_IF_ERROR(append_.BindBlob(5, record));
  Status status = append_.Run();
  append_.ClearBindings();
  return status;
}

Status InputLog::ReadSteps(int64_t after_step, int64_t through_step,
                           const std::function<Status(const LoggedRecord&)>& visit) {
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement query,
      SqliteStatement::Prepare(db_->handle(),
                               "SELECT source_id, step, time, arrival, record, seq FROM "
                               "runnel_input_log WHERE step > ?1 AND step <= ?2 ORDER BY step, seq",
                               SqliteContext(db_->path(), "read the input log")));
  RUNNEL_RETURN_IF_ERROR(query.BindInt(1, after_step));
  RUNNEL_RETURN_IF_ERROR(query.BindInt(2, through_step));
  return Visit(query, visit);
}

Status InputLog::ReadSource(int64_t source_id, int64_t after_seq, Timestamp since, Timestamp until,
                            int64_t limit,
                            const std::function<Status(const LoggedRecord&)>& visit) {
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement query,
      SqliteStatement::Prepare(db_->handle(),
                               "SELECT source_id, step, time, arrival, record, seq FROM "
                               "runnel_input_log WHERE source_id = ?1 AND seq > ?2 AND time >= ?3 "
                               "AND time < ?4 ORDER BY seq LIMIT ?5",
                               SqliteContext(db_->path(), "read the input log")));
  RUNNEL_RETURN_IF_ERROR(query.BindInt(1, source_id));
  RUNNEL_RETURN_IF_ERROR(query.BindInt(2, after_seq));
  RUNNEL_RETURN_IF_ERROR(query.BindInt(3, since));
  RUNNEL_RETURN_IF_ERROR(query.BindInt(4, until));
  RUNNEL_RETURN_IF_ERROR(query.BindInt(5, limit));
  return Visit(query, visit);
}

Result<int64_t> InputLog::DeleteArrivedBefore(int64_t arrival, int64_t checkpoint_step) {
  // Records are appended in arrival order, so the cut is found by binary search over seq
  // (rowid lookups) instead of scanning the log at every checkpoint.
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement bounds,
      SqliteStatement::Prepare(db_->handle(), "SELECT min(seq), max(seq) FROM runnel_input_log",
                               SqliteContext(db_->path(), "apply log_retention")));
  RUNNEL_ASSIGN_OR_RETURN(bool has_row, bounds.Step());
  if (!has_row) return 0;
  int64_t lo = bounds.ColumnInt(0);
  int64_t hi = bounds.ColumnInt(1) + 1;
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement probe,
      SqliteStatement::Prepare(db_->handle(),
                               "SELECT seq, arrival FROM runnel_input_log WHERE seq >= ?1 ORDER "
                               "BY seq LIMIT 1",
                               SqliteContext(db_->path(), "apply log_retention")));
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    RUNNEL_RETURN_IF_ERROR(probe.BindInt(1, mid));
    RUNNEL_ASSIGN_OR_RETURN(bool found, probe.Step());
    const int64_t seq = found ? probe.ColumnInt(0) : hi;
    const bool old = found && probe.ColumnInt(1) < arrival;
    probe.Reset();
    if (old) {
      lo = seq + 1;
    } else {
      hi = mid;
    }
  }
  RUNNEL_RETURN_IF_ERROR(db_->EnsureTransaction());
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement erase,
      SqliteStatement::Prepare(db_->handle(),
                               "DELETE FROM runnel_input_log WHERE seq < ?1 AND step <= ?2",
                               SqliteContext(db_->path(), "apply log_retention")));
  RUNNEL_RETURN_IF_ERROR(erase.BindInt(1, lo));
  RUNNEL_RETURN_IF_ERROR(erase.BindInt(2, checkpoint_step));
  RUNNEL_RETURN_IF_ERROR(erase.Run());
  return static_cast<int64_t>(sqlite3_changes(db_->handle()));
}

}  // namespace runnel
