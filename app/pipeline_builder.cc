#include "app/pipeline_builder.h"

#include <filesystem>
#include <map>
#include <sstream>

#include "app/profile_decoder.h"
#include "config/device_profile.h"
#include "io/file_sink.h"
#include "io/file_source.h"
#include "operators/aggregate.h"
#include "operators/asof_join_operator.h"
#include "operators/dedup_operator.h"
#include "operators/expression.h"
#include "operators/map_operator.h"
#include "operators/window_operator.h"
#include "storage/state_database.h"
#include "storage/table_sink.h"

namespace runnel {

Pipeline::Pipeline() = default;
Pipeline::~Pipeline() = default;

namespace {

// Stands in for a source under `runnel check`: bounded and empty.
class PlaceholderSource final : public Source {
 public:
  Result<PollStatus> Poll(size_t) override { return PollStatus::kFinished; }
  Timestamp watermark() const override { return kMaxTime; }
  bool bounded() const override { return true; }
  SourceStats stats() const override { return {}; }
};

std::string ColumnsText(const Schema& schema) {
  std::string out;
  for (const Column& c : schema.columns()) {
    if (!out.empty()) out += ", ";
    out += c.name + " " + std::string(TypeName(c.type));
  }
  return out;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

const char* FormatName(ConfigFileFormat f) { return f == ConfigFileFormat::kCsv ? "csv" : "jsonl"; }

const char* ModeName(ConfigSourceMode m) {
  switch (m) {
    case ConfigSourceMode::kStatic:
      return "static";
    case ConfigSourceMode::kReplay:
      return "replay";
    case ConfigSourceMode::kFollow:
      return "follow";
  }
  return "?";
}

}  // namespace

class PipelineBuilder {
 public:
  PipelineBuilder(const PipelineConfig& config, const BuildOptions& options, Pipeline* pipeline)
      : config_(config), options_(options), pipeline_(pipeline), flow_(pipeline->dataflow_) {}

  Status Build() {
    RUNNEL_RETURN_IF_ERROR(CheckReplays());
    if (options_.open_io) RUNNEL_RETURN_IF_ERROR(OpenStateDatabase());
    for (const SourceConfig& source : config_.sources) RUNNEL_RETURN_IF_ERROR(AddSource(source));
    for (const ViewConfig& view : config_.views) RUNNEL_RETURN_IF_ERROR(AddView(view));
    for (const SinkConfig& sink : config_.sinks) RUNNEL_RETURN_IF_ERROR(AddSink(sink));
    if (pipeline_->state_database_) {
      StateDatabase* db = pipeline_->state_database_.get();
      flow_.AddStepListener([db] { return db->CommitStep(); });
    }
    return Status::Ok();
  }

 private:
  // A stream others can read: where it comes out of the graph and what its rows look like.
  struct Stream {
    PortRef port;
    Schema schema;
    std::vector<size_t> key_columns;  // unique per result row (window views); for table indexes
    // Whether the stream can carry retractions: operators over insert-only input keep
    // cheaper state (e.g. a running min instead of a multiset).
    bool may_retract = false;
  };

  // Whether a time-dependent view's results can be corrected after they were emitted.
  static bool Corrects(const ViewConfig& view) {
    return view.emit == ConfigEmitMode::kUpdates || view.allowed_lateness > 0;
  }

  Status CheckReplays() {
    for (const auto& [name, path] : options_.replays) {
      bool found = false;
      for (const SourceConfig& s : config_.sources) found = found || s.name == name;
      if (!found) {
        std::vector<std::string> names;
        for (const SourceConfig& s : config_.sources) names.push_back(s.name);
        return Status::Invalid("--replay " + name + "=" + path + ": the pipeline has no source '" +
                               name + "' (its sources: " + JoinNames(names) + ")");
      }
    }
    return Status::Ok();
  }

  Status OpenStateDatabase() {
    const std::string state_dir = options_.state_dir.value_or(config_.runtime.state_dir);
    RUNNEL_ASSIGN_OR_RETURN(pipeline_->state_database_,
                            StateDatabase::Open(state_dir, options_.reset_state));
    pipeline_->state_database_path_ = pipeline_->state_database_->path();
    return Status::Ok();
  }

