// The `runnel` subcommands, each a function from parsed arguments to an exit code
// (0 success, 1 runtime failure, 2 bad usage or invalid pipeline; SPEC §1). Messages go to
// stderr so that stdout stays clean for sinks that write there.
#pragma once

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

}  // namespace runnel
