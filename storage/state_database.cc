#include "storage/state_database.h"

#include <sqlite3.h>

#include <array>
#include <filesystem>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>

namespace runnel {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kFormatKey = "format";
constexpr std::string_view kFormatMarker = "runnel-state";

// Migration i brings a database from format version i to i + 1, in one transaction with the
// user_version bump, so a crash mid-migration leaves the previous version intact. Append
// only: a released migration never changes, because databases in the field already ran it.
constexpr std::string_view kToVersion1[] = {
    "CREATE TABLE runnel_meta (key TEXT PRIMARY KEY, value TEXT)",
    // The marker tells Runnel's own databases from other SQLite files that happen to have a
    // user_version (many applications set one).
    "INSERT INTO runnel_meta (key, value) VALUES ('format', 'runnel-state')",
};
// Version 2: the durable state of a running pipeline (SPEC §4, §5, §6).
constexpr std::string_view kToVersion2[] = {
    // Sources known to this database; `fields` is the source's column list, so that a stored
    // log is read back with the schema it was written with.
    "CREATE TABLE runnel_sources (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
    "fields TEXT NOT NULL)",
    // The input log: every record a source emitted, in arrival order, tagged with the engine
    // step that consumed it so that recovery replays exactly the same steps.
    "CREATE TABLE runnel_input_log (seq INTEGER PRIMARY KEY, source_id INTEGER NOT NULL, "
    "step INTEGER NOT NULL, time INTEGER NOT NULL, arrival INTEGER NOT NULL, record BLOB NOT "
    "NULL)",
    "CREATE INDEX runnel_input_log_by_source ON runnel_input_log (source_id)",
    "CREATE INDEX runnel_input_log_by_step ON runnel_input_log (step)",
    // Every committed step that changed something, with its sources' watermarks, so that
    // recovery re-runs the steps after the checkpoint exactly as they ran.
    "CREATE TABLE runnel_steps (step INTEGER PRIMARY KEY, watermarks BLOB NOT NULL)",
    // The sink changes of a run's final step (bounded sources reaching +inf), kept so that a
    // later run over grown input can retract them and finalize again (backfill).
    "CREATE TABLE runnel_final_changes (seq INTEGER PRIMARY KEY, step INTEGER NOT NULL, sink "
    "TEXT NOT NULL, time INTEGER NOT NULL, diff INTEGER NOT NULL, record BLOB NOT NULL)",
    // Where each source is in its input as of step `step` (written every step).
    "CREATE TABLE runnel_source_positions (source TEXT PRIMARY KEY, step INTEGER NOT NULL, "
    "position BLOB NOT NULL)",
    // The last checkpoint: one row per stateful node, all written in one transaction.
    "CREATE TABLE runnel_node_state (node TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
    "step INTEGER NOT NULL, watermark INTEGER NOT NULL, state BLOB NOT NULL)",
    // Payloads that failed to decode or validate, bounded per source (SPEC §5).
    "CREATE TABLE runnel_rejects (id INTEGER PRIMARY KEY, source TEXT NOT NULL, topic TEXT NOT "
    "NULL, arrival INTEGER NOT NULL, reason TEXT NOT NULL, payload BLOB NOT NULL)",
    "CREATE INDEX runnel_rejects_by_source ON runnel_rejects (source, id)",
    // MQTT sink messages waiting for their broker, delivered in id order (SPEC §4).
    "CREATE TABLE runnel_outbox (id INTEGER PRIMARY KEY, sink TEXT NOT NULL, topic TEXT NOT "
    "NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL)",
    "CREATE INDEX runnel_outbox_by_sink ON runnel_outbox (sink, id)",
};
// Version 3: the input log in batches (storage/input_log.cc), one row per run of records of
// one source in one step instead of one row per record. A version 2 row becomes a batch of one.
constexpr std::string_view kToVersion3[] = {
    "DROP INDEX runnel_input_log_by_source",
    "DROP INDEX runnel_input_log_by_step",
    "ALTER TABLE runnel_input_log RENAME TO runnel_input_log_v2",
    "CREATE TABLE runnel_input_log (seq INTEGER PRIMARY KEY, source_id INTEGER NOT NULL, step "
    "INTEGER NOT NULL, count INTEGER NOT NULL, min_time INTEGER NOT NULL, max_time INTEGER NOT "
    "NULL, first_arrival INTEGER NOT NULL, last_arrival INTEGER NOT NULL, records BLOB NOT NULL)",
    "INSERT INTO runnel_input_log SELECT seq, source_id, step, 1, time, time, arrival, arrival, "
    "record FROM runnel_input_log_v2",
    "DROP TABLE runnel_input_log_v2",
    "CREATE INDEX runnel_input_log_by_source ON runnel_input_log (source_id)",
    "CREATE INDEX runnel_input_log_by_step ON runnel_input_log (step)",
};
constexpr std::array<std::span<const std::string_view>, 3> kMigrations = {
    std::span<const std::string_view>(kToVersion1),
    std::span<const std::string_view>(kToVersion2),
    std::span<const std::string_view>(kToVersion3),
};

constexpr int kBusyTimeoutMs = 5000;

}  // namespace