  const std::string* ReplayPath(const std::string& source) const {
    for (const auto& [name, path] : options_.replays) {
      if (name == source) return &path;
    }
    return nullptr;
  }

  Status AddSource(const SourceConfig& source) {
    const std::string where = source.where.Prefix() + ": source '" + source.name + "'";
    const std::string* replay = ReplayPath(source.name);
    FileSourceSpec spec;
    if (source.kind == SourceKind::kMqtt) {
      RUNNEL_RETURN_IF_ERROR(DescribeMqttSource(source, where, &spec));
      if (!replay && options_.open_io) {
        return Status::Invalid(where +
                               ": MQTT ingestion is not available in this version yet (replay a "
                               "stored log instead: --replay " +
                               source.name + "=FILE.csv)");
      }
    }
    spec.name = source.name;
    spec.path = source.file;
    spec.format = source.format == ConfigFileFormat::kCsv ? FileFormat::kCsv : FileFormat::kJsonl;
    spec.mode = source.mode == ConfigSourceMode::kStatic   ? FileSourceMode::kStatic
                : source.mode == ConfigSourceMode::kReplay ? FileSourceMode::kReplay
                                                           : FileSourceMode::kFollow;
    std::string description = std::string("file ") + ModeName(source.mode) + " " +
                              FormatName(source.format) + " " + source.file;
    if (replay) {
      const std::string ext = std::filesystem::path(*replay).extension().string();
      if (ext == ".csv") {
        spec.format = FileFormat::kCsv;
      } else if (ext == ".jsonl") {
        spec.format = FileFormat::kJsonl;
      } else {
        return Status::Invalid("--replay " + source.name + "=" + *replay +
                               ": replay takes a .csv or .jsonl file (replaying a state database "
                               "comes with the persistence work)");
      }
      spec.path = *replay;
      spec.mode = FileSourceMode::kStatic;
      description = "replay of " + *replay;
    }
    if (source.kind == SourceKind::kFile) {
      for (const FieldConfig& f : source.fields) spec.fields.push_back({f.name, f.type});
      spec.time_fields = source.time_fields;
      spec.time_arrival = source.time_arrival;
      spec.time_unit = source.time_unit;
      spec.time_format = source.time_format;
    }
    spec.null_values = source.null_values;
    spec.max_delay = source.max_delay;
    if (spec.mode == FileSourceMode::kReplay) spec.speed = source.speed;
    spec.on_error = source.on_error_fail ? OnError::kFail : OnError::kSkip;

    if (source.kind == SourceKind::kMqtt && !replay) description = mqtt_description_;
    Schema schema = FileSource::OutputSchema(spec);
    std::unique_ptr<Source> node;
    if (options_.open_io) {
      auto opened = FileSource::Open(spec, options_.logger);
      if (!opened.ok()) return opened.status().WithContext(where);
      node = std::move(opened).value();
    } else {
      node = std::make_unique<PlaceholderSource>();
    }
    const int index = flow_.AddSource("source '" + source.name + "'", std::move(node));
    AddStream(source.name, "source", description, {}, {{index, 0}, schema, {}, false});
    return Status::Ok();
  }

  // The records of an MQTT source, as the file source that replays its stored log reads them:
  // the profile's (or the inline) columns, with the event time as an int column in ms.
  Status DescribeMqttSource(const SourceConfig& source, const std::string& where,
                            FileSourceSpec* spec) {
    spec->time_unit = TimeUnit::kMillis;
    if (!source.profile) {
      for (const FieldConfig& f : source.fields) {
        const bool is_time = source.time_fields.size() == 1 && f.name == source.time_fields[0];
        spec->fields.push_back({f.name, is_time ? ValueType::kInt : f.type});
      }
      spec->time_fields = source.time_fields;
      spec->time_arrival = source.time_arrival;
      mqtt_description_ = "mqtt topic " + source.topic.value_or("?");
      return Status::Ok();
    }
    auto profile = LoadDeviceProfileByName(*source.profile, ProfileSearchPath(config_.directory));
    if (!profile.ok()) return profile.status().WithContext(where);
    auto codec = BuildProfileCodec(*profile);
    if (!codec.ok()) return codec.status().WithContext(where);
    for (const Column& c : codec->decoder->schema().columns()) {
      spec->fields.push_back({c.name, c.type});
    }
    spec->time_fields = {profile->time.field};
    mqtt_description_ = "mqtt profile " + profile->name + ", topic " + codec->topic.Filter();
    return Status::Ok();
  }

