// SqliteStatement: an owned prepared statement, finalized when destroyed, plus the helpers every
// storage class shares so that each SQLite failure names the database file, the operation and
// SQLite's own message. Internal to storage/ (no other module sees SQLite types).
// Threading: used on the thread that owns the connection; not synchronised.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/status.h"
#include "runtime/value.h"

struct sqlite3;
struct sqlite3_stmt;

namespace runnel {

// Turns the SQLite result code `rc` of a failed call on `db` into a Status whose message is
// "<context>: <sqlite message>", where context names the database path and the operation.
// Disk full is an IoError that says so; a file that is not a database or is damaged is
// Corruption; busy (another writer), permission and I/O failures are IoError; anything else
// (SQL errors, constraint violations, misuse) is Runtime.
Status SqliteError(sqlite3* db, int rc, std::string_view context);

// "<path>: <operation>": the context SqliteError expects.
std::string SqliteContext(std::string_view path, std::string_view operation);

// An SQL identifier in double quotes, with embedded quotes doubled, so that any name (upper
// case, spaces, keywords) is read as that name and never as SQL.
std::string QuoteIdentifier(std::string_view name);

class SqliteStatement {
 public:
  SqliteStatement() = default;
  // Prepares one SQL statement. `context` ("<path>: <operation>") prefixes every later error.
  // `persistent` tells SQLite the statement is reused for the whole run.
  static Result<SqliteStatement> Prepare(sqlite3* db, std::string_view sql, std::string context,
                                         bool persistent = false);

  SqliteStatement(SqliteStatement&&) noexcept = default;
  SqliteStatement& operator=(SqliteStatement&&) noexcept = default;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement() = default;

  explicit operator bool() const { return stmt_ != nullptr; }

  // Binds parameter `index` (1-based). Text is bound without copying: REQUIRES the string
  // outlives the last Step() before ClearBindings() or the next bind of that parameter.
  Status Bind(int index, const Value& value);
  Status BindInt(int index, int64_t value);
  Status BindText(int index, std::string_view text);
  Status BindBlob(int index, std::string_view bytes);  // same lifetime rule as BindText

  // Runs one step. Returns true when a row is available, false when the statement is done.
  // On error the statement is reset, so it can run again.
  Result<bool> Step();
  // Steps until done, ignoring rows (e.g. the row a PRAGMA assignment returns), then resets.
  // Bindings are kept, so the same statement can run again with the same values.
  Status Run();
  void Reset();
  // Drops bound text pointers so that no dangling pointer stays bound between uses.
  void ClearBindings();

  // Result columns of the current row (0-based). REQUIRES: the last Step() returned true.
  int64_t ColumnInt(int column) const;
  std::string ColumnText(int column) const;

  // Releases the statement now (e.g. in Close()) rather than at destruction.
  void Finalize() { stmt_.reset(); }

  const std::string& context() const { return context_; }

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* stmt) const;
  };

  Status Error(int rc) const;

  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  sqlite3* db_ = nullptr;
  std::string context_;
};

// Prepares and runs one statement that returns no data worth reading (DDL, PRAGMA writes).
Status SqliteExec(sqlite3* db, std::string_view sql, std::string context);

}  // namespace runnel
