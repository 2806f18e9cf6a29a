#include "storage/sqlite_statement.h"

#include <sqlite3.h>

#include <climits>
#include <utility>

namespace runnel {

Status SqliteError(sqlite3* db, int rc, std::string_view context) {
  // The handle's message is more specific ("no such table: x") than the code's generic text;
  // without a handle (out of memory at open) only the generic text exists.
  const char* sqlite_message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string message(context);
  message += ": ";
  const int primary = rc & 0xff;  // connections report extended codes
  if (primary == SQLITE_FULL) {
    return Status::IoError(message + "disk full (" + sqlite_message +
                           "): free space on the state directory's filesystem");
  }
  message += sqlite_message;
  switch (primary) {
    case SQLITE_BUSY:  // another connection held the write lock for the whole busy_timeout
      return Status::IoError(message + " (is another Runnel process using this state directory?)");
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
    case SQLITE_PROTOCOL:
      return Status::IoError(std::move(message));
    case SQLITE_CORRUPT:
      return Status::Corruption(message +
                                " (the file is damaged: restore it from a backup, or let "
                                "`runnel run --reset-state` start over with a new one)");
    case SQLITE_NOTADB:
      return Status::Corruption(std::move(message));
    default:
      return Status::Runtime(std::move(message));
  }
}

std::string SqliteContext(std::string_view path, std::string_view operation) {
  std::string context(path);
  context += ": ";
  context += operation;
  return context;
}

std::string QuoteIdentifier(std::string_view name) {
  std::string quoted;
  quoted.reserve(name.size() + 2);
  quoted += '"';
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

void SqliteStatement::Finalizer::operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }

Result<SqliteStatement> SqliteStatement::Prepare(sqlite3* db, std::string_view sql,
                                                 std::string context, bool persistent) {
  if (sql.size() > static_cast<size_t>(INT_MAX)) {
    return Status::Runtime(context + ": SQL statement too long");
  }
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              persistent ? SQLITE_PREPARE_PERSISTENT : 0, &raw, &tail);
  SqliteStatement statement;
  statement.stmt_.reset(raw);
  statement.db_ = db;
  statement.context_ = std::move(context);
  if (rc != SQLITE_OK) return SqliteError(db, rc, statement.context_);
  if (raw == nullptr) return Status::Runtime(statement.context_ + ": empty SQL statement");
  // Only one statement per call: a second one would be silently ignored.
  std::string_view rest = sql.substr(static_cast<size_t>(tail - sql.data()));
  if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
    return Status::Runtime(statement.context_ + ": more than one SQL statement in one prepare");
  }
  return statement;
}

Status SqliteStatement::Error(int rc) const { return SqliteError(db_, rc, context_); }

Status SqliteStatement::Bind(int index, const Value& value) {
  sqlite3_stmt* stmt = stmt_.get();
  int rc = SQLITE_OK;
  switch (value.type()) {
    case ValueType::kNull:
      rc = sqlite3_bind_null(stmt, index);
      break;
    case ValueType::kBool:
      rc = sqlite3_bind_int64(stmt, index, value.AsBool() ? 1 : 0);
      break;
    case ValueType::kInt:
      rc = sqlite3_bind_int64(stmt, index, value.AsInt());
      break;
    case ValueType::kFloat:
      rc = sqlite3_bind_double(stmt, index, value.AsFloat());
      break;
    case ValueType::kString:
      return BindText(index, value.AsString());
  }
  return rc == SQLITE_OK ? Status::Ok() : Error(rc);
}

Status SqliteStatement::BindInt(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_.get(), index, value);
  return rc == SQLITE_OK ? Status::Ok() : Error(rc);
}

Status SqliteStatement::BindText(int index, std::string_view text) {
  // SQLITE_STATIC: the row outlives the step, so copying every string would be wasted work on
  // the hot path (10 M rows in a static run). A null data() would bind NULL, not ''.
  const char* data = text.data() != nullptr ? text.data() : "";
  int rc = sqlite3_bind_text64(stmt_.get(), index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8);
  return rc == SQLITE_OK ? Status::Ok() : Error(rc);
}

Status SqliteStatement::BindBlob(int index, std::string_view bytes) {
  // A null pointer would bind NULL, not an empty blob.
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  int rc = sqlite3_bind_blob64(stmt_.get(), index, data, bytes.size(), SQLITE_STATIC);
  return rc == SQLITE_OK ? Status::Ok() : Error(rc);
}

Result<bool> SqliteStatement::Step() {
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // Build the message before reset: reset may overwrite the connection's error message.
  Status error = Error(rc);
  sqlite3_reset(stmt_.get());
  return error;
}

Status SqliteStatement::Run() {
  while (true) {
    RUNNEL_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) break;
  }
  sqlite3_reset(stmt_.get());
  return Status::Ok();
}

void SqliteStatement::Reset() { sqlite3_reset(stmt_.get()); }

void SqliteStatement::ClearBindings() { sqlite3_clear_bindings(stmt_.get()); }

int64_t SqliteStatement::ColumnInt(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::string SqliteStatement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), column)));
}

std::string_view SqliteStatement::ColumnBlob(int column) const {
  const void* data = sqlite3_column_blob(stmt_.get(), column);
  if (data == nullptr) return {};
  return std::string_view(static_cast<const char*>(data),
                          static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), column)));
}

Status SqliteExec(sqlite3* db, std::string_view sql, std::string context) {
  RUNNEL_ASSIGN_OR_RETURN(SqliteStatement statement,
                          SqliteStatement::Prepare(db, sql, std::move(context)));
  return statement.Run();
}

}  // namespace runnel
