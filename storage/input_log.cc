#include "storage/input_log.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "runtime/snapshot.h"

namespace runnel {

// A row of runnel_input_log is a batch: `count` records of one source in one step, with log
// positions seq .. seq + count - 1. A batch of one record stores the record as is (so that a
// version 2 log, one row per record, became a valid log by a plain SQL copy); a larger one
// holds a snapshot (runtime/snapshot.h) of, per record, its time and arrival as zigzag deltas
// from the previous record's (the first from min_time and first_arrival) and its bytes.
namespace {

constexpr size_t kMaxBatchRecords = 4096;
constexpr size_t kMaxBatchBytes = size_t{1} << 20;

// since <= time < until, where until = kMaxTime is no upper bound (the default of export).
bool InRange(Timestamp time, Timestamp since, Timestamp until) {
  return time >= since && (until == kMaxTime || time < until);
}

// The columns every batch query selects, in this order.
constexpr std::string_view kBatchColumns =
    "seq, source_id, step, count, min_time, max_time, first_arrival, records";

}  // namespace

Result<std::unique_ptr<InputLog>> InputLog::Open(StateDatabase* db) {
  auto log = std::make_unique<InputLog>(PrivateTag{}, db);
  RUNNEL_ASSIGN_OR_RETURN(
      log->append_,
      SqliteStatement::Prepare(db->handle(),
                               "INSERT INTO runnel_input_log (seq, source_id, step, count, "
                               "min_time, max_time, first_arrival, last_arrival, records) VALUES "
                               "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                               SqliteContext(db->path(), "append to the input log"),
                               /*persistent=*/true));
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement last,
      SqliteStatement::Prepare(db->handle(),
                               "SELECT seq + count FROM runnel_input_log ORDER BY seq DESC LIMIT 1",
                               SqliteContext(db->path(), "open the input log")));
  RUNNEL_ASSIGN_OR_RETURN(bool has_row, last.Step());
  if (has_row) log->next_seq_ = last.ColumnInt(0);
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
  Batch& b = pending_;
  if (!b.times.empty() &&
      (b.source_id != source_id || b.step != step || b.times.size() == kMaxBatchRecords ||
       b.bytes.size() >= kMaxBatchBytes)) {
    RUNNEL_RETURN_IF_ERROR(Flush());
  }
  b.source_id = source_id;
  b.step = step;
  b.times.push_back(time);
  b.arrivals.push_back(arrival);
  b.bytes.append(record);
  b.ends.push_back(b.bytes.size());
  return Status::Ok();
}

Status InputLog::Flush() {
  Batch& b = pending_;
  if (b.times.empty()) return Status::Ok();
  const auto count = static_cast<int64_t>(b.times.size());
  const Timestamp min_time = *std::min_element(b.times.begin(), b.times.end());
  const Timestamp max_time = *std::max_element(b.times.begin(), b.times.end());
  std::string encoded;
  if (count > 1) {
    SnapshotWriter out;
    Timestamp time = min_time;
    int64_t arrival = b.arrivals.front();
    size_t begin = 0;
    for (size_t i = 0; i < b.times.size(); ++i) {
      // Wrapping differences: exact for any pair of int64 values once added back.
      out.WriteSigned(
          static_cast<int64_t>(static_cast<uint64_t>(b.times[i]) - static_cast<uint64_t>(time)));
      out.WriteSigned(static_cast<int64_t>(static_cast<uint64_t>(b.arrivals[i]) -
                                           static_cast<uint64_t>(arrival)));
      out.WriteString(std::string_view(b.bytes).substr(begin, b.ends[i] - begin));
      time = b.times[i];
      arrival = b.arrivals[i];
      begin = b.ends[i];
    }
    encoded = out.Release();
  }
  RUNNEL_RETURN_IF_ERROR(db_->EnsureTransaction());
  RUNNEL_RETURN_IF_ERROR(append_.BindInt(1, next_seq_));
  RUNNEL_RETURN_IF_ERROR(append_.BindInt(2, b.source_id));
  RUNNEL_RETURN_IF_ERROR(append_.BindInt(3, b.step));
  RUNNEL_RETURN_IF_ERROR(append_.BindInt(4, count));
  RUNNEL_RETURN_IF_ERROR(append_.BindInt(5, min_time));
  RUNNEL_RETURN_IF_ERROR(append_.BindInt(6, max_time));
  RUNNEL_RETURN_IF_ERROR(append_.BindInt(7, b.arrivals.front()));
  RUNNEL_RETURN_IF_ERROR(append_.BindInt(8, b.arrivals.back()));
  RUNNEL_RETURN_IF_ERROR(append_.BindBlob(9, count > 1 ? std::string_view(encoded) : b.bytes));
  Status status = append_.Run();
  append_.ClearBindings();
  RUNNEL_RETURN_IF_ERROR(status);
  next_seq_ += count;
  b.times.clear();
  b.arrivals.clear();
  b.ends.clear();
  b.bytes.clear();
  return Status::Ok();
}

