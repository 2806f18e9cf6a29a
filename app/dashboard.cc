#include "app/dashboard.h"

#include <fstream>
#include <sstream>

#include "operators/change_feed_tap.h"
#include "runtime/process_stats.h"

namespace runnel {

namespace {

Result<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Invalid("[dashboard] token_file " + path +
                           ": cannot be read (create it, e.g. openssl rand -hex 32 > " + path +
                           ")");
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  const auto blank = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!token.empty() && blank(token.back())) token.pop_back();
  size_t start = 0;
  while (start < token.size() && blank(token[start])) ++start;
  token.erase(0, start);
  if (token.size() < 16) {
    return Status::Invalid("[dashboard] token_file " + path +
                           ": the token must be at least 16 characters (e.g. openssl rand -hex "
                           "32 > " +
                           path + ")");
  }
  return token;
}

// A view's counters live on every operator node that implements it ("view 'x'", "view 'x'
// where", "view 'x' select").
bool ImplementsView(const std::string& node_name, const std::string& view) {
  const std::string prefix = "view '" + view + "'";
  return node_name == prefix || node_name.starts_with(prefix + " ");
}

}  // namespace

Result<std::unique_ptr<Dashboard>> Dashboard::Start(Pipeline& pipeline,
                                                    const DashboardConfig& config, Logger& logger) {
  DashboardServerOptions options;
  options.listen = config.listen;
  if (config.token_file) {
    RUNNEL_ASSIGN_OR_RETURN(options.token, ReadToken(*config.token_file));
  }
  options.cert_file = config.cert_file;
  options.key_file = config.key_file;
  options.state_database_path = pipeline.state_database_path();

  std::vector<StreamShape> streams;
  for (const StreamInfo& s : pipeline.streams()) {
    streams.push_back({s.name, s.kind, s.description, s.inputs, s.schema});
  }
  std::vector<SinkShape> sinks;
  for (const SinkInfo& s : pipeline.sinks()) sinks.push_back({s.from, s.description});
  auto dashboard = std::make_unique<Dashboard>(
      PrivateTag(), pipeline,
      std::make_unique<Telemetry>(std::move(streams), std::move(sinks), ChangeFeed::Limits{}));

  // Serving first: when that fails, nothing of the dashboard is left in the dataflow.
  dashboard->Publish();
  RUNNEL_ASSIGN_OR_RETURN(dashboard->server_,
                          DashboardServer::Start(options, *dashboard->telemetry_, logger));
  Dataflow& flow = pipeline.dataflow();
  for (const StreamInfo& s : pipeline.streams()) {
    flow.AddOperator("dashboard tap '" + s.name + "'",
                     std::make_unique<ChangeFeedTap>(dashboard->telemetry_->feed(s.name)),
                     {s.port});
  }
  Dashboard* self = dashboard.get();
  flow.AddStepListener([self] {
    ++self->steps_;
    if (std::chrono::steady_clock::now() - self->last_publish_ >= kPublishPeriod) {
      self->Publish();
    }
    return Status::Ok();
  });
  logger.Info("dashboard: " + dashboard->server_->url());
  return dashboard;
}

Dashboard::Dashboard(PrivateTag, Pipeline& pipeline, std::unique_ptr<Telemetry> telemetry)
    : pipeline_(pipeline), telemetry_(std::move(telemetry)) {}

Dashboard::~Dashboard() {
  // The server reads telemetry until it is stopped.
  server_.reset();
}

void Dashboard::Publish() {
  const auto now = std::chrono::steady_clock::now();
  const double interval = std::chrono::duration<double>(now - last_publish_).count();
  const bool first = last_publish_ == std::chrono::steady_clock::time_point{};
  last_publish_ = now;
  const Timestamp wall = clock_.NowMillis();

  TelemetrySnapshot snapshot;
  snapshot.taken_at = wall;
  snapshot.steps = steps_;
  const auto& nodes = pipeline_.dataflow().nodes();
  size_t source_index = 0;
  for (const StreamInfo& s : pipeline_.streams()) {
    const Dataflow::Node& node = nodes[s.port.node];
    if (node.source) {
      SourceTelemetry t;
      t.name = s.name;
      const SourceStats stats = node.source->stats();
      t.records = stats.records_read;
      t.rejects = stats.records_rejected;
      t.watermark = node.source->watermark();
      if (t.watermark != kMinTime && t.watermark != kMaxTime) t.lag = wall - t.watermark;
      if (last_records_.size() <= source_index) last_records_.push_back(t.records);
      if (!first && interval > 0) {
        t.rate = static_cast<double>(t.records - last_records_[source_index]) / interval;
      }
      last_records_[source_index++] = t.records;
      snapshot.sources.push_back(std::move(t));
      continue;
    }
    ViewTelemetry t;
    t.name = s.name;
    t.kind = s.kind;
    t.rows_emitted = node.op->output(s.port.port).changes_emitted();
    t.watermark = node.output_watermark;
    for (const Dataflow::Node& n : nodes) {
      if (!n.op || !ImplementsView(n.name, s.name)) continue;
      const OperatorStats stats = n.op->stats();
      t.late_records += stats.late_records;
      t.state_entries += stats.state_entries;
      t.duplicates += stats.duplicates;
    }
    snapshot.views.push_back(std::move(t));
  }
  for (const SinkInfo& sink : pipeline_.sinks()) {
    SinkTelemetry t;
    t.from = sink.from;
    t.description = sink.description;
    if (sink.node >= 0) {
      const OperatorStats stats = nodes[sink.node].op->stats();
      t.rows_written = stats.rows_written;
      if (sink.description.starts_with("mqtt ")) {
        t.outbox_depth = stats.outbox_depth;
        t.outbox_overflow = stats.outbox_overflow;
      }
    }
    snapshot.sinks.push_back(std::move(t));
  }
  if (const std::optional<Timestamp> at = pipeline_.last_checkpoint_time()) {
    snapshot.checkpoint_age = ClockElapsed(clock_.NowMillis(), *at);
  }
  snapshot.process = SampleProcess(started_);
  telemetry_->Publish(std::move(snapshot));
}

}  // namespace runnel
