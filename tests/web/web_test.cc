#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "web/http_auth.h"
#include "web/live_updates.h"
#include "web/prometheus_text.h"
#include "web/query_string.h"

namespace runnel {
namespace {

TEST_CASE("tokens compare equal only when every byte and the length match") {
  CHECK(ConstantTimeEquals("secret-token", "secret-token"));
  CHECK_FALSE(ConstantTimeEquals("secret-token", "secret-tokeN"));
  CHECK_FALSE(ConstantTimeEquals("secret-token", "secret-token2"));
  CHECK_FALSE(ConstantTimeEquals("", "x"));
}

TEST_CASE("the token is read from a Bearer header or the runnel_token cookie") {
  CHECK(BearerToken("Bearer abc") == std::optional<std::string_view>("abc"));
  CHECK(BearerToken("bearer  abc ") == std::optional<std::string_view>("abc"));
  CHECK(BearerToken("Basic abc") == std::nullopt);
  CHECK(CookieValue("a=1; runnel_token=xyz; b=2", kTokenCookie) ==
        std::optional<std::string_view>("xyz"));
  CHECK(CookieValue("a=1", kTokenCookie) == std::nullopt);
}

TEST_CASE("a query parameter is URL-decoded and removed from the rest of the query") {
  const QueryParameter p = TakeQueryParameter("x=1&token=a%2Fb+c&y=2", "token");
  CHECK(p.value == std::optional<std::string>("a/b c"));
  CHECK(p.rest == "x=1&y=2");
  CHECK(TakeQueryParameter("x=1", "token").value == std::nullopt);
}

TEST_CASE("metrics are Prometheus text with HELP, TYPE and escaped labels") {
  TelemetrySnapshot snapshot;
  snapshot.sources.push_back({"env", 5, 1, kMinTime, std::nullopt, 2.5});
  snapshot.views.push_back({"v\"1", "view", 3, 0, 2, 0, 1000});
  const std::string text = PrometheusText(&snapshot, {2, 7, 1});
  CHECK(text.find("# HELP runnel_source_records_total Records the source emitted into the "
                  "pipeline.\n# TYPE runnel_source_records_total counter\n"
                  "runnel_source_records_total{source=\"env\"} 5\n") != std::string::npos);
  CHECK(text.find("runnel_source_watermark_milliseconds{source=\"env\"} -Inf\n") !=
        std::string::npos);
  CHECK(text.find("runnel_view_state_entries{view=\"v\\\"1\"} 2\n") != std::string::npos);
  CHECK(text.find("runnel_dashboard_websocket_skipped_total 7\n") != std::string::npos);
  CHECK(text.find("runnel_source_lag_seconds{") == std::string::npos);
}

TEST_CASE("a stalled live client is skipped and told to resync; others keep receiving") {
  Telemetry telemetry({{"v", "view", "", {}, Schema()}}, {}, {.ring = 8, .rows = 100});
  ChangeFeed* feed = telemetry.feed("v");
  const StreamShape* view = telemetry.FindStream("v");
  LiveUpdates live(telemetry, std::chrono::milliseconds(5));

  std::mutex mu;
  std::vector<std::string> fast_messages;
  std::atomic<bool> release{false};
  std::vector<std::string> slow_messages;
  const uint64_t fast = live.Add(
      view, 0,
      [&](std::string_view m) {
        std::lock_guard lock(mu);
        fast_messages.emplace_back(m);
        return true;
      },
      [] {});
  const uint64_t slow = live.Add(
      view, 0,
      [&](std::string_view m) {
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::lock_guard lock(mu);
        slow_messages.emplace_back(m);
        return true;
      },
      [] {});
  REQUIRE(fast != 0);
  REQUIRE(slow != 0);
  // The engine appends without ever waiting for the stalled client.
  for (int64_t i = 0; i < 100; ++i) {
    feed->Append({Value::Int(i)}, i, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(live.stats().skipped > 0);
  CHECK(live.stats().clients == 2);
  {
    std::lock_guard lock(mu);
    REQUIRE_FALSE(fast_messages.empty());
    CHECK(fast_messages.back().find("\"next\":100") != std::string::npos);
  }
  release = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  {
    std::lock_guard lock(mu);
    bool resynced = false;
    for (const std::string& m : slow_messages) resynced |= m.find("\"type\":\"resync\"") == 1;
    CHECK(resynced);
  }
  live.Remove(fast);
  live.Remove(slow);
  CHECK(live.stats().clients == 0);
}

}  // namespace
}  // namespace runnel
