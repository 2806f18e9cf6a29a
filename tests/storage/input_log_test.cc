#include "storage/input_log.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "storage/checkpoint_store.h"
#include "storage/input_log_source.h"
#include "tests/operators/change_collector.h"
#include "tests/storage/storage_test_util.h"

namespace runnel {
namespace {

using testing::Collector;
using testing::Connect;
using testing::Dump;
using testing::ScratchDir;
using testing::ShowAll;

std::unique_ptr<StateDatabase> OpenDb(const std::string& dir) {
  auto db = StateDatabase::Open(dir, false);
  REQUIRE_MESSAGE(db.ok(), db.status().message());
  return std::move(db).value();
}

std::string Encode(const Row& row) {
  SnapshotWriter out;
  out.WriteRow(row);
  return out.Release();
}

TEST_CASE("The input log keeps records per source and step, in arrival order") {
  ScratchDir scratch;
  auto db = OpenDb(scratch.path());
  auto log = InputLog::Open(db.get());
  REQUIRE(log.ok());
  auto env = (*log)->RegisterSource("env", "device string, ts int");
  auto cal = (*log)->RegisterSource("cal", "device string, gain float");
  REQUIRE(env.ok());
  REQUIRE(cal.ok());
  CHECK(*env != *cal);
  CHECK((*log)->Append(*env, 1, 100, 5000, "a").ok());
  CHECK((*log)->Append(*cal, 1, 50, 5001, "b").ok());
  CHECK((*log)->Append(*env, 2, 90, 5002, "c").ok());
  CHECK((*log)->Append(*env, 3, 300, 9000, "d").ok());
  REQUIRE((*log)->Flush().ok());
  REQUIRE(db->CommitStep().ok());

  std::string seen;
  CHECK((*log)
            ->ReadSteps(1, 3,
                        [&](const LoggedRecord& r) {
                          seen += std::string(r.record) + std::to_string(r.step) + " ";
                          return Status::Ok();
                        })
            .ok());
  CHECK(seen == "c2 d3 ");
  seen.clear();
  CHECK((*log)
            ->ReadSource(*env, 0, 95, kMaxTime, 10,
                         [&](const LoggedRecord& r) {
                           seen += std::string(r.record) + "@" + std::to_string(r.time) + " ";
                           return Status::Ok();
                         })
            .ok());
  CHECK(seen == "a@100 d@300 ");

  // Registering again gives the same id; other fields are refused with both lists.
  auto again = (*log)->RegisterSource("env", "device string, ts int");
  REQUIRE(again.ok());
  CHECK(*again == *env);
  auto changed = (*log)->RegisterSource("env", "device string, ts float");
  REQUIRE_FALSE(changed.ok());
  CHECK(changed.status().message() ==
        "source 'env' has changed its fields since its input log was written (logged: device "
        "string, ts int; now: device string, ts float): restart with --reset-state, or keep the "
        "old fields");

  // Retention never deletes what recovery still needs (steps after the checkpoint).
  auto pruned = (*log)->DeleteArrivedBefore(9'999, /*checkpoint_step=*/1);
  REQUIRE(pruned.ok());
  CHECK(*pruned == 2);
  REQUIRE(db->CommitStep().ok());
  seen.clear();
  CHECK((*log)
            ->ReadSteps(0, 10,
                        [&](const LoggedRecord& r) {
                          seen += std::string(r.record);
                          return Status::Ok();
                        })
            .ok());
  CHECK(seen == "cd");
}

// Reads every record of `source` with ReadSource pages of `page` records, as "seq:record@time
// arrival" items.
std::vector<std::string> ReadAll(InputLog& log, int64_t source, int64_t page,
                                 Timestamp since = kMinTime, Timestamp until = kMaxTime) {
  std::vector<std::string> out;
  int64_t after = 0;
  while (true) {
    int64_t read = 0;
    Status status = log.ReadSource(source, after, since, until, page, [&](const LoggedRecord& r) {
      out.push_back(std::to_string(r.seq) + ":" + std::string(r.record) + "@" +
                    std::to_string(r.time) + " " + std::to_string(r.arrival));
      after = r.seq;
      ++read;
      return Status::Ok();
    });
    REQUIRE_MESSAGE(status.ok(), status.message());
    if (read < page) return out;
  }
}

TEST_CASE("Batches keep every record's bytes, time, arrival and position, read in any page size") {
  ScratchDir scratch;
  auto db = OpenDb(scratch.path());
  auto log = InputLog::Open(db.get());
  REQUIRE(log.ok());
  auto a = (*log)->RegisterSource("a", "x int");
  auto b = (*log)->RegisterSource("b", "x int");
  REQUIRE((a.ok() && b.ok()));
  // Out-of-order and extreme times, a clock that steps back, empty and binary records; a
  // change of source or step starts a new batch, and 4096 records fill one.
  const std::vector<Timestamp> times = {500, 100, kMaxTime, kMinTime, 100, -7};
  std::vector<std::string> expected_a, expected_b;
  int64_t seq = 0;
  for (int64_t step = 1; step <= 2; ++step) {
    for (size_t i = 0; i < times.size(); ++i) {
      const std::string record = i == 3 ? std::string() : std::string("r\0") + std::to_string(i);
      const int64_t arrival = 1000 + static_cast<int64_t>(i % 2 == 0 ? i : 0) - step;
      REQUIRE((*log)->Append(*a, step, times[i], arrival, record).ok());
      expected_a.push_back(std::to_string(++seq) + ":" + record + "@" + std::to_string(times[i]) +
                           " " + std::to_string(arrival));
    }
    REQUIRE((*log)->Append(*b, step, 42, 7, "b").ok());
    expected_b.push_back(std::to_string(++seq) + ":b@42 7");
  }
  for (int i = 0; i < 5000; ++i) {
    REQUIRE((*log)->Append(*b, 3, i, 9, "x").ok());
    expected_b.push_back(std::to_string(++seq) + ":x@" + std::to_string(i) + " 9");
  }
  REQUIRE((*log)->Flush().ok());
  REQUIRE(db->CommitStep().ok());
  auto reader = Connect(scratch.db_path());
  CHECK(Dump(reader.get(), "SELECT seq, source_id = " + std::to_string(*a) +
                               ", step, count, min_time, max_time FROM runnel_input_log") ==
        "1|1|1|6|-9223372036854775808|9223372036854775807\n7|0|1|1|42|42\n"
        "8|1|2|6|-9223372036854775808|9223372036854775807\n14|0|2|1|42|42\n"
        "15|0|3|4096|0|4095\n4111|0|3|904|4096|4999\n");

  for (int64_t page : {1, 2, 5, 4096, 100000}) {
    CAPTURE(page);
    CHECK(ReadAll(**log, *a, page) == expected_a);
    CHECK(ReadAll(**log, *b, page) == expected_b);
  }
  // Time bounds apply per record, inside batches: [100, 500).
  std::vector<std::string> bounded;
  for (const std::string& item : expected_a) {
    const Timestamp t = std::stoll(item.substr(item.find('@') + 1));
    if (t >= 100 && t < 500) bounded.push_back(item);
  }
  CHECK(ReadAll(**log, *a, 3, 100, 500) == bounded);

  // Recovery reads steps in order, every source's batches in log order within a step.
  std::vector<int64_t> seqs;
  REQUIRE((*log)
              ->ReadSteps(0, 2,
                          [&](const LoggedRecord& r) {
                            seqs.push_back(r.seq);
                            return Status::Ok();
                          })
              .ok());
  CHECK(seqs.size() == 14);
  CHECK(std::is_sorted(seqs.begin(), seqs.end()));
  CHECK(seqs.front() == 1);
  CHECK(seqs.back() == 14);

  // Reopened, the log goes on after its last record.
  log->reset();
  auto reopened = InputLog::Open(db.get());
  REQUIRE(reopened.ok());
  REQUIRE((*reopened)->Append(*a, 4, 1, 1, "z").ok());
  REQUIRE((*reopened)->Flush().ok());
  REQUIRE(db->CommitStep().ok());
  CHECK(ReadAll(**reopened, *a, 10).back() == std::to_string(seq + 1) + ":z@1 1");

  // Retention deletes whole batches, counting records: a batch goes when its last record
  // arrived before the cut, even if an earlier one (1001) did not; step 4 is after the
  // checkpoint and stays.
  auto pruned = (*reopened)->DeleteArrivedBefore(1000, /*checkpoint_step=*/3);
  REQUIRE(pruned.ok());
  CHECK(*pruned == 6 + 1 + 6 + 1 + 5000);
  CHECK(ReadAll(**reopened, *a, 10) ==
        std::vector<std::string>{std::to_string(seq + 1) + ":z@1 1"});
  CHECK(ReadAll(**reopened, *b, 10).empty());
}

TEST_CASE("A damaged batch is a Corruption error naming the database and the batch") {
  ScratchDir scratch;
  auto db = OpenDb(scratch.path());
  auto log = InputLog::Open(db.get());
  REQUIRE(log.ok());
  auto a = (*log)->RegisterSource("a", "x int");
  REQUIRE(a.ok());
  for (int i = 0; i < 3; ++i) REQUIRE((*log)->Append(*a, 1, i, i, "abc").ok());
  REQUIRE((*log)->Flush().ok());
  REQUIRE(db->CommitStep().ok());
  {
    auto writer = Connect(scratch.db_path(), /*writable=*/true);
    REQUIRE(writer);
    CHECK(Dump(writer.get(),
               "UPDATE runnel_input_log SET records = substr(records, 1, "
               "length(records) - 2)") == "");
  }
  Status status = (*log)->ReadSource(*a, 0, kMinTime, kMaxTime, 10,
                                     [](const LoggedRecord&) { return Status::Ok(); });
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == StatusCode::kCorruption);
  CHECK(status.message().find(db->path() + ": input log batch at record 1") != std::string::npos);
}

TEST_CASE("A version 2 log (one row per record) is migrated into batches of one") {
  ScratchDir scratch;
  {
    auto db = OpenDb(scratch.path());
    auto log = InputLog::Open(db.get());
    REQUIRE(log.ok());
    REQUIRE((*log)->RegisterSource("env", "x int").ok());
  }
  {
    // Back to the version 2 layout, as a database written by the previous release.
    auto writer = Connect(scratch.db_path(), /*writable=*/true);
    REQUIRE(writer);
    CHECK(Dump(writer.get(), "DROP TABLE runnel_input_log") == "");
    CHECK(Dump(writer.get(),
               "CREATE TABLE runnel_input_log (seq INTEGER PRIMARY KEY, source_id INTEGER NOT "
               "NULL, step INTEGER NOT NULL, time INTEGER NOT NULL, arrival INTEGER NOT NULL, "
               "record BLOB NOT NULL)") == "");
    CHECK(Dump(writer.get(),
               "CREATE INDEX runnel_input_log_by_source ON runnel_input_log "
               "(source_id)") == "");
    CHECK(Dump(writer.get(), "CREATE INDEX runnel_input_log_by_step ON runnel_input_log (step)") ==
          "");
    CHECK(Dump(writer.get(),
               "INSERT INTO runnel_input_log (source_id, step, time, arrival, "
               "record) VALUES (1, 1, 30, 100, 'a'), (1, 1, 10, 101, 'b'), (1, 2, "
               "20, 102, 'c')") == "");
    CHECK(Dump(writer.get(), "PRAGMA user_version = 2") == "");
  }
  auto db = OpenDb(scratch.path());
  auto log = InputLog::Open(db.get());
  REQUIRE(log.ok());
  CHECK(ReadAll(**log, 1, 2) == std::vector<std::string>{"1:a@30 100", "2:b@10 101", "3:c@20 102"});
  REQUIRE((*log)->Append(1, 3, 5, 103, "d").ok());
  REQUIRE((*log)->Append(1, 3, 6, 104, "e").ok());
  REQUIRE((*log)->Flush().ok());
  REQUIRE(db->CommitStep().ok());
  CHECK(ReadAll(**log, 1, 10).back() == "5:e@6 104");
}

TEST_CASE("A missing source names the sources the log holds") {
  ScratchDir scratch;
  auto db = OpenDb(scratch.path());
  auto log = InputLog::Open(db.get());
  REQUIRE(log.ok());
  REQUIRE((*log)->RegisterSource("env", "x int").ok());
  auto missing = (*log)->FindSource("cal");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() ==
        db->path() + ": no input log for source 'cal' (logged sources: env)");
}

TEST_CASE("The checkpoint store replaces checkpoints whole and keeps steps after them") {
  ScratchDir scratch;
  auto db = OpenDb(scratch.path());
  auto store = CheckpointStore::Open(db.get());
  REQUIRE(store.ok());
  CHECK((*store)
            ->SaveCheckpoint({{"view 'a'", "fp-a", 4, 1000, std::string("\0\1", 2)},
                              {"view 'b'", "fp-b", 4, kMinTime, ""}})
            .ok());
  CHECK((*store)->RecordStep(4, "w4").ok());
  CHECK((*store)->RecordStep(5, "w5").ok());
  CHECK((*store)->SavePosition("source 'env'", 5, "pos5").ok());
  CHECK((*store)->DeleteStepsThrough(4).ok());
  REQUIRE(db->CommitStep().ok());

  auto nodes = (*store)->LoadCheckpoint();
  REQUIRE(nodes.ok());
  REQUIRE(nodes->size() == 2);
  CHECK((*nodes)[0].node == "view 'a'");
  CHECK((*nodes)[0].state == std::string("\0\1", 2));
  CHECK((*nodes)[1].watermark == kMinTime);
  auto steps = (*store)->LoadSteps(4);
  REQUIRE(steps.ok());
  REQUIRE(steps->size() == 1);
  CHECK((*steps)[0].step == 5);
  CHECK((*steps)[0].watermarks == "w5");
  auto last = (*store)->LastStep();
  REQUIRE(last.ok());
  CHECK(*last == 5);

  CHECK((*store)->SaveCheckpoint({{"view 'a'", "fp-a", 6, 2000, "x"}}).ok());
  REQUIRE(db->CommitStep().ok());
  nodes = (*store)->LoadCheckpoint();
  REQUIRE(nodes.ok());
  REQUIRE(nodes->size() == 1);
  CHECK((*nodes)[0].step == 6);
}

TEST_CASE("A logged source replays its records in arrival order with their event times") {
  ScratchDir scratch;
  const Schema schema({{"device", ValueType::kString}, {"temp", ValueType::kFloat}});
  {
    auto db = OpenDb(scratch.path());
    auto log = InputLog::Open(db.get());
    REQUIRE(log.ok());
    auto id = (*log)->RegisterSource("env", InputLogSource::FieldsText(schema));
    REQUIRE(id.ok());
    CHECK((*log)->Append(*id, 1, 200, 0, Encode({Value::String("a"), Value::Float(1.5)})).ok());
    CHECK((*log)->Append(*id, 1, 100, 0, Encode({Value::String("b"), Value::Null()})).ok());
    REQUIRE((*log)->Flush().ok());
    REQUIRE(db->CommitStep().ok());
  }
  auto source = InputLogSource::Open(scratch.path() + "/runnel.db", "env", schema);
  REQUIRE_MESSAGE(source.ok(), source.status().message());
  Collector out;
  (*source)->output().Connect(&out, 0);
  auto status = (*source)->Poll(1);
  REQUIRE(status.ok());
  CHECK(*status == PollStatus::kProgress);
  CHECK((*source)->watermark() == kMinTime);
  while (*status != PollStatus::kFinished) status = (*source)->Poll(10);
  CHECK((*source)->watermark() == kMaxTime);
  CHECK(ShowAll(out.changes) ==
        std::vector<std::string>{"+1 @200 \"a\" 1.5", "+1 @100 \"b\" null"});

  const Schema other({{"device", ValueType::kString}});
  auto refused = InputLogSource::Open(scratch.path() + "/runnel.db", "env", other);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message() ==
        scratch.path() +
            "/runnel.db: the log of source 'env' has other fields (device string, temp float) "
            "than the pipeline's (device string); export it (runnel export) and adapt the file");
  auto schema_back = InputLogSource::SchemaOfFields("device string, temp float");
  REQUIRE(schema_back.ok());
  CHECK(schema_back->Names() == std::vector<std::string>{"device", "temp"});
  CHECK_FALSE(InputLogSource::SchemaOfFields("device strong").ok());
}

}  // namespace
}  // namespace runnel
