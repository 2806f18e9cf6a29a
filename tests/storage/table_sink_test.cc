#include "storage/table_sink.h"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "storage/state_database.h"
#include "tests/storage/storage_test_util.h"

namespace runnel {
namespace {

using testing::Connect;
using testing::Dump;
using testing::DumpFile;
using testing::ScratchDir;

Value I(int64_t i) { return Value::Int(i); }
Value F(double d) { return Value::Float(d); }
Value S(std::string s) { return Value::String(std::move(s)); }
Value B(bool b) { return Value::Bool(b); }
Value N() { return Value::Null(); }

std::unique_ptr<StateDatabase> OpenOk(const std::string& dir) {
  auto db = StateDatabase::Open(dir, false);
  REQUIRE_MESSAGE(db.ok(), db.status().message());
  return std::move(db).value();
}

std::unique_ptr<TableSink> CreateOk(StateDatabase* db, const std::string& table,
                                    const Schema& schema, std::vector<size_t> keys = {}) {
  auto sink = TableSink::Create(db, table, schema, std::move(keys));
  REQUIRE_MESSAGE(sink.ok(), sink.status().message());
  return std::move(sink).value();
}

// What the planner does at the end of a step: advance the sink, then commit.
Status EndStep(TableSink& sink, StateDatabase& db, Timestamp watermark = 0) {
  Timestamp inputs[] = {watermark};
  Timestamp out = kMinTime;
  RUNNEL_RETURN_IF_ERROR(sink.Advance(inputs, &out));
  if (out != watermark) return Status::Runtime("watermark not passed through");
  return db.CommitStep();
}

const Schema kReadings({{"device", ValueType::kString},
                        {"ts", ValueType::kInt},
                        {"temp", ValueType::kFloat},
                        {"ok", ValueType::kBool},
                        {"note", ValueType::kNull}});

TEST_CASE("A table sink stores each value type with its SQLite type, nulls as NULL") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  auto sink = CreateOk(db.get(), "env", kReadings);
  sink->OnChange(0, {S("a"), I(1000), F(21.5), B(true), N()}, 1000, 1);
  sink->OnChange(0, {S("b"), I(-5), F(2.0), B(false), S("x")}, 1000, 1);
  sink->OnChange(0, {N(), N(), N(), N(), I(3)}, 1000, 1);
  sink->OnChange(0, {S(""), I(INT64_MAX), F(1e300), B(false), F(0.1)}, 1000, 1);
  REQUIRE(EndStep(*sink, *db).ok());

  CHECK(DumpFile(db->path(), "SELECT * FROM env ORDER BY rowid") ==
        "'a'|1000|21.5|1|NULL\n"
        "'b'|-5|2.0|0|'x'\n"
        "NULL|NULL|NULL|NULL|3\n"
        "''|9223372036854775807|1e+300|0|0.1\n");
  CHECK(DumpFile(db->path(), "SELECT name, type FROM pragma_table_info('env') ORDER BY cid") ==
        "'device'|'TEXT'\n'ts'|'INTEGER'\n'temp'|'REAL'\n'ok'|'INTEGER'\n'note'|''\n");
  CHECK(sink->stats().rows_written == 4);
}

TEST_CASE("Strings with quotes and SQL in them are stored as plain values") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  auto sink = CreateOk(db.get(), "notes", Schema({{"text", ValueType::kString}}));
  const std::vector<std::string> texts = {"it's", "say \"hi\"", "'); DROP TABLE notes; --",
                                          "?1",   "grüße ✓",    "line\nbreak"};
  for (const std::string& t : texts) sink->OnChange(0, {S(t)}, 0, 1);
  REQUIRE(EndStep(*sink, *db).ok());
  CHECK(DumpFile(db->path(), "SELECT text FROM notes ORDER BY rowid") ==
        "'it's'\n'say \"hi\"'\n''); DROP TABLE notes; --'\n'?1'\n'grüße ✓'\n'line\nbreak'\n");

  // Retracting each of them finds it again by value.
  for (const std::string& t : texts) sink->OnChange(0, {S(t)}, 0, -1);
  REQUIRE(EndStep(*sink, *db).ok());
  CHECK(DumpFile(db->path(), "SELECT count(*) FROM notes") == "0\n");
}

TEST_CASE("A retraction removes exactly one of two equal rows, nulls included") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  auto sink = CreateOk(db.get(), "env", kReadings, {0, 1});
  const Row row = {S("a"), I(1), F(1.5), N(), N()};
  sink->OnChange(0, row, 1, 1);
  sink->OnChange(0, row, 1, 1);
  sink->OnChange(0, {S("b"), I(1), F(1.5), N(), N()}, 1, 1);
  REQUIRE(EndStep(*sink, *db).ok());

  sink->OnChange(0, row, 1, -1);
  REQUIRE(EndStep(*sink, *db).ok());
  CHECK(DumpFile(db->path(), "SELECT * FROM env ORDER BY device") ==
        "'a'|1|1.5|NULL|NULL\n"
        "'b'|1|1.5|NULL|NULL\n");
  CHECK(sink->stats().rows_written == 4);
}

