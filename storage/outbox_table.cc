#include "storage/outbox_table.h"

#include <sqlite3.h>

#include <utility>

namespace runnel {

OutboxTable::OutboxTable(PrivateTag, StateDatabase* db, std::string sink)
    : db_(db), sink_(std::move(sink)) {}

Result<std::unique_ptr<OutboxTable>> OutboxTable::Create(StateDatabase* db, std::string sink) {
  auto outbox = std::make_unique<OutboxTable>(PrivateTag(), db, std::move(sink));
  const std::string context = SqliteContext(db->path(), "outbox of " + outbox->sink_);
  RUNNEL_ASSIGN_OR_RETURN(outbox->insert_, SqliteStatement::Prepare(
                                               db->handle(),
                                               "INSERT INTO runnel_outbox (sink, topic, payload, "
                                               "qos, retain) VALUES (?1, ?2, ?3, ?4, ?5)",
                                               context + ": store a message", /*persistent=*/true));
  RUNNEL_ASSIGN_OR_RETURN(
      outbox->remove_,
      SqliteStatement::Prepare(db->handle(), "DELETE FROM runnel_outbox WHERE id = ?1",
                               context + ": remove a delivered message", /*persistent=*/true));
  return outbox;
}

Result<std::vector<OutboxMessage>> OutboxTable::Load() {
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement select,
      SqliteStatement::Prepare(db_->handle(),
                               "SELECT id, topic, payload, qos, retain FROM runnel_outbox "
                               "WHERE sink = ?1 ORDER BY id",
                               SqliteContext(db_->path(), "read the outbox of " + sink_)));
  RUNNEL_RETURN_IF_ERROR(select.BindText(1, sink_));
  std::vector<OutboxMessage> messages;
  while (true) {
    RUNNEL_ASSIGN_OR_RETURN(bool has_row, select.Step());
    if (!has_row) break;
    OutboxMessage m;
    m.id = select.ColumnInt(0);
    m.topic = select.ColumnText(1);
    m.payload = select.ColumnText(2);
    m.qos = static_cast<int>(select.ColumnInt(3));
    m.retain = select.ColumnInt(4) != 0;
    messages.push_back(std::move(m));
  }
  return messages;
}

Status OutboxTable::Append(std::span<OutboxMessage> messages) {
  if (messages.empty()) return Status::Ok();
  RUNNEL_RETURN_IF_ERROR(db_->EnsureTransaction());
  RUNNEL_RETURN_IF_ERROR(insert_.BindText(1, sink_));
  for (OutboxMessage& m : messages) {
    RUNNEL_RETURN_IF_ERROR(insert_.BindText(2, m.topic));
    // Sink payloads are JSON text, so they are stored as text (readable with the sqlite3 tool).
    RUNNEL_RETURN_IF_ERROR(insert_.BindText(3, m.payload));
    RUNNEL_RETURN_IF_ERROR(insert_.BindInt(4, m.qos));
    RUNNEL_RETURN_IF_ERROR(insert_.BindInt(5, m.retain ? 1 : 0));
    RUNNEL_RETURN_IF_ERROR(insert_.Run());
    m.id = sqlite3_last_insert_rowid(db_->handle());
  }
  insert_.ClearBindings();
  return Status::Ok();
}

Status OutboxTable::Remove(std::span<const int64_t> ids) {
  if (ids.empty()) return Status::Ok();
  RUNNEL_RETURN_IF_ERROR(db_->EnsureTransaction());
  for (int64_t id : ids) {
    RUNNEL_RETURN_IF_ERROR(remove_.BindInt(1, id));
    RUNNEL_RETURN_IF_ERROR(remove_.Run());
  }
  return Status::Ok();
}

Status OutboxTable::RemoveAtEnd(std::span<const int64_t> ids) {
  if (ids.empty() || db_->in_transaction()) return Status::Ok();
  RUNNEL_RETURN_IF_ERROR(Remove(ids));
  return db_->CommitStep();
}

}  // namespace runnel
