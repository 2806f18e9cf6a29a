#include "app/simulate_command.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>

#include "app/profile_decoder.h"
#include "config/device_profile.h"
#include "decode/record_encoder.h"
#include "mqtt/uplink.h"
#include "runtime/clock.h"
#include "runtime/event_time.h"
#include "runtime/stop_signal.h"
#include "sim/fleet_simulator.h"

namespace runnel {

namespace {

// Messages queued for the broker beyond which the simulator waits instead of running ahead.
constexpr size_t kMaxQueued = 10'000;
constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kDrainTimeout = std::chrono::seconds(30);

Result<DeviceProfile> LoadProfile(const std::string& profile) {
  if (profile.find('/') != std::string::npos || profile.ends_with(".toml")) {
    return LoadDeviceProfile(profile);
  }
  return LoadDeviceProfileByName(profile, ProfileSearchPath(""));
}

Result<Duration> ParseOption(const char* flag, const std::string& text) {
  auto d = ParseDuration(text);
  if (!d.ok()) return d.status().WithContext(flag);
  return d;
}

Result<Timestamp> ParseStart(const std::string& text, const Clock& clock) {
  if (text.empty()) return clock.NowMillis();
  if (text.find_first_not_of("0123456789") == std::string::npos && text.size() < 19) {
    return static_cast<Timestamp>(std::stoll(text));
  }
  auto t = ParseIso8601(text);
  if (!t.ok()) {
    return Status::Invalid("--start " + text +
                           ": write epoch milliseconds or an ISO 8601 time (2024-05-01T12:00:00Z)");
  }
  return t;
}

// "N messages (a normal, b late, c duplicate, d malformed)".
std::string Summary(const std::vector<uint64_t>& counts) {
  uint64_t total = 0;
  std::string kinds;
  for (int k = 0; k < kMessageKinds; ++k) {
    total += counts[static_cast<size_t>(k)];
    kinds += (k > 0 ? ", " : "") + std::to_string(counts[static_cast<size_t>(k)]) + " " +
             std::string(MessageKindName(static_cast<MessageKind>(k)));
  }
  return std::to_string(total) + " messages (" + kinds + ")";
}

// One JSON line per message: topic, payload (text) or payload_hex (binary), kind, due.
void AppendMessageLine(const SimulatedMessage& m, bool binary, std::string* line) {
  static constexpr char kHex[] = "0123456789abcdef";
  line->clear();
  line->append("{\"topic\":");
  AppendJsonString(*line, m.topic);
  if (binary) {
    line->append(",\"payload_hex\":\"");
    for (unsigned char c : m.payload) {
      line->push_back(kHex[c >> 4]);
      line->push_back(kHex[c & 0xF]);
    }
    line->push_back('"');
  } else {
    line->append(",\"payload\":");
    AppendJsonString(*line, m.payload);
  }
  line->append(",\"kind\":\"");
  line->append(MessageKindName(m.kind));
  line->append("\",\"due\":");
  line->append(std::to_string(m.due));
  line->append("}\n");
}

Status WriteMessages(FleetSimulator& fleet, uint64_t count, bool binary, const std::string& path,
                     Logger& logger) {
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (path != "-") {
    file.open(path, std::ios::binary | std::ios::trunc);
    if (!file) {
      return Status::IoError("cannot open " + path + " for writing: " + std::strerror(errno));
    }
    out = &file;
  }
  SimulatedMessage message;
  std::string line;
  for (uint64_t k = 0; k < count; ++k) {
    RUNNEL_RETURN_IF_ERROR(fleet.Next(&message));
    AppendMessageLine(message, binary, &line);
    out->write(line.data(), static_cast<std::streamsize>(line.size()));
  }
  out->flush();
  if (!*out) return Status::IoError("cannot write " + (path == "-" ? "standard output" : path));
  logger.Info("wrote " + Summary(fleet.counts()) + " to " +
              (path == "-" ? std::string("standard output") : path));
  return Status::Ok();
}

Status Publish(FleetSimulator& fleet, std::optional<uint64_t> count, const SimulateArgs& args,
               Timestamp start, const Clock& clock, Logger& logger) {
  BrokerOptions broker;
  broker.uri = args.broker;
  broker.client_id = "runnel-simulate-" + std::to_string(::getpid());
  if (!args.username.empty()) broker.username = args.username;
  if (!args.password_file.empty()) broker.password_file = args.password_file;
  RUNNEL_ASSIGN_OR_RETURN(std::unique_ptr<Uplink> uplink,
                          Uplink::Create(broker, "simulate", &clock, &logger));

  std::mutex mu;
  std::condition_variable wake;
  std::atomic<bool> stop{false};
  StopSignal on_signal([&](int) {
    {
      std::lock_guard lock(mu);
      stop = true;
    }
    wake.notify_all();
  });
  const auto sleep_until = [&](std::chrono::steady_clock::time_point t) {
    std::unique_lock lock(mu);
    wake.wait_until(lock, t, [&] { return stop.load(); });
  };

  std::vector<int64_t> delivered;
  const auto connect_deadline = std::chrono::steady_clock::now() + kConnectTimeout;
  while (!uplink->connected() && !uplink->unreachable() && !stop &&
         std::chrono::steady_clock::now() < connect_deadline) {
    uplink->Pump(&delivered);
    sleep_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(5));
  }
  if (!uplink->connected()) {
    if (stop) return Status::Ok();
    return Status::IoError("cannot publish: no connection to " + DescribeBroker(broker) +
                           " (is the broker running? see --broker)");
  }

