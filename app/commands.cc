#include "app/commands.h"

#include <chrono>
#include <cstdio>

#include "app/dashboard.h"
#include "app/pipeline_builder.h"
#include "config/pipeline_config.h"
#include "runtime/logger.h"
#include "runtime/stop_signal.h"

namespace runnel {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitInvalid = 2;

int ExitCodeFor(const Status& status) {
  return status.code() == StatusCode::kInvalid ? kExitInvalid : kExitFailure;
}

int Fail(Logger& logger, const Status& status) {
  logger.Error(status.message());
  return ExitCodeFor(status);
}

Result<std::vector<std::pair<std::string, std::string>>> ParseReplays(
    const std::vector<std::string>& replays) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& r : replays) {
    const size_t eq = r.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == r.size()) {
      return Status::Invalid("--replay " + r +
                             ": write SOURCE=PATH, e.g. --replay env=logs/env.csv");
    }
    out.emplace_back(r.substr(0, eq), r.substr(eq + 1));
  }
  return out;
}

std::string Plural(uint64_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

int CheckCommand(const std::string& path) {
  StderrLogger logger;
  auto config = LoadPipelineFile(path);
  if (!config.ok()) return Fail(logger, config.status());
  BuildOptions options;
  options.open_io = false;
  options.logger = &logger;
  auto pipeline = BuildPipeline(*config, options);
  if (!pipeline.ok()) return Fail(logger, pipeline.status());
  std::printf("%s: ok\n%s", path.c_str(), (*pipeline)->DescribeGraph().c_str());
  return kExitOk;
}

int RunCommand(const RunArgs& args) {
  StderrLogger logger;
  const auto started = std::chrono::steady_clock::now();
  auto config = LoadPipelineFile(args.pipeline);
  if (!config.ok()) return Fail(logger, config.status());

  BuildOptions options;
  options.logger = &logger;
  options.reset_state = args.reset_state;
  if (!args.state_dir.empty()) options.state_dir = args.state_dir;
  auto replays = ParseReplays(args.replays);
  if (!replays.ok()) return Fail(logger, replays.status());
  options.replays = std::move(replays).value();

  auto built = BuildPipeline(*config, options);
  if (!built.ok()) return Fail(logger, built.status());
  Pipeline& pipeline = **built;
  Dataflow& flow = pipeline.dataflow();

  // A batch run (every source static) is over before anyone could look: no dashboard.
  bool batch = true;
  for (const Dataflow::Node& node : flow.nodes())
    batch = batch && (!node.source || node.source->bounded());
  std::unique_ptr<Dashboard> dashboard;
  if (!args.no_dashboard && !batch) {
    auto serving = Dashboard::Start(pipeline, config->dashboard, logger);
    // A pipeline without a [dashboard] section gets one on the default address if it is free;
    // a run must not fail because another process holds that port. A configured one must work.
    const bool configured = config->dashboard.where.line > 0;
    if (!serving.ok() && (configured || serving.status().code() != StatusCode::kIoError)) {
      return Fail(logger, serving.status());
    }
    if (serving.ok()) {
      dashboard = std::move(serving).value();
    } else {
      logger.Warning(serving.status().message() + "; the run goes on without a dashboard");
    }
  }

  SchedulerOptions scheduler;
  scheduler.batch_size = static_cast<size_t>(config->runtime.batch_size);
  Status status;
  {
    // A stop ends the run after the current step: what that step changed reaches the sinks,
    // open windows are not forced closed (they are incomplete), and the exit code is 0.
    StopSignal stop([&flow](int) { flow.RequestStop(); });
    status = flow.Run(scheduler);
  }
  dashboard.reset();
  if (!status.ok()) {
    // Whatever stops a run that has started (bad data with on_error = "fail", a full disk) is
    // a runtime failure, even when the cause is invalid input.
    logger.Error(status.message());
    return kExitFailure;
  }

  uint64_t read = 0, rejected = 0, written = 0, late = 0;
  std::vector<std::string> details;  // per node, only what a user should look at
  for (const Dataflow::Node& node : flow.nodes()) {
    if (node.source) {
      read += node.source->stats().records_read;
      rejected += node.source->stats().records_rejected;
      continue;
    }
    const OperatorStats stats = node.op->stats();
    late += stats.late_records;
    if (stats.late_records > 0) {
      details.push_back(node.name + ": " + std::to_string(stats.late_records) + " late");
    }
    if (stats.duplicates > 0) {
      details.push_back(node.name + ": " + Plural(stats.duplicates, "duplicate") + " dropped");
    }
  }
  for (const SinkInfo& sink : pipeline.sinks()) {
    if (sink.node >= 0) written += flow.nodes()[sink.node].op->stats().rows_written;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  char elapsed[32];
  std::snprintf(elapsed, sizeof(elapsed), "%.2f s", seconds);
  logger.Info("done in " + std::string(elapsed) + ": " + Plural(read, "record") + " read, " +
              std::to_string(rejected) + " rejected, " + Plural(written, "row") + " written, " +
              std::to_string(late) + " late");
  for (const std::string& detail : details) logger.Info(detail);
  for (const SinkInfo& sink : pipeline.sinks()) {
    std::string where = sink.description;
    if (where.rfind("table ", 0) == 0) where += " in " + pipeline.state_database_path();
    if (where != "stdout") logger.Info("results of " + sink.from + ": " + where);
  }
  return kExitOk;
}

}  // namespace runnel
