// PipelineBuilder: the composition root. Turns a validated PipelineConfig into a runnable
// Pipeline: resolves every stream's schema, compiles expressions and aggregates (reporting
// errors at their file position), creates sources, operators and sinks, and wires them into a
// Dataflow. `runnel check` builds the same graph with placeholder I/O, so checking and running
// share one code path. Builds nothing else: no parsing, no event loop, no HTTP.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/pipeline_config.h"
#include "runtime/clock.h"
#include "runtime/dataflow.h"
#include "runtime/logger.h"
#include "runtime/schema.h"

namespace runnel {

class StateDatabase;
class PipelinePersistence;
class RejectSink;

struct BuildOptions {
  bool open_io = true;                   // false for `runnel check`: no files, no database
  std::optional<std::string> state_dir;  // --state-dir (overrides [runtime] state_dir)
  bool reset_state = false;
  std::vector<std::pair<std::string, std::string>> replays;  // --replay SOURCE=PATH
  Logger* logger = nullptr;
  const Clock* clock = nullptr;  // the gateway clock; null: the system clock
};

// A named stream of the pipeline (a source, a view or a late view), for printing and stats.
struct StreamInfo {
  std::string name;
  std::string kind;         // "source", "view", "late view", "status view"
  std::string description;  // e.g. "file static csv data/a.csv", "window tumbling 1m by device"
  std::vector<std::string> inputs;
  Schema schema;
  PortRef port;  // where the stream's changes come out of the dataflow
};

struct SinkInfo {
  std::string from;
  std::string description;  // "table env_1m", "file out/env_1m.csv", "stdout"
  int node = -1;
};

class Pipeline {
 public:
  Pipeline();
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  Dataflow& dataflow() { return dataflow_; }
  const std::vector<StreamInfo>& streams() const { return streams_; }
  const std::vector<SinkInfo>& sinks() const { return sinks_; }
  const std::string& state_database_path() const { return state_database_path_; }

  // "sources -> views -> sinks" as indented text, with each stream's columns.
  std::string DescribeGraph() const;

  // Restores the last checkpoint, if any (SPEC §6). Call once, before running the dataflow.
  Status Restore();
  // Checkpoints what the last step changed (SPEC §6: a stop checkpoints). Call once after
  // Dataflow::Run has returned Ok.
  Status CheckpointAtEnd();
  // Gateway-clock time of the last checkpoint this run took or restored.
  std::optional<Timestamp> last_checkpoint_time() const;

 private:
  friend class PipelineBuilder;
  // Defaults for BuildOptions' clock and logger; they outlive the dataflow's MQTT sinks.
  SystemClock system_clock_;
  StderrLogger stderr_logger_;
  std::unique_ptr<StateDatabase> state_database_;  // destroyed after the dataflow's sinks
  std::unique_ptr<RejectSink> rejects_;            // used by MQTT sources; after the database
  Dataflow dataflow_;
  std::unique_ptr<PipelinePersistence> persistence_;  // null for `check` and batch jobs without backfill
  std::vector<StreamInfo> streams_;
  std::vector<SinkInfo> sinks_;
  std::string state_database_path_;
};

// Errors are StatusCode::kInvalid for pipeline mistakes ("FILE:LINE: ...") and other codes for
// I/O failures while opening inputs, outputs or the state database.
Result<std::unique_ptr<Pipeline>> BuildPipeline(const PipelineConfig& config,
                                                const BuildOptions& options);

}  // namespace runnel