TEST_CASE("A diff above one inserts that many copies, and below minus one deletes that many") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  auto sink = CreateOk(db.get(), "counts", Schema({{"k", ValueType::kString}}));
  sink->OnChange(0, {S("x")}, 0, 3);
  sink->OnChange(0, {S("y")}, 0, 1);
  sink->OnChange(0, {S("y")}, 0, 0);  // no change at all
  REQUIRE(EndStep(*sink, *db).ok());
  CHECK(DumpFile(db->path(), "SELECT k FROM counts ORDER BY rowid") == "'x'\n'x'\n'x'\n'y'\n");

  sink->OnChange(0, {S("x")}, 0, -2);
  REQUIRE(EndStep(*sink, *db).ok());
  CHECK(DumpFile(db->path(), "SELECT k FROM counts ORDER BY rowid") == "'x'\n'y'\n");
  CHECK(sink->stats().rows_written == 6);
}

TEST_CASE("Ints, floats and bools are told apart when retracting") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  // No declared types: SQLite applies no conversions, so 1, 1.5 and "1" are different values.
  auto sink = CreateOk(db.get(), "mixed", Schema({{"v", ValueType::kNull}}));
  sink->OnChange(0, {I(1)}, 0, 1);
  sink->OnChange(0, {F(1.5)}, 0, 1);
  sink->OnChange(0, {S("1")}, 0, 1);
  sink->OnChange(0, {S("1")}, 0, -1);
  REQUIRE(EndStep(*sink, *db).ok());
  CHECK(DumpFile(db->path(), "SELECT v FROM mixed ORDER BY rowid") == "1\n1.5\n");
}

TEST_CASE("Retracting a row that is not in the table is an internal error from Advance") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  auto sink = CreateOk(db.get(), "env", kReadings);
  sink->OnChange(0, {S("a"), I(1), F(1.5), B(true), N()}, 1, 1);
  REQUIRE(EndStep(*sink, *db).ok());

  sink->OnChange(0, {S("a"), I(1), F(9.5), B(true), N()}, 1, -1);
  // Changes after the first error are not applied: the step is lost anyway.
  sink->OnChange(0, {S("z"), I(2), F(2.5), B(false), N()}, 2, 1);
  Timestamp inputs[] = {5};
  Timestamp out = kMinTime;
  Status status = sink->Advance(inputs, &out);
  CHECK(status.code() == StatusCode::kRuntime);
  CHECK(status.message() ==
        "table sink \"env\": retraction of row (\"a\", 1, 9.5, true, null), which is not in the "
        "table (internal error: an upstream operator retracted more than it emitted)");
  CHECK(out == 5);
  CHECK(sink->Close().ok());  // already reported by Advance
  // The failed step was not committed; the planner stops and the database rolls it back.
  db.reset();
  CHECK(DumpFile(scratch.db_path(), "SELECT * FROM env") == "'a'|1|1.5|1|NULL\n");
}

TEST_CASE("A row with the wrong number of values is an internal error") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  auto sink = CreateOk(db.get(), "env", kReadings);
  sink->OnChange(0, {S("a")}, 1, 1);
  Timestamp inputs[] = {0};
  Timestamp out;
  Status status = sink->Advance(inputs, &out);
  CHECK(status.code() == StatusCode::kRuntime);
  CHECK(status.message() ==
        "table sink \"env\": a row has 1 values but the table has 5 columns (internal error)");
}

TEST_CASE("Invalid and reserved table names are refused") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  const Schema schema({{"x", ValueType::kInt}});
  for (const char* name : {"", "Env", "1env", "env-1", "env 1", "env\"", "é"}) {
    auto sink = TableSink::Create(db.get(), name, schema, {});
    REQUIRE_FALSE(sink.ok());
    CHECK(sink.status().code() == StatusCode::kInvalid);
    CHECK(sink.status().message() ==
          "table name \"" + std::string(name) +
              "\" is not an identifier: use lower-case letters, digits and _, not starting with a "
              "digit");
  }
  auto reserved = TableSink::Create(db.get(), "runnel_meta", schema, {});
  REQUIRE_FALSE(reserved.ok());
  CHECK(reserved.status().code() == StatusCode::kInvalid);
  CHECK(reserved.status().message() ==
        "table name \"runnel_meta\" is reserved: names starting with runnel_ belong to Runnel; "
        "choose another table name");
  auto sqlite = TableSink::Create(db.get(), "sqlite_x", schema, {});
  REQUIRE_FALSE(sqlite.ok());
  CHECK(sqlite.status().message() ==
        "table name \"sqlite_x\" is reserved: names starting with sqlite_ belong to SQLite; "
        "choose another table name");
  // Runnel's marker survived the attempt.
  CHECK(Dump(db->handle(), "SELECT value FROM runnel_meta") == "'runnel-state'\n");

  for (const char* name : {"_x", "runnel", "runnelx", "a1_b2"}) {
    CHECK_MESSAGE(TableSink::Create(db.get(), name, schema, {}).ok(), name);
  }
}

