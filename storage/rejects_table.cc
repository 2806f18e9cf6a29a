#include "storage/rejects_table.h"

#include <utility>

namespace runnel {

Result<std::unique_ptr<RejectsTable>> RejectsTable::Create(StateDatabase* db,
                                                           int64_t keep_per_source) {
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement insert,
      SqliteStatement::Prepare(db->handle(),
                               "INSERT INTO runnel_rejects (source, topic, arrival, reason, "
                               "payload) VALUES (?1, ?2, ?3, ?4, ?5)",
                               SqliteContext(db->path(), "keeping a rejected payload"), true));
  // Everything of the source older than its keep_per_source newest rows.
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement trim,
      SqliteStatement::Prepare(db->handle(),
                               "DELETE FROM runnel_rejects WHERE source = ?1 AND id <= (SELECT id "
                               "FROM runnel_rejects WHERE source = ?1 ORDER BY id DESC LIMIT 1 "
                               "OFFSET ?2)",
                               SqliteContext(db->path(), "trimming rejected payloads"), true));
  return std::make_unique<RejectsTable>(PrivateTag{}, db, std::move(insert), std::move(trim),
                                        keep_per_source);
}

RejectsTable::RejectsTable(PrivateTag, StateDatabase* db, SqliteStatement insert,
                           SqliteStatement trim, int64_t keep_per_source)
    : db_(db),
      insert_(std::move(insert)),
      trim_(std::move(trim)),
      keep_per_source_(keep_per_source) {}

Status RejectsTable::Keep(const RejectedMessage& message) {
  RUNNEL_RETURN_IF_ERROR(db_->EnsureTransaction());
  RUNNEL_RETURN_IF_ERROR(insert_.BindText(1, message.source));
  RUNNEL_RETURN_IF_ERROR(insert_.BindText(2, message.topic));
  RUNNEL_RETURN_IF_ERROR(insert_.BindInt(3, message.arrival));
  RUNNEL_RETURN_IF_ERROR(insert_.BindText(4, message.reason));
  RUNNEL_RETURN_IF_ERROR(insert_.BindBlob(5, message.payload));
  Status inserted = insert_.Run();
  insert_.ClearBindings();
  RUNNEL_RETURN_IF_ERROR(inserted);
  RUNNEL_RETURN_IF_ERROR(trim_.BindText(1, message.source));
  RUNNEL_RETURN_IF_ERROR(trim_.BindInt(2, keep_per_source_));
  Status trimmed = trim_.Run();
  trim_.ClearBindings();
  return trimmed;
}

}  // namespace runnel
