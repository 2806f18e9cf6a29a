#include "storage/state_database.h"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "tests/storage/storage_test_util.h"

namespace runnel {
namespace {

using testing::Connect;
using testing::Dump;
using testing::DumpFile;
using testing::ReadFile;
using testing::ScratchDir;
using testing::WriteFile;

std::unique_ptr<StateDatabase> OpenOk(const std::string& dir, bool reset = false) {
  auto db = StateDatabase::Open(dir, reset);
  REQUIRE_MESSAGE(db.ok(), db.status().message());
  return std::move(db).value();
}

void Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  REQUIRE_MESSAGE(rc == SQLITE_OK, (sql + ": " + message));
}

TEST_CASE("Open creates the state directory and a WAL database marked as Runnel's") {
  ScratchDir scratch;
  const std::string dir = scratch.path() + "/a/b/state";
  auto db = OpenOk(dir);
  CHECK(db->path() == dir + "/runnel.db");
  CHECK(std::filesystem::exists(dir + "/runnel.db"));

  CHECK(DumpFile(db->path(), "PRAGMA journal_mode") == "'wal'\n");
  CHECK(DumpFile(db->path(), "PRAGMA user_version") ==
        std::to_string(StateDatabase::LatestFormatVersion()) + "\n");
  CHECK(DumpFile(db->path(), "SELECT key, value FROM runnel_meta") == "'format'|'runnel-state'\n");
  // Per-connection settings, read on the engine's own connection.
  CHECK(Dump(db->handle(), "PRAGMA busy_timeout") == "5000\n");
  CHECK(Dump(db->handle(), "PRAGMA foreign_keys") == "1\n");
  CHECK(Dump(db->handle(), "PRAGMA synchronous") == "1\n");  // NORMAL
}

TEST_CASE("Reopening a Runnel database keeps its contents") {
  ScratchDir scratch;
  {
    auto db = OpenOk(scratch.path());
    REQUIRE(db->EnsureTransaction().ok());
    Exec(db->handle(), "CREATE TABLE kept (x INTEGER)");
    Exec(db->handle(), "INSERT INTO kept VALUES (7)");
    REQUIRE(db->CommitStep().ok());
  }
  auto db = OpenOk(scratch.path());
  CHECK(DumpFile(db->path(), "SELECT x FROM kept") == "7\n");
}

TEST_CASE("--reset-state deletes the database and its WAL files") {
  ScratchDir scratch;
  {
    auto db = OpenOk(scratch.path());
    REQUIRE(db->EnsureTransaction().ok());
    Exec(db->handle(), "CREATE TABLE old_results (x INTEGER)");
    REQUIRE(db->CommitStep().ok());
  }
  // Stale WAL files of another database must not be replayed into the new one.
  WriteFile(scratch.db_path() + "-wal", "stale wal");
  WriteFile(scratch.db_path() + "-shm", "stale shm");
  auto db = OpenOk(scratch.path(), /*reset=*/true);
  CHECK(DumpFile(db->path(), "SELECT count(*) FROM sqlite_schema WHERE name = 'old_results'") ==
        "0\n");
  CHECK(DumpFile(db->path(), "SELECT count(*) FROM sqlite_schema WHERE name = 'runnel_meta'") ==
        "1\n");
}

TEST_CASE("A file that is not a SQLite database is refused and left untouched") {
  ScratchDir scratch;
  const std::string content = "device,ts,temp\nA,1,20.5\n";
  WriteFile(scratch.db_path(), content);
  auto db = StateDatabase::Open(scratch.path(), false);
  REQUIRE_FALSE(db.ok());
  CHECK(db.status().code() == StatusCode::kCorruption);
  CHECK(db.status().message() == scratch.db_path() +
                                     " is not a Runnel state database: file is not a database "
                                     "(use another --state-dir or --reset-state)");
  CHECK(ReadFile(scratch.db_path()) == content);
  CHECK_FALSE(std::filesystem::exists(scratch.db_path() + "-wal"));

  // --reset-state is the way out.
  CHECK(StateDatabase::Open(scratch.path(), true).ok());
}

TEST_CASE("A SQLite database of another program is refused and left untouched") {
  ScratchDir scratch;
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(scratch.db_path().c_str(), &raw) == SQLITE_OK);
  testing::Connection other(raw);
  Exec(other.get(), "CREATE TABLE readings (device TEXT, temp REAL)");
  Exec(other.get(), "INSERT INTO readings VALUES ('a', 1.5)");
  other.reset();

  auto db = StateDatabase::Open(scratch.path(), false);
  REQUIRE_FALSE(db.ok());
  CHECK(db.status().code() == StatusCode::kCorruption);
  CHECK(db.status().message() ==
        scratch.db_path() +
            " is not a Runnel state database: it holds 1 tables, indexes or views but no Runnel "
            "format marker (use another --state-dir or --reset-state)");
  // Not switched to WAL, not migrated.
  CHECK(DumpFile(scratch.db_path(), "PRAGMA journal_mode") == "'delete'\n");
  CHECK(DumpFile(scratch.db_path(), "SELECT name FROM sqlite_schema") == "'readings'\n");
}