TEST_CASE("Odd column names are quoted, never read as SQL") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  const Schema schema({{"Temp", ValueType::kFloat},
                       {"max(x)", ValueType::kInt},
                       {"say \"hi\"", ValueType::kString},
                       {"select", ValueType::kString},
                       {"rowid", ValueType::kInt},
                       {"a b", ValueType::kBool}});
  auto sink = CreateOk(db.get(), "odd", schema, {1, 4});
  sink->OnChange(0, {F(1.5), I(2), S("q"), S("s"), I(7), B(true)}, 0, 1);
  sink->OnChange(0, {F(1.5), I(2), S("q"), S("s"), I(7), B(true)}, 0, 1);
  sink->OnChange(0, {F(2.5), I(3), S("r"), S("t"), I(8), B(false)}, 0, 1);
  sink->OnChange(0, {F(1.5), I(2), S("q"), S("s"), I(7), B(true)}, 0, -1);
  REQUIRE(EndStep(*sink, *db).ok());

  CHECK(DumpFile(db->path(), "SELECT name FROM pragma_table_info('odd') ORDER BY cid") ==
        "'Temp'\n'max(x)'\n'say \"hi\"'\n'select'\n'rowid'\n'a b'\n");
  CHECK(DumpFile(db->path(), "SELECT * FROM odd ORDER BY \"max(x)\"") ==
        "1.5|2|'q'|'s'|7|1\n"
        "2.5|3|'r'|'t'|8|0\n");
}

TEST_CASE("Column names that SQLite cannot tell apart are refused before touching the table") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  auto existing = CreateOk(db.get(), "t", Schema({{"x", ValueType::kInt}}));
  existing->OnChange(0, {I(1)}, 0, 1);
  REQUIRE(EndStep(*existing, *db).ok());

  auto sink = TableSink::Create(
      db.get(), "t", Schema({{"temp", ValueType::kFloat}, {"TEMP", ValueType::kFloat}}), {});
  REQUIRE_FALSE(sink.ok());
  CHECK(sink.status().code() == StatusCode::kInvalid);
  CHECK(sink.status().message() ==
        "table sink \"t\": columns \"temp\" and \"TEMP\" differ only in case, which SQLite does "
        "not distinguish");

  auto hidden = TableSink::Create(
      db.get(), "t",
      Schema({{"rowid", ValueType::kInt}, {"OID", ValueType::kInt}, {"_rowid_", ValueType::kInt}}),
      {});
  REQUIRE_FALSE(hidden.ok());
  CHECK(hidden.status().code() == StatusCode::kInvalid);
  CHECK(hidden.status().message() ==
        "table sink \"t\": columns named rowid, _rowid_ and oid together hide SQLite's row id; "
        "rename one of them");

  REQUIRE(db->CommitStep().ok());
  CHECK(DumpFile(db->path(), "SELECT * FROM t") == "1\n");
}

TEST_CASE("Key columns get an index that retractions use") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  auto sink = CreateOk(db.get(), "env", kReadings, {0, 1});
  REQUIRE(EndStep(*sink, *db).ok());
  CHECK(DumpFile(db->path(),
                 "SELECT name, tbl_name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name "
                 "= 'env'") ==
        "'runnel_key_env'|'env'|'CREATE INDEX \"runnel_key_env\" ON \"env\" (\"device\", "
        "\"ts\")'\n");
  std::string plan = Dump(db->handle(),
                          "EXPLAIN QUERY PLAN SELECT rowid FROM env WHERE device IS 'a' AND ts IS "
                          "1 AND temp IS 1.5 AND ok IS 1 AND note IS NULL LIMIT 1");
  CHECK_MESSAGE(plan.find("USING INDEX runnel_key_env") != std::string::npos, plan);
}

