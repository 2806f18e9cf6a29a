// StateDatabase: the SQLite file <state_dir>/runnel.db that holds Runnel's durable state
// (table sinks now; input log and checkpoints later). WAL mode, busy_timeout, schema versioned
// with PRAGMA user_version; a database that is not Runnel's is refused.
// Each step's writes happen in one transaction: EnsureTransaction() opens it on the first
// write, CommitStep() ends it. Threading: engine thread only (readers use their own
// connections, which see the last committed step).
#pragma once

#include <memory>
#include <string>

#include "runtime/status.h"
#include "storage/sqlite_statement.h"

struct sqlite3;

namespace runnel {

class StateDatabase {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // Creates state_dir if needed. `reset` deletes an existing database (and its -wal/-shm
  // files) first. Refuses, with Corruption, a file that is not a Runnel state database or
  // whose format version is newer than this binary's.
  static Result<std::unique_ptr<StateDatabase>> Open(const std::string& state_dir, bool reset);

  // An existing database file (`runnel export`, `--replay SOURCE=runnel.db`); migrated like
  // any other if it is older.
  static Result<std::unique_ptr<StateDatabase>> OpenExisting(const std::string& path);

  // durability = "power": fsync at every commit; "process" (default): survive kill -9 only.
  Status SetSyncEveryCommit(bool sync);

  // The state format version (PRAGMA user_version) this binary migrates databases to.
  static int LatestFormatVersion();

  // Takes ownership of `db` (even when opening it failed); only Open() can call this.
  StateDatabase(PrivateTag, std::string path, sqlite3* db);
  ~StateDatabase();
  StateDatabase(const StateDatabase&) = delete;
  StateDatabase& operator=(const StateDatabase&) = delete;

  const std::string& path() const { return path_; }

  // Opens the step's transaction (BEGIN IMMEDIATE) if none is open. Fails if SQLite rolled
  // the open transaction back after an error, since later writes would otherwise be
  // committed one by one without the step's earlier ones.
  Status EnsureTransaction();
  // Commits the open transaction, if any.
  Status CommitStep();
  bool in_transaction() const { return in_transaction_; }

  sqlite3* handle() { return db_; }  // for storage/ classes only

 private:
  static Result<std::unique_ptr<StateDatabase>> OpenPath(const std::string& path, int extra_flags);
  Status Initialize();
  // Result: the format version of the existing database (0 when it is new and empty).
  Result<int> CheckOwnership();
  // Brings the database to LatestFormatVersion().
  Status Migrate();
  Status NotRunnel(const std::string& why) const;
  Result<int64_t> QueryInt(const char* sql, const char* operation);

  std::string path_;
  sqlite3* db_;
  SqliteStatement begin_;
  SqliteStatement commit_;
  SqliteStatement rollback_;
  bool in_transaction_ = false;
};

}  // namespace runnel
