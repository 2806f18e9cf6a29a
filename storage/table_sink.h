// TableSink: keeps a view's current result (no diff column) in a SQLite table of the state
// database: +1 inserts a row, -1 deletes one equal row. Columns are typed INTEGER, REAL or
// TEXT (bool as INTEGER 0/1); `key_columns` (e.g. window_start, window_end, group_by) get an
// index so retractions stay fast. Writes join the state database's step transaction.
// Threading: engine thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/operator.h"
#include "runtime/schema.h"
#include "storage/state_database.h"

namespace runnel {

class TableSink final : public Operator {
  class Impl;
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // `table` must be an identifier ([a-z_][a-z0-9_]*) not starting with "runnel_" (reserved
  // for Runnel's own tables). Drops and recreates the table inside the step transaction (a run
  // that starts over recomputes its results), or with `keep_existing` (a run restored from a
  // checkpoint) continues the table committed with that checkpoint. `db` must
  // outlive the sink. The planner registers db->CommitStep() as a Dataflow step listener;
  // the sink itself never commits.
  // An error while applying a change (disk full, a retraction of a row that is not in the
  // table) is returned by the next Advance().
  static Result<std::unique_ptr<TableSink>> Create(StateDatabase* db, std::string table,
                                                   const Schema& schema,
                                                   std::vector<size_t> key_columns,
                                                   bool keep_existing = false);
  // Only Create() can call this.
  TableSink(PrivateTag, std::unique_ptr<Impl> impl);
  ~TableSink() override;

  void OnChange(int port, const Row& row, Timestamp time, Diff diff) override;
  Status Advance(std::span<const Timestamp> input_watermarks, Timestamp* output_watermark) override;
  Status Close() override;
  OperatorStats stats() const override;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace runnel