TEST_CASE("Creating a sink replaces the previous run's table") {
  ScratchDir scratch;
  {
    auto db = OpenOk(scratch.path());
    auto sink = CreateOk(db.get(), "env", Schema({{"old", ValueType::kInt}}), {0});
    sink->OnChange(0, {I(1)}, 0, 1);
    REQUIRE(EndStep(*sink, *db).ok());
  }
  auto db = OpenOk(scratch.path());
  auto sink = CreateOk(db.get(), "env", kReadings);
  // Until the first step commits, readers still see the previous run's table.
  CHECK(DumpFile(db->path(), "SELECT * FROM env") == "1\n");
  sink->OnChange(0, {S("a"), I(1), F(1.5), B(true), N()}, 1, 1);
  REQUIRE(EndStep(*sink, *db).ok());
  CHECK(DumpFile(db->path(), "SELECT * FROM env") == "'a'|1|1.5|1|NULL\n");
  CHECK(DumpFile(db->path(),
                 "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND "
                 "tbl_name = 'env'") == "0\n");
}

TEST_CASE("Another connection reading the table sees the last committed step") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  auto sink = CreateOk(db.get(), "env", Schema({{"device", ValueType::kString}}));
  sink->OnChange(0, {S("a")}, 0, 1);
  REQUIRE(EndStep(*sink, *db).ok());

  auto reader = Connect(db->path());
  REQUIRE(reader);
  sink->OnChange(0, {S("b")}, 0, 1);
  sink->OnChange(0, {S("a")}, 0, -1);
  CHECK(db->in_transaction());
  CHECK(Dump(reader.get(), "SELECT device FROM env") == "'a'\n");

  Timestamp inputs[] = {0};
  Timestamp out;
  REQUIRE(sink->Advance(inputs, &out).ok());
  CHECK(Dump(reader.get(), "SELECT device FROM env") == "'a'\n");  // Advance does not commit
  REQUIRE(db->CommitStep().ok());
  CHECK(Dump(reader.get(), "SELECT device FROM env") == "'b'\n");
}

TEST_CASE("Advance passes the input watermark through") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  auto sink = CreateOk(db.get(), "env", kReadings);
  for (Timestamp w : {kMinTime, Timestamp{0}, Timestamp{60000}, kMaxTime}) {
    Timestamp inputs[] = {w};
    Timestamp out = 12345;
    REQUIRE(sink->Advance(inputs, &out).ok());
    CHECK(out == w);
  }
}

TEST_CASE("A SQLite failure names the database, the operation and SQLite's message") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  auto sink = CreateOk(db.get(), "env", Schema({{"device", ValueType::kString}}));
  REQUIRE(EndStep(*sink, *db).ok());
  {
    auto other = Connect(db->path(), /*writable=*/true);
    REQUIRE(other);
    REQUIRE(sqlite3_exec(other.get(), "DROP TABLE env", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  sink->OnChange(0, {S("a")}, 0, 1);
  Timestamp inputs[] = {0};
  Timestamp out;
  Status status = sink->Advance(inputs, &out);
  CHECK(status.code() == StatusCode::kRuntime);
  CHECK(status.message() == db->path() + ": insert row (table \"env\"): no such table: env");
}

TEST_CASE("A full disk is an I/O error that says so") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  auto sink = CreateOk(db.get(), "big", Schema({{"blob", ValueType::kString}}));
  REQUIRE(EndStep(*sink, *db).ok());
  // A page limit makes SQLite report SQLITE_FULL exactly as a full filesystem would.
  std::string pages = Dump(db->handle(), "PRAGMA page_count");
  REQUIRE(sqlite3_exec(db->handle(),
                       ("PRAGMA max_page_count = " + std::to_string(std::stoi(pages) + 4)).c_str(),
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  const std::string payload(10000, 'x');
  for (int i = 0; i < 20; ++i) sink->OnChange(0, {S(payload)}, 0, 1);
  Timestamp inputs[] = {0};
  Timestamp out;
  Status status = sink->Advance(inputs, &out);
  CHECK(status.code() == StatusCode::kIoError);
  CHECK(status.message() == db->path() +
                                ": insert row (table \"big\"): disk full (database or disk is "
                                "full): free space on the state directory's filesystem");
  CHECK(sink->stats().rows_written < 20);
  db.reset();
  CHECK(DumpFile(scratch.db_path(), "SELECT count(*) FROM big") == "0\n");
}

TEST_CASE("Close finalizes the statements and reports an error Advance never saw") {
  ScratchDir scratch;
  auto db = OpenOk(scratch.path());
  auto count_statements = [&] {
    int n = 0;
    for (sqlite3_stmt* s = sqlite3_next_stmt(db->handle(), nullptr); s != nullptr;
         s = sqlite3_next_stmt(db->handle(), s)) {
      ++n;
    }
    return n;
  };
  const int before = count_statements();
  auto sink = CreateOk(db.get(), "env", Schema({{"device", ValueType::kString}}));
  CHECK(count_statements() == before + 2);
  sink->OnChange(0, {S("ghost")}, 0, -1);
  Status status = sink->Close();
  CHECK(status.code() == StatusCode::kRuntime);
  CHECK(count_statements() == before);
}

}  // namespace
}  // namespace runnel
