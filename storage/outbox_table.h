// OutboxTable: an MQTT sink's MessageOutbox in the state database's runnel_outbox table, one
// row per message keyed by the sink's name, in id order. Writes join the step transaction
// (the planner's step listener commits it), so a step's results and its messages are durable
// together. Threading: engine thread only.
#pragma once

#include <memory>
#include <string>

#include "runtime/message_outbox.h"
#include "storage/sqlite_statement.h"
#include "storage/state_database.h"

namespace runnel {

class OutboxTable final : public MessageOutbox {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // `sink` names the sink's rows; it must stay the same across runs for a restart to find
  // them. `db` must outlive the outbox.
  static Result<std::unique_ptr<OutboxTable>> Create(StateDatabase* db, std::string sink);
  OutboxTable(PrivateTag, StateDatabase* db, std::string sink);

  Result<std::vector<OutboxMessage>> Load() override;
  Status Append(std::span<OutboxMessage> messages) override;
  Status Remove(std::span<const int64_t> ids) override;
  Status RemoveAtEnd(std::span<const int64_t> ids) override;

 private:
  StateDatabase* db_;
  std::string sink_;
  SqliteStatement insert_;
  SqliteStatement remove_;
};

}  // namespace runnel