Status InputLog::VisitBatches(SqliteStatement& query, int64_t after_seq, Timestamp since,
                              Timestamp until, int64_t limit,
                              const std::function<Status(const LoggedRecord&)>& visit) {
  int64_t visited = 0;
  while (visited < limit) {
    RUNNEL_ASSIGN_OR_RETURN(bool has_row, query.Step());
    if (!has_row) return Status::Ok();
    LoggedRecord record;
    const int64_t first_seq = query.ColumnInt(0);
    record.source_id = query.ColumnInt(1);
    record.step = query.ColumnInt(2);
    const int64_t count = query.ColumnInt(3);
    const Timestamp min_time = query.ColumnInt(4);
    const Timestamp max_time = query.ColumnInt(5);
    const std::string_view blob = query.ColumnBlob(7);
    if (first_seq + count - 1 <= after_seq || max_time < since ||
        !InRange(min_time, kMinTime, until)) {
      continue;
    }
    const auto fail = [&](const Status& status) {
      query.Reset();
      return status.WithContext(db_->path() + ": input log batch at record " +
                                std::to_string(first_seq));
    };
    const auto deliver = [&] {
      ++visited;
      Status status = visit(record);
      if (!status.ok()) query.Reset();
      return status;
    };
    if (count == 1) {
      record.seq = first_seq;
      record.time = min_time;
      record.arrival = query.ColumnInt(6);
      record.record = blob;
      RUNNEL_RETURN_IF_ERROR(deliver());
      continue;
    }
    auto reader = SnapshotReader::Open(blob);
    if (!reader.ok()) return fail(reader.status());
    uint64_t time = static_cast<uint64_t>(min_time);
    uint64_t arrival = static_cast<uint64_t>(query.ColumnInt(6));
    std::string bytes;
    for (int64_t i = 0; i < count && visited < limit; ++i) {
      int64_t time_delta = 0, arrival_delta = 0;
      Status read = reader->ReadSigned("record time", &time_delta);
      if (read.ok()) read = reader->ReadSigned("record arrival", &arrival_delta);
      if (read.ok()) read = reader->ReadString("record", &bytes);
      if (!read.ok()) return fail(read);
      time += static_cast<uint64_t>(time_delta);
      arrival += static_cast<uint64_t>(arrival_delta);
      record.seq = first_seq + i;
      record.time = static_cast<Timestamp>(time);
      record.arrival = static_cast<int64_t>(arrival);
      if (record.seq <= after_seq || !InRange(record.time, since, until)) continue;
      record.record = bytes;
      RUNNEL_RETURN_IF_ERROR(deliver());
    }
    if (visited < limit) {
      Status end = reader->ExpectEnd();
      if (!end.ok()) return fail(end);
    }
  }
  query.Reset();
  return Status::Ok();
}