int StateDatabase::LatestFormatVersion() { return static_cast<int>(kMigrations.size()); }

StateDatabase::StateDatabase(PrivateTag, std::string path, sqlite3* db)
    : path_(std::move(path)), db_(db) {}

StateDatabase::~StateDatabase() {
  if (db_ == nullptr) return;
  // A step that never reached CommitStep() (an error stopped the run) must leave no trace.
  // A failed rollback needs no report: closing the connection discards the transaction too.
  if (rollback_ && sqlite3_get_autocommit(db_) == 0) static_cast<void>(rollback_.Run());
  begin_.Finalize();
  commit_.Finalize();
  rollback_.Finalize();
  // close_v2: statements still held by table sinks that outlive us are finalized later
  // without leaking the connection.
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<StateDatabase>> StateDatabase::Open(const std::string& state_dir,
                                                           bool reset) {
  if (state_dir.empty()) return Status::Invalid("the state directory name is empty");
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec || !fs::is_directory(state_dir)) {
    return Status::IoError("cannot create state directory " + state_dir + ": " +
                           (ec ? ec.message() : "it exists and is not a directory"));
  }
  std::string path = (fs::path(state_dir) / "runnel.db").string();
  if (reset) {
    // -journal too: a rollback journal left by a crash would otherwise be replayed into the
    // new database.
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      const std::string file = path + suffix;
      fs::remove(file, ec);
      if (ec) return Status::IoError("cannot delete " + file + " (--reset-state): " + ec.message());
    }
  }

  return OpenPath(path, SQLITE_OPEN_CREATE);
}

Result<std::unique_ptr<StateDatabase>> StateDatabase::OpenExisting(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return Status::Invalid(path +
                           ": no such state database (give the runnel.db of a state "
                           "directory, e.g. var/greenhouse/runnel.db)");
  }
  return OpenPath(path, 0);
}

Result<std::unique_ptr<StateDatabase>> StateDatabase::OpenPath(const std::string& path,
                                                               int extra_flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | extra_flags, nullptr);
  // Owned from here on: a failed open still allocates a handle that must be closed.
  auto db = std::make_unique<StateDatabase>(PrivateTag(), path, raw);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, SqliteContext(path, "open"));
  RUNNEL_RETURN_IF_ERROR(db->Initialize());
  return db;
}

Status StateDatabase::SetSyncEveryCommit(bool sync) {
  // In WAL mode NORMAL syncs only at checkpoints: a commit survives the process being killed
  // (the WAL is in the page cache) but not a power loss; FULL syncs the WAL at every commit.
  return SqliteExec(db_, sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                    SqliteContext(path_, "set the durability (synchronous)"));
}

