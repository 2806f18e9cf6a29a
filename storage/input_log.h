// InputLog: every record a source emitted, in the state database (`runnel_input_log`), in
// arrival order and tagged with the engine step that consumed it (SPEC §6). It is the stored
// sensor log that `runnel export` writes and `--replay SOURCE=runnel.db` reads, and what
// recovery re-runs after the last checkpoint. Records are opaque bytes (the caller encodes
// rows). They are stored in batches, one row per run of records of one source in one step
// (a row per record cost three B-tree inserts each: most of an MQTT record's cost), written
// by Flush() in the state database's step transaction. Threading: the connection's thread
// only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/status.h"
#include "runtime/time.h"
#include "storage/state_database.h"

namespace runnel {

struct LoggedRecord {
  int64_t seq = 0;  // log order: consecutive within a batch, increasing across batches
  int64_t source_id = 0;
  int64_t step = 0;
  Timestamp time = 0;
  int64_t arrival = 0;      // gateway clock, epoch ms
  std::string_view record;  // valid during the callback only
};

class InputLog {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // `db` must outlive the log.
  static Result<std::unique_ptr<InputLog>> Open(StateDatabase* db);
  InputLog(PrivateTag, StateDatabase* db);
  ~InputLog();
  InputLog(const InputLog&) = delete;
  InputLog& operator=(const InputLog&) = delete;

  // The id of source `name`, registering it with its column list `fields` the first time.
  // A source whose stored fields differ is refused (its log would no longer read back).
  Result<int64_t> RegisterSource(const std::string& name, const std::string& fields);
  // The id and fields of a stored source (NotFound-style Invalid error naming the sources
  // the database holds when absent).
  struct SourceEntry {
    int64_t id = 0;
    std::string fields;
  };
  Result<SourceEntry> FindSource(const std::string& name);

  // Adds a record to the pending batch; a batch ends at a change of source or step, or when
  // it is large, and is then written in the step transaction (opening it if needed).
  Status Append(int64_t source_id, int64_t step, Timestamp time, int64_t arrival,
                std::string_view record);
  // Writes the pending batch in the step transaction. REQUIRES: called before the step
  // commits, or its last records are not in it. The read and delete functions flush first.
  Status Flush();

  // Records of steps in (after_step, through_step], in step order and log order within a step
  // (which is log order: steps only grow), read with one index scan.
  Status ReadSteps(int64_t after_step, int64_t through_step,
                   const std::function<Status(const LoggedRecord&)>& visit);
  // Up to `limit` records of one source after log position `after_seq` with
  // since <= time < until (until = kMaxTime: no upper bound), in log (arrival) order.
  Status ReadSource(int64_t source_id, int64_t after_seq, Timestamp since, Timestamp until,
                    int64_t limit, const std::function<Status(const LoggedRecord&)>& visit);
  // Deletes records that arrived before `arrival` (log_retention) and that recovery no longer
  // needs (step <= the checkpoint's step), in the step transaction, whole batches at a time
  // (a batch goes once its last record is old enough). Returns how many records.
  Result<int64_t> DeleteArrivedBefore(int64_t arrival, int64_t checkpoint_step);

 private:
  // The records appended since the last Flush(): all of one source and step.
  struct Batch {
    int64_t source_id = 0;
    int64_t step = 0;
    std::vector<Timestamp> times;
    std::vector<int64_t> arrivals;
    std::vector<size_t> ends;  // end offset of each record in `bytes`
    std::string bytes;
  };

  // Calls visit for each record of the batches `query` returns (see kBatchColumns), skipping
  // records with seq <= after_seq or a time outside [since, until); stops after `limit`.
  Status VisitBatches(SqliteStatement& query, int64_t after_seq, Timestamp since, Timestamp until,
                      int64_t limit, const std::function<Status(const LoggedRecord&)>& visit);

  StateDatabase* db_;
  SqliteStatement append_;
  int64_t next_seq_ = 1;  // log position of the next record
  Batch pending_;
};

}  // namespace runnel
