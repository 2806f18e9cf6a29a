#include "sim/fleet_simulator.h"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "app/profile_decoder.h"
#include "decode/payload_encoder.h"

namespace runnel {
namespace {

struct Profile {
  DeviceProfile profile;
  ProfileCodec codec;
  std::map<std::string, std::string> units;
};

Profile Shipped(std::string_view name) {
  const std::vector<std::string> search{std::string(RUNNEL_SOURCE_DIR) + "/firmware_configs"};
  Result<DeviceProfile> profile = LoadDeviceProfileByName(name, search);
  if (!profile.ok()) FAIL(profile.status().message());
  Result<ProfileCodec> codec = BuildProfileCodec(*profile);
  if (!codec.ok()) FAIL(codec.status().message());
  Profile out{*profile, std::move(codec).value(), {}};
  for (const ProfileField& f : out.profile.fields) out.units[f.name] = f.unit;
  return out;
}

std::unique_ptr<FleetSimulator> Fleet(const Profile& p, const FleetOptions& options) {
  auto fleet = FleetSimulator::Create(p.codec.decoder->spec(), p.profile.topic, p.units, options);
  if (!fleet.ok()) FAIL(fleet.status().message());
  return std::move(fleet).value();
}

std::string Encode(const Profile& p, const Row& row) {
  auto encoder = PayloadEncoder::Create(p.codec.decoder->spec());
  REQUIRE(encoder.ok());
  std::string out;
  const Status status = (*encoder)->Encode(row, &out);
  if (!status.ok()) FAIL(status.message());
  return out;
}

TEST_CASE("the shipped profiles encode the example payloads their files document") {
  CHECK(Encode(Shipped("esp32-bme280"),
               {Value::String("esp32-a1b2c3"), Value::Int(1'700'000'000'000), Value::Float(21.5),
                Value::Float(48.2), Value::Float(1013.25), Value::Int(87)}) ==
        R"({"ts":1700000000000,"t":21.5,"h":48.2,"p":101325,"bat":87})");
  CHECK(Encode(Shipped("lora-soil"),
               {Value::String("70b3d57ed0041234"), Value::Int(1'700'000'000'000),
                Value::Float(54.0), Value::Float(22.77), Value::Int(3600)}) ==
        std::string("\x02\x1c\x08\xe5\x0e\x10\x65\x53\xf1\x00", 10));
  CHECK(Encode(Shipped("energy-meter"),
               {Value::String("plant-1"), Value::String("em-07"), Value::Int(1'700'000'000'250),
                Value::Float(230.4), Value::Float(5.12), Value::Float(1179.6),
                Value::Float(15234.75)}) == "1700000000.25,230.4,5.12,1179.6,15234.75");
  CHECK(Encode(Shipped("smart-plug"),
               {Value::String("kitchen-kettle"), Value::Int(0), Value::Bool(true),
                Value::Float(12.5), Value::Float(229.8), Value::Float(0.054)}) ==
        "relay=1 power=12.5 voltage=229.8 current=0.054");
}

// Decodes every message as an MQTT source would, and checks what the kinds promise.
void CheckFleet(const char* name, const FleetOptions& options, uint64_t count) {
  INFO(name);
  Profile p = Shipped(name);
  std::unique_ptr<FleetSimulator> fleet = Fleet(p, options);
  std::map<std::string, std::string> last_payload;  // per topic
  uint64_t rejected = 0;
  SimulatedMessage m;
  std::vector<std::string_view> values;
  DecodedRecord record;
  const Timestamp resolution =
      p.profile.time.unit == TimeUnit::kSeconds && p.profile.format == ProfileFormat::kBinary ? 1000
                                                                                              : 1;
  for (uint64_t k = 0; k < count; ++k) {
    REQUIRE(fleet->Next(&m).ok());
    CHECK(m.due == options.start + static_cast<Timestamp>(k * 1000 / options.rate));
    REQUIRE(p.codec.topic.Match(m.topic, &values));
    if (m.kind == MessageKind::kDuplicate) {
      CHECK(last_payload[m.topic] == m.payload);
    }
    const DecodeStatus status = p.codec.decoder->Decode(values, m.payload, m.due, &record);
    if (!status.ok()) {
      ++rejected;
      CHECK(m.kind == MessageKind::kMalformed);
      continue;
    }
    CHECK(m.kind != MessageKind::kMalformed);
    last_payload[m.topic] = m.payload;
    if (!p.codec.decoder->spec().time_field) continue;
    const Timestamp newest = m.due + options.clock_skew;
    const Timestamp oldest = m.due - options.clock_skew - options.disorder - resolution;
    if (m.kind == MessageKind::kLate) {
      CHECK(record.time <= newest - options.disorder - kLateAge);
    } else if (m.kind == MessageKind::kNormal) {
      CHECK(record.time <= newest);
      CHECK(record.time >= oldest);
    }
  }
  const std::vector<uint64_t>& counts = fleet->counts();
  CHECK(counts[0] + counts[1] + counts[2] + counts[3] == count);
  CHECK(rejected == counts[static_cast<size_t>(MessageKind::kMalformed)]);
  CHECK(counts[static_cast<size_t>(MessageKind::kMalformed)] > 0);
  CHECK(counts[static_cast<size_t>(MessageKind::kDuplicate)] > 0);
}

TEST_CASE("simulated messages of every shipped profile decode, except the malformed ones") {
  FleetOptions options;
  options.devices = 7;
  options.rate = 50;
  options.start = 1'700'000'000'000;
  options.disorder = 5'000;
  options.late_fraction = 0.1;
  options.duplicate_fraction = 0.1;
  options.malformed_fraction = 0.1;
  options.seed = 3;
  CheckFleet("esp32-bme280", options, 2000);
  CheckFleet("lora-soil", options, 2000);
  CheckFleet("energy-meter", options, 2000);
  options.late_fraction = 0;
  options.disorder = 0;
  CheckFleet("smart-plug", options, 2000);
}

TEST_CASE("a seed fixes the simulated messages and their counts") {
  Profile p = Shipped("esp32-bme280");
  FleetOptions options;
  options.devices = 3;
  options.rate = 2;
  options.start = 1'700'000'000'000;
  options.disorder = 2'000;
  options.late_fraction = 0.05;
  options.duplicate_fraction = 0.05;
  options.malformed_fraction = 0.05;
  options.seed = 42;
  const auto run = [&](uint64_t seed, int n) {
    options.seed = seed;
    std::unique_ptr<FleetSimulator> fleet = Fleet(p, options);
    std::vector<std::string> out;
    SimulatedMessage m;
    for (int k = 0; k < n; ++k) {
      REQUIRE(fleet->Next(&m).ok());
      out.push_back(m.topic + " " + m.payload);
    }
    return std::make_pair(out, fleet->counts());
  };
  const auto [first, counts] = run(42, 1000);
  CHECK(run(42, 1000).first == first);
  CHECK(run(43, 1000).first != first);
  // Pinned: a change in the fleet model shows up here.
  CHECK(counts[0] == 850);  // normal
  CHECK(counts[1] == 59);   // late
  CHECK(counts[2] == 46);   // duplicate
  CHECK(counts[3] == 45);   // malformed
  CHECK(first[0] ==
        R"(sensors/sim-0001/env {"ts":1699999998709,"t":23.11,"h":39.6,"p":99772,"bat":46})");
}

TEST_CASE("the simulator refuses options it cannot honour") {
  Profile plug = Shipped("smart-plug");
  FleetOptions options;
  options.late_fraction = 0.1;
  auto fleet =
      FleetSimulator::Create(plug.codec.decoder->spec(), plug.profile.topic, plug.units, options);
  REQUIRE(!fleet.ok());
  CHECK(fleet.status().message() ==
        "profile \"smart-plug\" stamps records with their arrival time, so its payloads carry no "
        "time to be late or out of order (drop --late-fraction and --disorder)");
  options.late_fraction = 0.6;
  options.duplicate_fraction = 0.6;
  Profile env = Shipped("esp32-bme280");
  fleet = FleetSimulator::Create(env.codec.decoder->spec(), env.profile.topic, env.units, options);
  REQUIRE(!fleet.ok());
  CHECK(fleet.status().message() ==
        "--late-fraction, --duplicate-fraction and --malformed-fraction add up to more than 1");
}

}  // namespace
}  // namespace runnel
