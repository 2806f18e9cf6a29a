#include "storage/rejects_table.h"

#include <doctest/doctest.h>

#include <string>

#include "tests/storage/storage_test_util.h"

namespace runnel {
namespace {

using testing::ScratchDir;

TEST_CASE("rejects are kept with their raw bytes, the newest N per source") {
  ScratchDir dir;
  auto db = StateDatabase::Open(dir.path(), false);
  REQUIRE(db.ok());
  auto table = RejectsTable::Create(db->get(), 2);
  REQUIRE(table.ok());
  const std::string binary("\x01\x00\xff", 3);
  for (int i = 0; i < 3; ++i) {
    const std::string payload = "bad" + std::to_string(i);
    REQUIRE((*table)->Keep({"env", "sensors/a/env", 1000 + i, "invalid_json", payload}).ok());
  }
  REQUIRE((*table)->Keep({"soil", "lora/x", 5, "bad_length", binary}).ok());
  CHECK((*db)->in_transaction());
  REQUIRE((*db)->CommitStep().ok());

  CHECK(
      testing::DumpFile(dir.db_path(),
                        "SELECT source, topic, arrival, reason, hex(payload), typeof(payload) FROM "
                        "runnel_rejects ORDER BY id") ==
      "'env'|'sensors/a/env'|1001|'invalid_json'|'62616431'|'blob'\n"
      "'env'|'sensors/a/env'|1002|'invalid_json'|'62616432'|'blob'\n"
      "'soil'|'lora/x'|5|'bad_length'|'0100FF'|'blob'\n");
}

}  // namespace
}  // namespace runnel