  Status AddView(const ViewConfig& view) {
    const std::string where = view.where.Prefix() + ": view '" + view.name + "'";
    if (view.asof_join) return AddAsofJoinView(view);
    const Stream& input = streams_.at(*view.from);
    if (view.window) return AddWindowView(view, input);
    if (view.dedup) return AddDedupView(view, input);

    std::unique_ptr<Expr> filter;
    RUNNEL_RETURN_IF_ERROR(CompileFilter(view, input.schema, &filter));
    std::vector<std::unique_ptr<Expr>> projections;
    Schema schema = input.schema;
    RUNNEL_RETURN_IF_ERROR(CompileSelect(view, input.schema, &projections, &schema));
    std::string description = "select";
    if (filter) description = projections.empty() ? "where" : "where + select";
    if (!filter && projections.empty()) description = "pass-through";
    const int index = flow_.AddOperator(
        "view '" + view.name + "'",
        std::make_unique<MapOperator>(std::move(filter), std::move(projections)), {input.port});
    // Without a projection, rows keep their key.
    std::vector<size_t> keys = view.select.empty() ? input.key_columns : std::vector<size_t>{};
    AddStream(view.name, "view", description, {*view.from},
              {{index, 0}, schema, keys, input.may_retract});
    return Status::Ok();
  }

  Status AddWindowView(const ViewConfig& view, const Stream& input) {
    const std::string where = view.where.Prefix() + ": view '" + view.name + "'";
    PortRef upstream = input.port;
    RUNNEL_RETURN_IF_ERROR(AddFilterStage(view, input, &upstream));

    WindowOperatorSpec spec;
    const WindowConfig& w = *view.window;
    spec.window.type = w.type == ConfigWindowType::kTumbling  ? WindowType::kTumbling
                       : w.type == ConfigWindowType::kSliding ? WindowType::kSliding
                                                              : WindowType::kSession;
    spec.window.size = w.size;
    spec.window.hop = w.hop;
    spec.window.gap = w.gap;
    spec.emit = view.emit == ConfigEmitMode::kFinal ? EmitMode::kFinal : EmitMode::kUpdates;
    spec.allowed_lateness = view.allowed_lateness;
    spec.insert_only_input = !input.may_retract;
    for (const std::string& key : view.group_by) {
      auto index = input.schema.IndexOf(key);
      if (!index) {
        return Status::Invalid(where + ": group_by: unknown field '" + key +
                               "' (fields: " + JoinNames(input.schema.Names()) + ")");
      }
      spec.group_by.push_back(*index);
    }
    const Scope scope(input.schema);
    for (const ExprText& text : view.aggregate) {
      const std::string at =
          text.where.Prefix() + ": view '" + view.name + "': aggregate \"" + text.text + "\"";
      auto call = ParseAggregateCall(text.text, scope);
      if (!call.ok()) return call.status().WithContext(at);
      auto aggregate = MakeAggregate(std::move(call).value());
      if (!aggregate.ok()) return aggregate.status().WithContext(at);
      spec.aggregates.push_back(std::move(aggregate).value());
    }
    RUNNEL_RETURN_IF_ERROR(WindowOperator::Validate(spec, input.schema).WithContext(where));
    RUNNEL_RETURN_IF_ERROR(
        CheckUniqueColumns(where, WindowOperator::OutputSchema(spec, input.schema)));

    std::string description = DescribeWindow(view);
    Schema schema = WindowOperator::OutputSchema(spec, input.schema);
    std::vector<size_t> keys = {0, 1};
    for (size_t i = 0; i < spec.group_by.size(); ++i) keys.push_back(2 + i);
    const int window_index = flow_.AddOperator(
        "view '" + view.name + "'", std::make_unique<WindowOperator>(std::move(spec), input.schema),
        {upstream});
    PortRef result{window_index, WindowOperator::kResultsPort};

    if (!view.select.empty()) {
      std::vector<std::unique_ptr<Expr>> projections;
      Schema projected;
      RUNNEL_RETURN_IF_ERROR(CompileSelect(view, schema, &projections, &projected));
      result = {flow_.AddOperator("view '" + view.name + "' select",
                                  std::make_unique<MapOperator>(nullptr, std::move(projections)),
                                  {result}),
                0};
      schema = projected;
      keys.clear();
      description += " + select";
    }
    AddStream(view.name, "view", description, {*view.from}, {result, schema, keys, Corrects(view)});
    AddLateView(view, window_index, WindowOperator::kLatePort, input);
    return Status::Ok();
  }

