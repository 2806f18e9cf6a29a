#include "app/commands.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "app/dashboard.h"
#include "app/pipeline_builder.h"
#include "app/simulate_command.h"
#include "config/pipeline_config.h"
#include "io/file_sink.h"
#include "runtime/event_time.h"
#include "runtime/logger.h"
#include "runtime/snapshot.h"
#include "runtime/stop_signal.h"
#include "storage/input_log.h"
#include "storage/input_log_source.h"
#include "storage/state_database.h"

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

// --since/--until: epoch milliseconds, or an ISO 8601 time.
Result<Timestamp> ParseTimeArgument(const std::string& flag, const std::string& text) {
  int64_t ms = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (error == std::errc() && end == text.data() + text.size()) return ms;
  auto parsed = ParseIso8601(text);
  if (parsed.ok()) return parsed;
  return Status::Invalid(flag + " " + text +
                         ": give epoch milliseconds or an ISO 8601 time (2026-11-21T08:00:00Z)");
}

Status ExportLog(const ExportArgs& args) {
  if (args.format != "csv" && args.format != "jsonl") {
    return Status::Invalid("--format " + args.format + ": use csv or jsonl");
  }
  Timestamp since = kMinTime, until = kMaxTime;
  if (!args.since.empty()) {
    RUNNEL_ASSIGN_OR_RETURN(since, ParseTimeArgument("--since", args.since));
  }
  if (!args.until.empty()) {
    RUNNEL_ASSIGN_OR_RETURN(until, ParseTimeArgument("--until", args.until));
  }
  const std::string path = (std::filesystem::path(args.state_dir) / "runnel.db").string();
  RUNNEL_ASSIGN_OR_RETURN(std::unique_ptr<StateDatabase> db, StateDatabase::OpenExisting(path));
  RUNNEL_ASSIGN_OR_RETURN(std::unique_ptr<InputLog> log, InputLog::Open(db.get()));
  RUNNEL_ASSIGN_OR_RETURN(InputLog::SourceEntry source, log->FindSource(args.source));
  RUNNEL_ASSIGN_OR_RETURN(Schema schema, InputLogSource::SchemaOfFields(source.fields));
  FileSinkSpec spec;
  spec.path = "-";
  spec.format = args.format == "csv" ? FileFormat::kCsv : FileFormat::kJsonl;
  spec.diff_column = false;
  RUNNEL_ASSIGN_OR_RETURN(std::unique_ptr<FileSink> out, FileSink::Create(spec, schema));
  constexpr int64_t kBatch = 10'000;
  int64_t after = 0;
  while (true) {
    int64_t read = 0;
    RUNNEL_RETURN_IF_ERROR(
        log->ReadSource(source.id, after, since, until, kBatch, [&](const LoggedRecord& record) {
          RUNNEL_ASSIGN_OR_RETURN(SnapshotReader reader, SnapshotReader::Open(record.record));
          Row row;
          Status decoded = reader.ReadRow("logged record", &row);
          if (!decoded.ok()) return decoded.WithContext(path);
          out->OnChange(0, row, record.time, 1);
          after = record.seq;
          ++read;
          return Status::Ok();
        }));
    Timestamp ignored;
    RUNNEL_RETURN_IF_ERROR(out->Advance({}, &ignored));
    if (read < kBatch) break;
  }
  return out->Close();
}

}  // namespace

int ExportCommand(const ExportArgs& args) {
  StderrLogger logger;
  Status status = ExportLog(args);
  return status.ok() ? kExitOk : Fail(logger, status);
}

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
  if (Status restored = pipeline.Restore(); !restored.ok()) return Fail(logger, restored);

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
  scheduler.step_interval = std::chrono::milliseconds(config->runtime.step_interval);
  Status status;
  {
    // A stop ends the run after the current step: what that step changed reaches the sinks,
    // open windows are not forced closed (they are incomplete), and the exit code is 0.
    StopSignal stop([&flow](int) { flow.RequestStop(); });
    status = flow.Run(scheduler);
  }
  if (status.ok()) status = pipeline.CheckpointAtEnd();
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
      const SourceStats stats = node.source->stats();
      read += stats.records_read;
      rejected += stats.records_rejected;
      std::string reasons;
      for (const auto& [reason, n] : node.source->rejects_by_reason()) {
        reasons += (reasons.empty() ? "" : ", ") + reason + " " + std::to_string(n);
      }
      if (!reasons.empty()) {
        details.push_back(node.name + ": " + std::to_string(stats.records_rejected) +
                          " rejected (" + reasons + ")");
      }
      if (stats.reconnects > 0) {
        details.push_back(node.name + ": " + Plural(stats.reconnects, "reconnect"));
      }
      if (stats.backpressure_ms > 0) {
        details.push_back(node.name + ": receiving paused " +
                          std::to_string(stats.backpressure_ms) +
                          " ms for the engine to catch up (backpressure)");
      }
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
    if (stats.outbox_overflow > 0) {
      details.push_back(node.name + ": " + Plural(stats.outbox_overflow, "message") +
                        " dropped because the outbox was full");
    }
    if (stats.messages_unpublishable > 0) {
      details.push_back(node.name + ": " + Plural(stats.messages_unpublishable, "change") +
                        " not published (null topic field)");
    }
    if (stats.outbox_depth > 0) {
      details.push_back(node.name + ": " + Plural(stats.outbox_depth, "message") +
                        " wait in the outbox");
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

int SimulateCommand(const SimulateArgs& args) {
  StderrLogger logger;
  const Status status = RunSimulation(args, logger);
  if (!status.ok()) return Fail(logger, status);
  return kExitOk;
}

}  // namespace runnel
