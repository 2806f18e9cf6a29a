#include "runtime/telemetry.h"

#include <doctest/doctest.h>

namespace runnel {
namespace {

Row R(const char* key, int64_t v) { return {Value::String(key), Value::Int(v)}; }

std::vector<uint64_t> Sequences(const std::vector<FeedChange>& changes) {
  std::vector<uint64_t> out;
  for (const FeedChange& c : changes) out.push_back(c.sequence);
  return out;
}

TEST_CASE("a change feed pages through its changes after a sequence number") {
  ChangeFeed feed({.ring = 10, .rows = 10}, true);
  feed.Append(R("a", 1), 100, 1);
  feed.Append(R("b", 2), 200, 1);
  feed.Append(R("a", 1), 300, -1);
  ChangeFeed::Page page = feed.ReadSince(0, 2);
  CHECK(Sequences(page.changes) == std::vector<uint64_t>{1, 2});
  CHECK(page.next == 2);
  CHECK_FALSE(page.gap);
  page = feed.ReadSince(page.next, 10);
  REQUIRE(page.changes.size() == 1);
  CHECK(page.changes[0].row == R("a", 1));
  CHECK(page.changes[0].diff == -1);
  CHECK(page.changes[0].time == 300);
  CHECK(page.next == 3);
  page = feed.ReadSince(3, 10);
  CHECK(page.changes.empty());
  CHECK(page.next == 3);
  CHECK(feed.ReadSince(99, 10).next == 3);
}

TEST_CASE("a reader that fell behind the ring is told so and continues from the oldest change") {
  ChangeFeed feed({.ring = 3, .rows = 10}, true);
  for (int64_t i = 1; i <= 5; ++i) feed.Append(R("k", i), i, 1);
  ChangeFeed::Page page = feed.ReadSince(1, 10);
  CHECK(page.gap);
  CHECK(Sequences(page.changes) == std::vector<uint64_t>{3, 4, 5});
  page = feed.ReadSince(2, 10);
  CHECK_FALSE(page.gap);
  CHECK(Sequences(page.changes) == std::vector<uint64_t>{3, 4, 5});
}

TEST_CASE("current rows consolidate retractions and keep the most recently changed first") {
  ChangeFeed feed({.ring = 2, .rows = 10}, true);
  feed.Append(R("a", 1), 10, 1);
  feed.Append(R("b", 1), 20, 1);
  feed.Append(R("a", 1), 30, -1);
  feed.Append(R("a", 2), 30, 1);
  feed.Append(R("b", 1), 40, 1);
  const ChangeFeed::Rows rows = feed.CurrentRows(10);
  REQUIRE(rows.rows.size() == 2);
  CHECK(rows.rows[0].row == R("b", 1));
  CHECK(rows.rows[0].count == 2);
  CHECK(rows.rows[0].time == 40);
  CHECK(rows.rows[0].sequence == 5);
  CHECK(rows.rows[1].row == R("a", 2));
  CHECK(rows.rows[1].count == 1);
  CHECK(rows.sequence == 5);
  CHECK(rows.total == 2);
  CHECK(feed.CurrentRows(1).rows.size() == 1);
}

TEST_CASE("the current rows table evicts the least recently changed row beyond its bound") {
  ChangeFeed feed({.ring = 10, .rows = 2}, true);
  feed.Append(R("a", 1), 1, 1);
  feed.Append(R("b", 1), 2, 1);
  feed.Append(R("a", 1), 3, 1);  // touches a: b is now the oldest
  feed.Append(R("c", 1), 4, 1);
  ChangeFeed::Rows rows = feed.CurrentRows(10);
  REQUIRE(rows.rows.size() == 2);
  CHECK(rows.rows[0].row == R("c", 1));
  CHECK(rows.rows[1].row == R("a", 1));
  CHECK(rows.evicted == 1);
  // Retracting the evicted row leaves nothing behind.
  feed.Append(R("b", 1), 5, -1);
  CHECK(feed.CurrentRows(10).rows.size() == 2);
}

TEST_CASE("an insert-only feed's current rows are its most recent changes") {
  ChangeFeed feed({.ring = 2, .rows = 10}, false);
  feed.Append(R("a", 1), 1, 1);
  feed.Append(R("a", 1), 2, 1);
  feed.Append(R("b", 1), 3, 1);
  const ChangeFeed::Rows rows = feed.CurrentRows(10);
  REQUIRE(rows.rows.size() == 2);
  CHECK(rows.rows[0].time == 3);
  CHECK(rows.rows[1].time == 2);
  CHECK(rows.evicted == 1);
}

TEST_CASE("telemetry numbers its snapshots and finds streams and feeds by name") {
  Telemetry telemetry(
      {{"env", "source", "file", {}, Schema()}, {"v", "view", "where", {"env"}, Schema()}},
      {{"v", "stdout"}}, {});
  CHECK(telemetry.Latest() == nullptr);
  telemetry.Publish({});
  telemetry.Publish({});
  REQUIRE(telemetry.Latest() != nullptr);
  CHECK(telemetry.Latest()->sequence == 2);
  CHECK(telemetry.FindStream("v")->kind == "view");
  CHECK(telemetry.FindStream("nope") == nullptr);
  CHECK(telemetry.feed("env") != nullptr);
  CHECK(telemetry.feed("nope") == nullptr);
}

}  // namespace
}  // namespace runnel