  // A stateful view's `where` runs as a filter node in front of its operator.
  Status AddFilterStage(const ViewConfig& view, const Stream& input, PortRef* upstream) {
    std::unique_ptr<Expr> filter;
    RUNNEL_RETURN_IF_ERROR(CompileFilter(view, input.schema, &filter));
    if (!filter) return Status::Ok();
    *upstream = {flow_.AddOperator("view '" + view.name + "' where",
                                   std::make_unique<MapOperator>(
                                       std::move(filter), std::vector<std::unique_ptr<Expr>>{}),
                                   {*upstream}),
                 0};
    return Status::Ok();
  }

  static Status ResolveColumns(const std::string& where, const std::string& what,
                               const std::vector<std::string>& names, const Schema& schema,
                               std::vector<size_t>* out) {
    for (const std::string& name : names) {
      auto index = schema.IndexOf(name);
      if (!index) {
        return Status::Invalid(where + ": " + what + ": unknown field '" + name +
                               "' (fields: " + JoinNames(schema.Names()) + ")");
      }
      out->push_back(*index);
    }
    return Status::Ok();
  }

  Status AddAsofJoinView(const ViewConfig& view) {
    const AsofJoinConfig& join = *view.asof_join;
    const std::string where = join.where.Prefix() + ": view '" + view.name + "': asof_join";
    const Stream& left = streams_.at(join.left);
    const Stream& right = streams_.at(join.right);
    AsofJoinOperatorSpec spec;
    spec.left = left.schema;
    spec.right = right.schema;
    RUNNEL_RETURN_IF_ERROR(ResolveColumns(where, "by (left '" + join.left + "')", join.by,
                                          left.schema, &spec.left_by));
    RUNNEL_RETURN_IF_ERROR(ResolveColumns(where, "by (right '" + join.right + "')", join.by,
                                          right.schema, &spec.right_by));
    spec.direction = join.direction == AsofDirection::kBackward  ? AsofJoinDirection::kBackward
                     : join.direction == AsofDirection::kForward ? AsofJoinDirection::kForward
                                                                 : AsofJoinDirection::kNearest;
    spec.tolerance = join.tolerance;
    spec.allow_exact = join.allow_exact;
    spec.keep_unmatched = join.keep_unmatched;
    spec.emit = view.emit == ConfigEmitMode::kFinal ? EmitMode::kFinal : EmitMode::kUpdates;
    spec.allowed_lateness = view.allowed_lateness;
    const Scope scope = Scope::Join(left.schema, right.schema);
    for (const ExprText& text : view.select) {
      auto item = CompileSelectItem(text.text, scope);
      if (!item.ok()) {
        return item.status().WithContext(text.where.Prefix() + ": view '" + view.name +
                                         "': select \"" + text.text + "\"");
      }
      spec.select.push_back(std::move(item).value());
    }
    RUNNEL_RETURN_IF_ERROR(AsofJoinOperator::Validate(spec).WithContext(where));
    const Schema schema = AsofJoinOperator::OutputSchema(spec);
    RUNNEL_RETURN_IF_ERROR(CheckUniqueColumns(where, schema));
    const Schema late_schema = AsofJoinOperator::LateSchema(spec);
    std::string description = "as-of join " + join.left + " with " + join.right + " by " +
                              JoinNames(join.by) + ", " + DirectionName(join.direction);
    if (join.tolerance) description += ", tolerance " + FormatDuration(*join.tolerance);
    if (!join.allow_exact) description += ", strict";
    description += view.emit == ConfigEmitMode::kFinal ? ", emit final" : ", emit updates";
    const int index = flow_.AddOperator("view '" + view.name + "'",
                                        std::make_unique<AsofJoinOperator>(std::move(spec)),
                                        {left.port, right.port});
    const bool inputs_retract = left.may_retract || right.may_retract;
    AddStream(
        view.name, "view", description, {join.left, join.right},
        {{index, AsofJoinOperator::kResultsPort}, schema, {}, inputs_retract || Corrects(view)});
    AddLateView(view, index, AsofJoinOperator::kLatePort,
                Stream{{}, late_schema, {}, inputs_retract});
    return Status::Ok();
  }