TEST_CASE("A SQLite database with a user_version but no Runnel marker is refused") {
  ScratchDir scratch;
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(scratch.db_path().c_str(), &raw) == SQLITE_OK);
  testing::Connection other(raw);
  Exec(other.get(), "CREATE TABLE runnel_meta (key TEXT PRIMARY KEY, value TEXT)");
  Exec(other.get(), "INSERT INTO runnel_meta VALUES ('format', 'something-else')");
  Exec(other.get(), "PRAGMA user_version = 1");
  other.reset();

  auto db = StateDatabase::Open(scratch.path(), false);
  REQUIRE_FALSE(db.ok());
  CHECK(db.status().code() == StatusCode::kCorruption);
  CHECK(db.status().message() ==
        scratch.db_path() +
            " is not a Runnel state database: its user_version is 1 but it has no Runnel format "
            "marker (use another --state-dir or --reset-state)");
}

TEST_CASE("A state database from a newer Runnel is refused") {
  ScratchDir scratch;
  OpenOk(scratch.path()).reset();
  const int newer = StateDatabase::LatestFormatVersion() + 1;
  {
    auto other = Connect(scratch.db_path(), /*writable=*/true);
    REQUIRE(other);
    Exec(other.get(), "PRAGMA user_version = " + std::to_string(newer));
  }
  auto db = StateDatabase::Open(scratch.path(), false);
  REQUIRE_FALSE(db.ok());
  CHECK(db.status().code() == StatusCode::kCorruption);
  CHECK(db.status().message() ==
        scratch.db_path() + " has state format version " + std::to_string(newer) +
            " but this Runnel binary knows versions up to " +
            std::to_string(StateDatabase::LatestFormatVersion()) +
            " (it was written by a newer Runnel: upgrade Runnel, or use another --state-dir or "
            "--reset-state)");
  CHECK(DumpFile(scratch.db_path(), "PRAGMA user_version") == std::to_string(newer) + "\n");
}

TEST_CASE("A state directory that is a file is an I/O error naming it") {
  ScratchDir scratch;
  const std::string file = scratch.path() + "/not_a_dir";
  WriteFile(file, "x");
  auto db = StateDatabase::Open(file, false);
  REQUIRE_FALSE(db.ok());
  CHECK(db.status().code() == StatusCode::kIoError);
  CHECK(db.status().message().starts_with("cannot create state directory " + file + ": "));
}

TEST_CASE("A step's writes become visible to other connections only at CommitStep") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  CHECK_FALSE(db->in_transaction());
  CHECK(db->CommitStep().ok());  // nothing open: a no-op

  REQUIRE(db->EnsureTransaction().ok());
  REQUIRE(db->EnsureTransaction().ok());  // idempotent within a step
  CHECK(db->in_transaction());
  Exec(db->handle(), "CREATE TABLE t (x INTEGER)");
  Exec(db->handle(), "INSERT INTO t VALUES (1)");
  REQUIRE(db->CommitStep().ok());
  CHECK_FALSE(db->in_transaction());

  REQUIRE(db->EnsureTransaction().ok());
  Exec(db->handle(), "INSERT INTO t VALUES (2)");
  CHECK(DumpFile(db->path(), "SELECT x FROM t") == "1\n");
  REQUIRE(db->CommitStep().ok());
  CHECK(DumpFile(db->path(), "SELECT x FROM t ORDER BY x") == "1\n2\n");
}

TEST_CASE("Destroying the database rolls back a step that was not committed") {
  ScratchDir scratch;
  {
    auto db = OpenOk(scratch.path());
    REQUIRE(db->EnsureTransaction().ok());
    Exec(db->handle(), "CREATE TABLE t (x INTEGER)");
    Exec(db->handle(), "INSERT INTO t VALUES (1)");
    REQUIRE(db->CommitStep().ok());
    REQUIRE(db->EnsureTransaction().ok());
    Exec(db->handle(), "INSERT INTO t VALUES (2)");
  }
  CHECK(DumpFile(scratch.db_path(), "SELECT x FROM t") == "1\n");
}

TEST_CASE("A second writer waits for busy_timeout, then fails naming the database") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  auto other = Connect(scratch.db_path(), /*writable=*/true);
  REQUIRE(other);
  Exec(other.get(), "BEGIN IMMEDIATE");
  // Shorten the wait: the 5 s default is checked in the first test case.
  Exec(db->handle(), "PRAGMA busy_timeout = 50");
  Status status = db->EnsureTransaction();
  CHECK(status.code() == StatusCode::kIoError);
  CHECK(status.message() == db->path() +
                                ": begin step transaction: database is locked (is another "
                                "Runnel process using this state directory?)");
  CHECK_FALSE(db->in_transaction());
  Exec(other.get(), "ROLLBACK");
  CHECK(db->EnsureTransaction().ok());
}

}  // namespace
}  // namespace runnel
