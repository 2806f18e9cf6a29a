// FleetSimulator: a deterministic model of a fleet of devices of one profile, behind `runnel
// simulate`. Message k is due at start + k / rate and comes from device k mod N. Each device
// has its own clock offset, and each field a per-device level inside the field's plausible
// range (from its unit and min/max) that drifts slowly, plus noise; energy counters only grow
// and flags flip now and then. A configurable share of messages is late (older than the
// disorder bound), an exact duplicate of the device's previous message (redelivery) or
// malformed (rejected by the profile's decoder); the others are jittered by up to `disorder`.
// The same seed gives the same messages. Threading: one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "decode/payload_decoder.h"
#include "decode/payload_encoder.h"
#include "decode/topic_template.h"
#include "runtime/status.h"
#include "runtime/time.h"

namespace runnel {

struct FleetOptions {
  int64_t devices = 10;
  double rate = 10;           // messages per second, whole fleet
  Timestamp start = 0;        // when message 0 is due (epoch ms)
  Duration disorder = 0;      // normal messages are up to this much older than when they are due
  Duration clock_skew = 500;  // each device clock is off by up to this much, either way
  double late_fraction = 0;
  double duplicate_fraction = 0;
  double malformed_fraction = 0;
  uint64_t seed = 1;
};

enum class MessageKind { kNormal, kLate, kDuplicate, kMalformed };
inline constexpr int kMessageKinds = 4;
// "normal", "late", "duplicate", "malformed".
std::string_view MessageKindName(MessageKind kind);

struct SimulatedMessage {
  std::string topic;
  std::string payload;
  MessageKind kind = MessageKind::kNormal;
  Timestamp due = 0;  // when it is to be sent (epoch ms)
};

// A late message is this much older than the disorder bound (plus up to as much again), so
// that it misses windows of up to a minute.
inline constexpr Duration kLateAge = 60'000;

class FleetSimulator {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // `spec` and `topic` describe the profile (PayloadDecoder::Create must accept the spec; the
  // topic may hold no wildcard); `units` maps field names to their unit ("degC", "kWh"), which
  // picks plausible values. Errors are Invalid: bad options, a topic with wildcards, late or
  // disordered messages for a profile that stamps arrival time (its payloads carry no time).
  static Result<std::unique_ptr<FleetSimulator>> Create(
      const PayloadSpec& spec, std::string_view topic,
      const std::map<std::string, std::string>& units, const FleetOptions& options);
  ~FleetSimulator();

  // Writes the next message into *out.
  Status Next(SimulatedMessage* out);

  // Messages made so far, by MessageKind.
  const std::vector<uint64_t>& counts() const { return counts_; }

  struct Field;
  struct Device;
  FleetSimulator(PrivateTag, FleetOptions options, PayloadSpec spec, TopicRenderer topic,
                 std::unique_ptr<PayloadEncoder> encoder, std::vector<Field> fields);

 private:
  double Uniform();  // [0, 1)
  double Normal();   // standard normal
  void Read(Device& device, Row* row);
  void Break(std::string* payload) const;

  FleetOptions options_;
  PayloadSpec spec_;
  TopicRenderer topic_;
  std::unique_ptr<PayloadEncoder> encoder_;
  std::vector<Field> fields_;
  std::vector<Device> devices_;
  std::mt19937_64 rng_;
  uint64_t next_ = 0;
  std::vector<uint64_t> counts_;
  Row row_;
};

}  // namespace runnel
