#include "storage/input_log.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "storage/checkpoint_store.h"
#include "storage/input_log_source.h"
#include "tests/operators/change_collector.h"
#include "tests/storage/storage_test_util.h"

namespace runnel {
namespace {

using testing::Collector;
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
  REQUIRE(db->CommitStep().ok());

  std::string seen;
  CHECK((*log)->ReadSteps(1, 3, [&](const LoggedRecord& r) {
                seen += std::string(r.record) + std::to_string(r.step) + " ";
                return Status::Ok();
              }).ok());
  CHECK(seen == "c2 d3 ");
  seen.clear();
  CHECK((*log)->ReadSource(*env, 0, 95, kMaxTime, 10, [&](const LoggedRecord& r) {
                seen += std::string(r.record) + "@" + std::to_string(r.time) + " ";
                return Status::Ok();
              }).ok());
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
  CHECK((*log)->ReadSteps(0, 10, [&](const LoggedRecord& r) {
                seen += std::string(r.record);
                return Status::Ok();
              }).ok());
  CHECK(seen == "cd");
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
  CHECK((*store)->SaveCheckpoint({{"view 'a'", "fp-a", 4, 1000, std::string("\0\1", 2)},
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
  CHECK(ShowAll(out.changes) == std::vector<std::string>{"+1 @200 \"a\" 1.5", "+1 @100 \"b\" null"});

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