Status StateDatabase::Initialize() {
  sqlite3_extended_result_codes(db_, 1);
  RUNNEL_RETURN_IF_ERROR(SqliteExec(db_, "PRAGMA busy_timeout = " + std::to_string(kBusyTimeoutMs),
                                    SqliteContext(path_, "set busy_timeout")));
  RUNNEL_RETURN_IF_ERROR(
      SqliteExec(db_, "PRAGMA foreign_keys = ON", SqliteContext(path_, "enable foreign keys")));

  // Look before writing anything: switching to WAL would already modify a foreign file.
  RUNNEL_ASSIGN_OR_RETURN(int version, CheckOwnership());

  RUNNEL_ASSIGN_OR_RETURN(
      SqliteStatement wal,
      SqliteStatement::Prepare(db_, "PRAGMA journal_mode = WAL",
                               SqliteContext(path_, "enable WAL journal mode")));
  RUNNEL_ASSIGN_OR_RETURN(bool has_row, wal.Step());
  std::string mode = has_row ? wal.ColumnText(0) : std::string();
  wal.Reset();
  // SQLite keeps the old mode, without an error, where WAL cannot work (e.g. some network
  // filesystems); readers of table sinks depend on WAL, so refuse rather than degrade.
  if (mode != "wal") {
    return Status::IoError(path_ + ": cannot enable WAL journal mode (SQLite kept \"" + mode +
                           "\"); put the state directory on a local filesystem");
  }
  // NORMAL in WAL mode survives a process crash (kill -9) but not a power loss; the
  // durability setting of a later issue raises it to FULL.
  RUNNEL_RETURN_IF_ERROR(SqliteExec(db_, "PRAGMA synchronous = NORMAL",
                                    SqliteContext(path_, "set synchronous = NORMAL")));

  if (version < LatestFormatVersion()) RUNNEL_RETURN_IF_ERROR(Migrate());

  RUNNEL_ASSIGN_OR_RETURN(begin_,
                          SqliteStatement::Prepare(db_, "BEGIN IMMEDIATE",
                                                   SqliteContext(path_, "begin step transaction"),
                                                   /*persistent=*/true));
  RUNNEL_ASSIGN_OR_RETURN(
      commit_, SqliteStatement::Prepare(db_, "COMMIT", SqliteContext(path_, "commit step"),
                                        /*persistent=*/true));
  RUNNEL_ASSIGN_OR_RETURN(
      rollback_, SqliteStatement::Prepare(db_, "ROLLBACK", SqliteContext(path_, "roll back step"),
                                          /*persistent=*/true));
  return Status::Ok();
}

Status StateDatabase::NotRunnel(const std::string& why) const {
  return Status::Corruption(path_ + " is not a Runnel state database: " + why +
                            " (use another --state-dir or --reset-state)");
}

Result<int64_t> StateDatabase::QueryInt(const char* sql, const char* operation) {
  RUNNEL_ASSIGN_OR_RETURN(SqliteStatement statement,
                          SqliteStatement::Prepare(db_, sql, SqliteContext(path_, operation)));
  RUNNEL_ASSIGN_OR_RETURN(bool has_row, statement.Step());
  if (!has_row) return Status::Runtime(SqliteContext(path_, operation) + ": no result row");
  return statement.ColumnInt(0);
}