  Status AddDedupView(const ViewConfig& view, const Stream& input) {
    const std::string where = view.dedup->where.Prefix() + ": view '" + view.name + "': dedup";
    PortRef upstream = input.port;
    RUNNEL_RETURN_IF_ERROR(AddFilterStage(view, input, &upstream));
    DedupOperatorSpec spec;
    RUNNEL_RETURN_IF_ERROR(ResolveColumns(where, "by", view.dedup->by, input.schema, &spec.by));
    spec.within = view.dedup->within;
    spec.emit = view.emit == ConfigEmitMode::kFinal ? EmitMode::kFinal : EmitMode::kUpdates;
    spec.allowed_lateness = view.allowed_lateness;
    RUNNEL_RETURN_IF_ERROR(DedupOperator::Validate(spec, input.schema).WithContext(where));
    std::string description =
        "dedup by " + JoinNames(view.dedup->by) + " within " + FormatDuration(spec.within);
    if (view.filter) description = "where + " + description;
    const int index = flow_.AddOperator(
        "view '" + view.name + "'", std::make_unique<DedupOperator>(std::move(spec), input.schema),
        {upstream});
    AddStream(view.name, "view", description, {*view.from},
              {{index, DedupOperator::kResultsPort},
               input.schema,
               {},
               input.may_retract || Corrects(view)});
    AddLateView(view, index, DedupOperator::kLatePort, input);
    return Status::Ok();
  }

  // Routes an operator's late port to the view named by `late`, if any. Late records keep the
  // shape (and retraction-capability) of `input`.
  void AddLateView(const ViewConfig& view, int node, int port, const Stream& input) {
    if (!view.late) return;
    const int late_index = flow_.AddOperator(
        "view '" + *view.late + "'",
        std::make_unique<MapOperator>(nullptr, std::vector<std::unique_ptr<Expr>>{}),
        {{node, port}});
    AddStream(*view.late, "late view", "records too late for view '" + view.name + "'", {view.name},
              {{late_index, 0}, input.schema, {}, input.may_retract});
  }

  static const char* DirectionName(AsofDirection d) {
    switch (d) {
      case AsofDirection::kBackward:
        return "backward";
      case AsofDirection::kForward:
        return "forward";
      case AsofDirection::kNearest:
        return "nearest";
    }
    return "?";
  }

  Status CompileFilter(const ViewConfig& view, const Schema& schema, std::unique_ptr<Expr>* out) {
    if (!view.filter) return Status::Ok();
    const std::string at = view.filter->where.Prefix() + ": view '" + view.name + "': where \"" +
                           view.filter->text + "\"";
    auto expr = CompileExpression(view.filter->text, Scope(schema));
    if (!expr.ok()) return expr.status().WithContext(at);
    const ValueType type = (*expr)->type();
    if (type != ValueType::kBool && type != ValueType::kNull) {
      return Status::Invalid(at + ": the condition is " + std::string(TypeName(type)) +
                             ", not bool (compare it, e.g. \"x > 0\")");
    }
    *out = std::move(expr).value();
    return Status::Ok();
  }

  Status CompileSelect(const ViewConfig& view, const Schema& input,
                       std::vector<std::unique_ptr<Expr>>* projections, Schema* schema) {
    if (view.select.empty()) return Status::Ok();
    std::vector<Column> columns;
    const Scope scope(input);
    for (const ExprText& text : view.select) {
      auto item = CompileSelectItem(text.text, scope);
      if (!item.ok()) {
        return item.status().WithContext(text.where.Prefix() + ": view '" + view.name +
                                         "': select \"" + text.text + "\"");
      }
      columns.push_back({item->name, item->expr->type()});
      projections->push_back(std::move(item->expr));
    }
    *schema = Schema(std::move(columns));
    return CheckUniqueColumns(view.where.Prefix() + ": view '" + view.name + "'", *schema);
  }

