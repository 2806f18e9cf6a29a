// The `runnel` subcommands, each a function from parsed arguments to an exit code
// (0 success, 1 runtime failure, 2 bad usage or invalid pipeline; SPEC §1). Messages go to
// stderr so that stdout stays clean for sinks that write there.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace runnel {

struct RunArgs {
  std::string pipeline;
  std::vector<std::string> replays;  // "SOURCE=PATH"
  std::string state_dir;             // empty: from the pipeline file
  bool reset_state = false;
  bool no_dashboard = false;
};
int RunCommand(const RunArgs& args);

int CheckCommand(const std::string& pipeline);

struct ExportArgs {
  std::string state_dir;
  std::string source;
  std::string format = "csv";  // csv | jsonl
  std::string since, until;    // epoch ms or ISO 8601; empty: unbounded
};
int ExportCommand(const ExportArgs& args);

struct SimulateArgs {
  std::string profile;  // a name in firmware_configs/, or a path to a .toml profile
  int64_t devices = 10;
  double rate = 10;      // messages per second, whole fleet
  std::string duration;  // empty: until SIGINT/SIGTERM
  std::string disorder = "0s";
  std::string clock_skew = "500ms";
  double late_fraction = 0;
  double duplicate_fraction = 0;
  double malformed_fraction = 0;
  std::string broker = "tcp://127.0.0.1:1883";
  std::string username;
  std::string password_file;  // else RUNNEL_MQTT_PASSWORD
  int qos = 1;
  uint64_t seed = 1;
  std::string start;     // epoch ms or ISO 8601; empty: now
  std::string output;    // write messages here ("-": stdout) instead of publishing
  bool dry_run = false;  // --output -
};
int SimulateCommand(const SimulateArgs& args);

}  // namespace runnel
