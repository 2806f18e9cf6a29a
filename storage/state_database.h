// StateDatabase: the SQLite file <state_dir>/runnel.db that holds Runnel's durable state
// (table sinks now; input log and checkpoints later). WAL mode, busy_timeout, schema versioned
// with PRAGMA user_version; a database that is not Runnel's is refused.
// Each step's writes happen in one transaction: BeginStep() is implicit on the first write,
// CommitStep() ends it. Threading: engine thread only (readers use their own connections).
#pragma once

#include <memory>
#include <string>

#include "runtime/status.h"

struct sqlite3;

namespace runnel {

class StateDatabase {
 public:
  // Creates state_dir if needed. `reset` deletes an existing database first.
  static Result<std::unique_ptr<StateDatabase>> Open(const std::string& state_dir, bool reset);
  ~StateDatabase();
  StateDatabase(const StateDatabase&) = delete;
  StateDatabase& operator=(const StateDatabase&) = delete;

  const std::string& path() const { return path_; }

  // Opens the step's transaction if none is open.
  Status EnsureTransaction();
  // Commits the open transaction, if any.
  Status CommitStep();

  sqlite3* handle() { return db_; }  // for storage/ classes only

 private:
  StateDatabase(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  std::string path_;
  sqlite3* db_;
  bool in_transaction_ = false;
};

}  // namespace runnel
