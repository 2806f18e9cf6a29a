#include "storage/rejects_reader.h"

#include <sqlite3.h>

namespace runnel {

namespace {
constexpr int kBusyTimeoutMs = 1000;
}  // namespace

Result<std::unique_ptr<RejectsReader>> RejectsReader::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  // Owned from here on: a failed open still allocates a handle that must be closed.
  auto reader = std::make_unique<RejectsReader>(PrivateTag(), raw);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, SqliteContext(path, "open read-only"));
  RUNNEL_RETURN_IF_ERROR(SqliteExec(raw, "PRAGMA busy_timeout = " + std::to_string(kBusyTimeoutMs),
                                    SqliteContext(path, "set busy_timeout")));
  RUNNEL_ASSIGN_OR_RETURN(
      reader->recent_,
      SqliteStatement::Prepare(
          raw,
          "SELECT id, source, topic, arrival, reason, substr(payload, 1, ?4), length(payload) "
          "FROM runnel_rejects WHERE (?1 = '' OR source = ?1) AND (?2 = 0 OR id < ?2) "
          "ORDER BY id DESC LIMIT ?3",
          SqliteContext(path, "read rejected payloads"), /*persistent=*/true));
  return reader;
}

RejectsReader::RejectsReader(PrivateTag, sqlite3* db) : db_(db) {}

RejectsReader::~RejectsReader() {
  recent_.Finalize();
  sqlite3_close_v2(db_);
}

Result<std::vector<RejectedPayload>> RejectsReader::Recent(const std::string& source,
                                                           int64_t before, size_t limit) {
  std::lock_guard lock(mu_);
  RUNNEL_RETURN_IF_ERROR(recent_.BindText(1, source));
  RUNNEL_RETURN_IF_ERROR(recent_.BindInt(2, before));
  RUNNEL_RETURN_IF_ERROR(recent_.BindInt(3, static_cast<int64_t>(limit)));
  RUNNEL_RETURN_IF_ERROR(recent_.BindInt(4, static_cast<int64_t>(kMaxPayloadBytes)));
  std::vector<RejectedPayload> out;
  while (true) {
    auto row = recent_.Step();
    if (!row.ok()) {
      recent_.ClearBindings();
      return row.status();
    }
    if (!*row) break;
    out.push_back({recent_.ColumnInt(0), recent_.ColumnText(1), recent_.ColumnText(2),
                   recent_.ColumnInt(3), recent_.ColumnText(4), recent_.ColumnText(5),
                   recent_.ColumnInt(6)});
  }
  recent_.Reset();
  recent_.ClearBindings();
  return out;
}

}  // namespace runnel