Status InputLog::ReadSteps(int64_t after_step, int64_t through_step,
                           const std::function<Status(const LoggedRecord&)>& visit) {
  RUNNEL_RETURN_IF_ERROR(Flush());
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement query,
      SqliteStatement::Prepare(db_->handle(),
                               "SELECT " + std::string(kBatchColumns) +
                                   " FROM runnel_input_log WHERE step > ?1 AND step <= ?2 ORDER "
                                   "BY step, seq",
                               SqliteContext(db_->path(), "read the input log")));
  RUNNEL_RETURN_IF_ERROR(query.BindInt(1, after_step));
  RUNNEL_RETURN_IF_ERROR(query.BindInt(2, through_step));
  return VisitBatches(query, 0, kMinTime, kMaxTime, INT64_MAX, visit);
}

Status InputLog::ReadSource(int64_t source_id, int64_t after_seq, Timestamp since, Timestamp until,
                            int64_t limit,
                            const std::function<Status(const LoggedRecord&)>& visit) {
  RUNNEL_RETURN_IF_ERROR(Flush());
  // From the batch holding record after_seq + 1 (the last one starting at or before it).
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement start,
      SqliteStatement::Prepare(db_->handle(),
                               "SELECT seq FROM runnel_input_log WHERE source_id = ?1 AND seq <= "
                               "?2 ORDER BY seq DESC LIMIT 1",
                               SqliteContext(db_->path(), "read the input log")));
  RUNNEL_RETURN_IF_ERROR(start.BindInt(1, source_id));
  RUNNEL_RETURN_IF_ERROR(start.BindInt(2, after_seq + 1));
  RUNNEL_ASSIGN_OR_RETURN(bool found, start.Step());
  const int64_t from = found ? start.ColumnInt(0) : after_seq + 1;
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement query,
      SqliteStatement::Prepare(db_->handle(),
                               "SELECT " + std::string(kBatchColumns) +
                                   " FROM runnel_input_log WHERE source_id = ?1 AND seq >= ?2 "
                                   "ORDER BY seq",
                               SqliteContext(db_->path(), "read the input log")));
  RUNNEL_RETURN_IF_ERROR(query.BindInt(1, source_id));
  RUNNEL_RETURN_IF_ERROR(query.BindInt(2, from));
  return VisitBatches(query, after_seq, since, until, limit, visit);
}

Result<int64_t> InputLog::DeleteArrivedBefore(int64_t arrival, int64_t checkpoint_step) {
  RUNNEL_RETURN_IF_ERROR(Flush());
  // Batches are appended in arrival order, so the cut is found by binary search over seq
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
                               "SELECT seq, last_arrival FROM runnel_input_log WHERE seq >= ?1 "
                               "ORDER BY seq LIMIT 1",
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
      SqliteStatement counted,
      SqliteStatement::Prepare(db_->handle(),
                               "SELECT coalesce(sum(count), 0) FROM runnel_input_log WHERE seq < "
                               "?1 AND step <= ?2",
                               SqliteContext(db_->path(), "apply log_retention")));
  RUNNEL_RETURN_IF_ERROR(counted.BindInt(1, lo));
  RUNNEL_RETURN_IF_ERROR(counted.BindInt(2, checkpoint_step));
  RUNNEL_ASSIGN_OR_RETURN(bool summed, counted.Step());
  const int64_t records = summed ? counted.ColumnInt(0) : 0;
  counted.Reset();
  if (records == 0) return 0;
  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement erase,
      SqliteStatement::Prepare(db_->handle(),
                               "DELETE FROM runnel_input_log WHERE seq < ?1 AND step <= ?2",
                               SqliteContext(db_->path(), "apply log_retention")));
  RUNNEL_RETURN_IF_ERROR(erase.BindInt(1, lo));
  RUNNEL_RETURN_IF_ERROR(erase.BindInt(2, checkpoint_step));
  RUNNEL_RETURN_IF_ERROR(erase.Run());
  return records;
}

}  // namespace runnel