  const auto t0 = std::chrono::steady_clock::now();
  SimulatedMessage message;
  uint64_t made = 0;
  std::vector<uint64_t> sent(kMessageKinds, 0);  // the last message made may not be sent
  while (!stop && (!count || made < *count)) {
    RUNNEL_RETURN_IF_ERROR(fleet.Next(&message));
    const auto due = t0 + std::chrono::milliseconds(message.due - start);
    if (due > std::chrono::steady_clock::now()) sleep_until(due);
    if (stop) break;
    ++sent[static_cast<size_t>(message.kind)];
    uplink->Enqueue({static_cast<int64_t>(made) + 1, std::move(message.topic),
                     std::move(message.payload), args.qos, false});
    ++made;
    uplink->Pump(&delivered);
    while (uplink->depth() > kMaxQueued && !stop) {
      sleep_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(1));
      uplink->Pump(&delivered);
    }
  }
  uplink->Close(std::chrono::duration_cast<std::chrono::milliseconds>(kDrainTimeout), &delivered);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char elapsed[32];
  std::snprintf(elapsed, sizeof(elapsed), "%.1f s", seconds);
  logger.Info("published " + Summary(sent) + " to " + args.broker + " at QoS " +
              std::to_string(args.qos) + " in " + elapsed);
  if (delivered.size() != made) {
    return Status::IoError(std::to_string(made - delivered.size()) + " of " + std::to_string(made) +
                           " messages did not reach " + args.broker);
  }
  return Status::Ok();
}

}  // namespace

Status RunSimulation(const SimulateArgs& args, Logger& logger) {
  RUNNEL_ASSIGN_OR_RETURN(DeviceProfile profile, LoadProfile(args.profile));
  RUNNEL_ASSIGN_OR_RETURN(ProfileCodec codec, BuildProfileCodec(profile));
  std::map<std::string, std::string> units;
  for (const ProfileField& f : profile.fields) units[f.name] = f.unit;

  if (args.qos < 0 || args.qos > 2) return Status::Invalid("--qos must be 0, 1 or 2");
  SystemClock clock;
  FleetOptions options;
  options.devices = args.devices;
  options.rate = args.rate;
  options.late_fraction = args.late_fraction;
  options.duplicate_fraction = args.duplicate_fraction;
  options.malformed_fraction = args.malformed_fraction;
  options.seed = args.seed;
  RUNNEL_ASSIGN_OR_RETURN(options.disorder, ParseOption("--disorder", args.disorder));
  RUNNEL_ASSIGN_OR_RETURN(options.clock_skew, ParseOption("--clock-skew", args.clock_skew));
  RUNNEL_ASSIGN_OR_RETURN(options.start, ParseStart(args.start, clock));
  std::optional<uint64_t> count;
  if (!args.duration.empty()) {
    RUNNEL_ASSIGN_OR_RETURN(Duration duration, ParseOption("--duration", args.duration));
    // Message k is due at k / rate: those due before the end.
    count =
        static_cast<uint64_t>(std::ceil(static_cast<double>(duration) * args.rate / 1000.0 - 1e-9));
  }
  RUNNEL_ASSIGN_OR_RETURN(
      std::unique_ptr<FleetSimulator> fleet,
      FleetSimulator::Create(codec.decoder->spec(), profile.topic, units, options));

  const std::string output = args.dry_run && args.output.empty() ? "-" : args.output;
  if (!output.empty()) {
    if (!count) {
      return Status::Invalid("--output and --dry-run need --duration (how much to write)");
    }
    return WriteMessages(*fleet, *count, profile.format == ProfileFormat::kBinary, output, logger);
  }
  return Publish(*fleet, count, args, options.start, clock, logger);
}

}  // namespace runnel
