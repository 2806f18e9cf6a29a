// InputLog: every record a source emitted, in the state database (`runnel_input_log`), in
// arrival order and tagged with the engine step that consumed it (SPEC §6). It is the stored
// sensor log that `runnel export` writes and `--replay SOURCE=runnel.db` reads, and what
// recovery re-runs after the last checkpoint. Records are opaque bytes (the caller encodes
// rows); appends join the state database's step transaction. Threading: the connection's
// thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/status.h"
#include "runtime/time.h"
#include "storage/state_database.h"

namespace runnel {

struct LoggedRecord {
  int64_t seq = 0;  // log order
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

  // Joins the step transaction (opening it if needed).
  Status Append(int64_t source_id, int64_t step, Timestamp time, int64_t arrival,
                std::string_view record);

  // Records of steps in (after_step, through_step], in step order and log order within a step
  // (which is log order: steps only grow), read with one index scan.
  Status ReadSteps(int64_t after_step, int64_t through_step,
                   const std::function<Status(const LoggedRecord&)>& visit);
  // Up to `limit` records of one source after log position `after_seq` with
  // since <= time < until, in log (arrival) order.
  Status ReadSource(int64_t source_id, int64_t after_seq, Timestamp since, Timestamp until,
                    int64_t limit, const std::function<Status(const LoggedRecord&)>& visit);
  // Deletes records that arrived before `arrival` (log_retention) and that recovery no longer
  // needs (step <= the checkpoint's step), in the step transaction. Returns how many.
  Result<int64_t> DeleteArrivedBefore(int64_t arrival, int64_t checkpoint_step);

 private:
  StateDatabase* db_;
  SqliteStatement append_;
};

}  // namespace runnel
