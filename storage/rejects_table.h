// RejectsTable: the RejectSink that keeps rejected payloads in runnel_rejects of the state
// database (SPEC §5), the newest `keep_per_source` per source. Writes join the step's
// transaction (StateDatabase::EnsureTransaction), which the step listener commits.
// Threading: engine thread only, like the database.
#pragma once

#include <cstdint>
#include <memory>

#include "runtime/reject_sink.h"
#include "storage/sqlite_statement.h"
#include "storage/state_database.h"

namespace runnel {

class RejectsTable final : public RejectSink {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  static constexpr int64_t kDefaultKeepPerSource = 1000;

  // `db` must outlive the table.
  static Result<std::unique_ptr<RejectsTable>> Create(
      StateDatabase* db, int64_t keep_per_source = kDefaultKeepPerSource);
  RejectsTable(PrivateTag, StateDatabase* db, SqliteStatement insert, SqliteStatement trim,
               int64_t keep_per_source);

  Status Keep(const RejectedMessage& message) override;

 private:
  StateDatabase* db_;
  SqliteStatement insert_;
  SqliteStatement trim_;
  int64_t keep_per_source_;
};

}  // namespace runnel