Result<int> StateDatabase::CheckOwnership() {
  // The first read of the file is where SQLite notices that it is not a database at all.
  Result<int64_t> objects = QueryInt("SELECT count(*) FROM sqlite_schema", "read schema");
  if (!objects.ok()) {
    if (objects.status().code() == StatusCode::kCorruption) return NotRunnel(sqlite3_errmsg(db_));
    return objects.status();
  }
  RUNNEL_ASSIGN_OR_RETURN(int64_t version, QueryInt("PRAGMA user_version", "read user_version"));
  if (version == 0) {
    if (*objects == 0) return 0;  // new, empty: Migrate() makes it Runnel's
    return NotRunnel("it holds " + std::to_string(*objects) +
                     " tables, indexes or views but no Runnel format marker");
  }
  RUNNEL_ASSIGN_OR_RETURN(
      int64_t has_meta,
      QueryInt("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'runnel_meta'",
               "look for the runnel_meta table"));
  std::string marker;
  if (has_meta != 0) {
    RUNNEL_ASSIGN_OR_RETURN(
        SqliteStatement read,
        SqliteStatement::Prepare(db_, "SELECT value FROM runnel_meta WHERE key = ?1",
                                 SqliteContext(path_, "read the format marker")));
    RUNNEL_RETURN_IF_ERROR(read.BindText(1, kFormatKey));
    RUNNEL_ASSIGN_OR_RETURN(bool has_row, read.Step());
    if (has_row) marker = read.ColumnText(0);
  }
  if (marker != kFormatMarker) {
    return NotRunnel("its user_version is " + std::to_string(version) +
                     " but it has no Runnel format marker");
  }
  if (version < 0 || version > LatestFormatVersion()) {
    return Status::Corruption(path_ + " has state format version " + std::to_string(version) +
                              " but this Runnel binary knows versions up to " +
                              std::to_string(LatestFormatVersion()) +
                              " (it was written by a newer Runnel: upgrade Runnel, or use "
                              "another --state-dir or --reset-state)");
  }
  return static_cast<int>(version);
}

Status StateDatabase::Migrate() {
  RUNNEL_RETURN_IF_ERROR(
      SqliteExec(db_, "BEGIN IMMEDIATE", SqliteContext(path_, "begin migration")));
  auto migrate = [&]() -> Status {
    // Read again under the write lock: another process may have migrated the file since
    // CheckOwnership() looked.
    RUNNEL_ASSIGN_OR_RETURN(int64_t version, QueryInt("PRAGMA user_version", "read user_version"));
    for (int64_t v = version; v < LatestFormatVersion(); ++v) {
      const std::string operation = "migrate to state format version " + std::to_string(v + 1);
      for (std::string_view sql : kMigrations[static_cast<size_t>(v)]) {
        RUNNEL_RETURN_IF_ERROR(SqliteExec(db_, sql, SqliteContext(path_, operation)));
      }
      // PRAGMA takes no parameters; the number comes from our own migration table.
      RUNNEL_RETURN_IF_ERROR(SqliteExec(db_, "PRAGMA user_version = " + std::to_string(v + 1),
                                        SqliteContext(path_, operation)));
    }
    return Status::Ok();
  };
  Status status = migrate();
  if (!status.ok()) {
    static_cast<void>(SqliteExec(db_, "ROLLBACK", SqliteContext(path_, "roll back migration")));
    return status;
  }
  return SqliteExec(db_, "COMMIT", SqliteContext(path_, "commit migration"));
}

Status StateDatabase::EnsureTransaction() {
  if (in_transaction_) {
    if (sqlite3_get_autocommit(db_) == 0) return Status::Ok();
    return Status::Runtime(path_ +
                           ": SQLite rolled back this step's transaction after an earlier error; "
                           "the step cannot continue");
  }
  RUNNEL_RETURN_IF_ERROR(begin_.Run());
  in_transaction_ = true;
  return Status::Ok();
}

Status StateDatabase::CommitStep() {
  if (!in_transaction_) return Status::Ok();
  if (sqlite3_get_autocommit(db_) != 0) {
    return Status::Runtime(path_ +
                           ": SQLite rolled back this step's transaction after an earlier error; "
                           "nothing of the step was committed");
  }
  Status status = commit_.Run();
  // A failed COMMIT may or may not have ended the transaction (SQLite documents both); what
  // the connection reports is the truth, and the destructor rolls back what is still open.
  in_transaction_ = sqlite3_get_autocommit(db_) == 0;
  return status;
}

}  // namespace runnel