  static Status CheckUniqueColumns(const std::string& where, const Schema& schema) {
    for (size_t i = 0; i < schema.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (schema.column(i).name == schema.column(j).name) {
          return Status::Invalid(where + ": two output columns are named '" +
                                 schema.column(i).name + "' (rename one with \"name = ...\")");
        }
      }
    }
    return Status::Ok();
  }

  static std::string DescribeWindow(const ViewConfig& view) {
    const WindowConfig& w = *view.window;
    std::string out = "window ";
    switch (w.type) {
      case ConfigWindowType::kTumbling:
        out += "tumbling " + FormatDuration(w.size);
        break;
      case ConfigWindowType::kSliding:
        out += "sliding " + FormatDuration(w.size) + " every " + FormatDuration(w.hop);
        break;
      case ConfigWindowType::kSession:
        out += "session gap " + FormatDuration(w.gap);
        break;
    }
    if (!view.group_by.empty()) out += " by " + JoinNames(view.group_by);
    out += view.emit == ConfigEmitMode::kFinal ? ", emit final" : ", emit updates";
    if (view.allowed_lateness > 0) out += ", lateness " + FormatDuration(view.allowed_lateness);
    if (view.filter) out = "where + " + out;
    return out;
  }

  Status AddSink(const SinkConfig& sink) {
    const std::string where = sink.where.Prefix() + ": sink from '" + sink.from + "'";
    const Stream& stream = streams_.at(sink.from);
    std::unique_ptr<Operator> op;
    std::string description;
    switch (sink.kind) {
      case SinkKind::kTable: {
        description = "table " + sink.target;
        if (options_.open_io) {
          auto table = TableSink::Create(pipeline_->state_database_.get(), sink.target,
                                         stream.schema, stream.key_columns);
          if (!table.ok()) return table.status().WithContext(where);
          op = std::move(table).value();
        }
        break;
      }
      case SinkKind::kFile:
      case SinkKind::kStdout: {
        const bool to_stdout = sink.kind == SinkKind::kStdout || sink.target == "-";
        description = to_stdout ? "stdout" : "file " + sink.target;
        if (options_.open_io) {
          FileSinkSpec spec;
          spec.path = to_stdout ? "-" : sink.target;
          spec.format =
              sink.format == ConfigFileFormat::kCsv ? FileFormat::kCsv : FileFormat::kJsonl;
          auto file = FileSink::Create(spec, stream.schema);
          if (!file.ok()) return file.status().WithContext(where);
          op = std::move(file).value();
        }
        break;
      }
      case SinkKind::kMqtt:
        return Status::Invalid(where + ": MQTT sinks are not available in this version yet");
    }
    SinkInfo info{sink.from, description, -1};
    if (op) info.node = flow_.AddOperator("sink " + description, std::move(op), {stream.port});
    pipeline_->sinks_.push_back(std::move(info));
    return Status::Ok();
  }

  void AddStream(const std::string& name, const std::string& kind, const std::string& description,
                 std::vector<std::string> inputs, Stream stream) {
    pipeline_->streams_.push_back(
        {name, kind, description, std::move(inputs), stream.schema, stream.port});
    streams_.emplace(name, std::move(stream));
  }

  const PipelineConfig& config_;
  const BuildOptions& options_;
  Pipeline* pipeline_;
  Dataflow& flow_;
  std::map<std::string, Stream> streams_;
  std::string mqtt_description_;  // set by DescribeMqttSource for the source being added
};

Result<std::unique_ptr<Pipeline>> BuildPipeline(const PipelineConfig& config,
                                                const BuildOptions& options) {
  auto pipeline = std::make_unique<Pipeline>();
  PipelineBuilder builder(config, options, pipeline.get());
  RUNNEL_RETURN_IF_ERROR(builder.Build());
  return pipeline;
}

std::string Pipeline::DescribeGraph() const {
  std::ostringstream out;
  for (const char* kind : {"source", "view", "late view"}) {
    for (const StreamInfo& s : streams_) {
      if (s.kind != kind) continue;
      out << s.kind << " " << s.name;
      if (!s.inputs.empty()) out << " <- " << JoinNames(s.inputs);
      out << "\n    " << s.description << "\n    columns: " << ColumnsText(s.schema) << "\n";
    }
  }
  for (const SinkInfo& sink : sinks_)
    out << "sink " << sink.description << " <- " << sink.from << "\n";
  return out.str();
}

}  // namespace runnel
