#include "operators/device_status_operator.h"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "runtime/snapshot.h"
#include "tests/operators/change_collector.h"

namespace runnel {
namespace {

using testing::Collector;
using testing::ShowAll;

// Input rows: (device, temp); the status view reads column 0.
struct StatusFixture {
  ManualClock clock{100'000};
  DeviceStatusOperator op{DeviceStatusSpec{0, 10'000, 3}, &clock};
  Collector out;
  Timestamp input_watermark = kMinTime;

  StatusFixture() { op.output().Connect(&out, 0); }

  void See(const std::string& device) {
    op.OnChange(0, {Value::String(device), Value::Float(1.5)}, clock.NowMillis() - 500, 1);
  }
  // One engine step; returns the changes it emitted.
  std::vector<std::string> Step(Timestamp* watermark = nullptr) {
    out.changes.clear();
    Timestamp wm = 0;
    const Timestamp in[] = {input_watermark};
    REQUIRE(op.Advance(in, &wm).ok());
    if (watermark) *watermark = wm;
    return ShowAll(out.changes);
  }
};

TEST_CASE("a device is online when first seen, offline after 3 silent periods, online again") {
  StatusFixture f;
  f.See("a");
  f.See("b");
  Timestamp watermark = 0;
  CHECK(f.Step(&watermark) ==
        std::vector<std::string>{"+1 @100000 \"a\" 100000 true", "+1 @100000 \"b\" 100000 true"});
  CHECK(watermark == 100'000);

  // b keeps reporting; a stays silent. 29.999 s of silence is not yet 3 periods.
  f.clock.Set(129'999);
  f.See("b");
  CHECK(f.Step().empty());
  f.clock.Set(130'000);
  CHECK(f.Step() ==
        std::vector<std::string>{"-1 @130000 \"a\" 100000 true", "+1 @130000 \"a\" 100000 false"});
  CHECK(f.Step().empty());

  // a reports again 5 s later: its offline row (last seen 100000) is replaced.
  f.clock.Set(135'000);
  f.See("a");
  CHECK(f.Step() ==
        std::vector<std::string>{"-1 @135000 \"a\" 100000 false", "+1 @135000 \"a\" 135000 true"});
  // b was last seen at 129999: offline at 159999, carrying that last-seen time.
  f.clock.Set(159'999);
  CHECK(f.Step() ==
        std::vector<std::string>{"-1 @159999 \"b\" 100000 true", "+1 @159999 \"b\" 129999 false"});
  CHECK(f.op.stats().state_entries == 2);
}

// The rule of the header comment, applied to every device at every step. The operator only
// visits the devices seen in a step and, for silence, walks the fleet only once some device
// can be silent: any history of records and clock moves must give the same changes.
struct StatusModel {
  struct Device {
    Timestamp last_seen = 0, row_last_seen = 0;
    bool online = false, emitted = false, seen = false;
  };
  std::map<std::string, Device> devices;
  Timestamp now = kMinTime;
  Duration silence = 30'000;

  void See(const std::string& name, Timestamp clock) {
    Device& d = devices[name];
    d.last_seen = std::max(clock, now);
    d.seen = true;
  }
  std::vector<std::string> Step(Timestamp clock) {
    now = std::max(now, clock);
    std::vector<std::string> changes;
    auto emit = [&](const std::string& name, Timestamp last_seen, bool online, Diff diff) {
      changes.push_back((diff > 0 ? "+1 @" : "-1 @") + std::to_string(now) + " \"" + name + "\" " +
                        std::to_string(last_seen) + (online ? " true" : " false"));
    };
    for (auto& [name, d] : devices) {
      if (d.seen) {
        d.seen = false;
        if (d.emitted && d.online) continue;
        if (d.emitted) emit(name, d.row_last_seen, false, -1);
        emit(name, now, true, 1);
        d.emitted = d.online = true;
        d.row_last_seen = now;
      } else if (d.online && now - d.last_seen >= silence) {
        emit(name, d.row_last_seen, true, -1);
        emit(name, d.last_seen, false, 1);
        d.online = false;
        d.row_last_seen = d.last_seen;
      }
    }
    return changes;
  }
};

TEST_CASE("the status view gives the changes of a step-by-step model for random histories") {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    StatusFixture f;
    StatusModel model;
    const int fleet = 1 + static_cast<int>(rng() % 12);
    for (int step = 0; step < 300; ++step) {
      // Mostly small clock moves; now and then a jump past the silence limit or backwards.
      const uint32_t move = rng() % 20;
      const Timestamp clock =
          move == 0
              ? f.clock.NowMillis() - 5'000
              : f.clock.NowMillis() + (move == 1 ? 31'000 : static_cast<Timestamp>(rng() % 4'000));
      f.clock.Set(clock);
      const int records = static_cast<int>(rng() % 4);
      for (int r = 0; r < records; ++r) {
        const std::string device = "d" + std::to_string(rng() % fleet);
        f.See(device);
        model.See(device, clock);
      }
      REQUIRE(f.Step() == model.Step(clock));
    }
  }
}

TEST_CASE("a restored status view retracts the rows it emitted before, not emitting anew") {
  StatusFixture before;
  before.See("a");
  before.See("b");
  before.Step();
  before.clock.Set(130'000);
  before.See("b");
  CHECK(before.Step() ==
        std::vector<std::string>{"-1 @130000 \"a\" 100000 true", "+1 @130000 \"a\" 100000 false"});
  SnapshotWriter saved;
  before.op.SaveState(&saved);

  // The restarted run: b still reports (its row stays), a reports again (offline -> online).
  StatusFixture after;
  auto reader = SnapshotReader::Open(saved.bytes());
  REQUIRE(reader.ok());
  REQUIRE(after.op.LoadState(&*reader).ok());
  CHECK(after.op.StateFingerprint() == before.op.StateFingerprint());
  CHECK(after.op.stats().state_entries == 2);
  after.clock.Set(131'000);
  after.See("a");
  after.See("b");
  CHECK(after.Step() ==
        std::vector<std::string>{"-1 @131000 \"a\" 100000 false", "+1 @131000 \"a\" 131000 true"});
  // Both go silent; b's row (online since 100000, emitted by the first run) is retracted
  // with the values it was emitted with.
  after.clock.Set(161'000);
  CHECK(after.Step() ==
        std::vector<std::string>{"-1 @161000 \"a\" 131000 true", "+1 @161000 \"a\" 131000 false",
                                 "-1 @161000 \"b\" 100000 true", "+1 @161000 \"b\" 131000 false"});

  // Damaged bytes and another definition are refused.
  std::string damaged = saved.bytes();
  damaged.pop_back();
  StatusFixture broken;
  auto truncated = SnapshotReader::Open(damaged);
  REQUIRE(truncated.ok());
  CHECK(broken.op.LoadState(&*truncated).code() == StatusCode::kCorruption);
  DeviceStatusOperator other(DeviceStatusSpec{0, 60'000, 3}, &before.clock);
  CHECK(other.StateFingerprint() != before.op.StateFingerprint());
}

TEST_CASE("the status view ignores null devices and retractions") {
  StatusFixture f;
  f.op.OnChange(0, {Value::Null(), Value::Float(1)}, 0, 1);
  f.op.OnChange(0, {Value::String("a"), Value::Float(1)}, 0, -1);
  CHECK(f.Step().empty());
  CHECK(f.op.stats().state_entries == 0);
}

TEST_CASE("the status view's time never goes back when the gateway clock does") {
  StatusFixture f;
  f.See("a");
  CHECK(f.Step().size() == 1);
  f.clock.Set(50'000);  // NTP stepped the clock back
  Timestamp watermark = 0;
  CHECK(f.Step(&watermark).empty());
  CHECK(watermark == 100'000);
}

TEST_CASE("the status view's watermark is +inf once its input has ended") {
  StatusFixture f;
  f.See("a");
  f.input_watermark = kMaxTime;
  Timestamp watermark = 0;
  CHECK(f.Step(&watermark) == std::vector<std::string>{"+1 @100000 \"a\" 100000 true"});
  CHECK(watermark == kMaxTime);
}

}  // namespace
}  // namespace runnel
