#include "app/pipeline_builder.h"

#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "app/mqtt_message_decoder.h"
#include "app/mqtt_sink_builder.h"
#include "app/persistence.h"
#include "app/profile_decoder.h"
#include "config/device_profile.h"
#include "io/file_sink.h"
#include "io/file_source.h"
#include "mqtt/mqtt_source.h"
#include "operators/aggregate.h"
#include "operators/asof_join_operator.h"
#include "operators/dedup_operator.h"
#include "operators/device_status_operator.h"
#include "operators/expression.h"
#include "operators/map_operator.h"
#include "operators/window_operator.h"
#include "storage/input_log_source.h"
#include "storage/rejects_table.h"
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
    if (persistence_) {
      persistence_->InstallStepListeners();
    } else if (pipeline_->state_database_) {
      StateDatabase* db = pipeline_->state_database_.get();
      flow_.AddStepListener([db] { return db->CommitStep(); });
    }
    // After the commit: what the step put in the outboxes is durable and may go out.
    for (MqttSink* sink : mqtt_sinks_)
      flow_.AddStepListener([sink] { return sink->OnStepCommitted(); });
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
    RUNNEL_ASSIGN_OR_RETURN(pipeline_->rejects_,
                            RejectsTable::Create(pipeline_->state_database_.get()));
    // MQTT ingest journals and Paho sessions live beside the database and start over with it.
    mqtt_dir_ = (std::filesystem::path(state_dir) / "mqtt").string();
    std::error_code ec;
    if (options_.reset_state) std::filesystem::remove_all(mqtt_dir_, ec);
    if (!ec) std::filesystem::create_directories(mqtt_dir_, ec);
    if (ec) {
      return Status::IoError("cannot prepare " + mqtt_dir_ + ": " + ec.message() +
                             " (check the state directory's permissions)");
    }
    if (config_.runtime.durability == Durability::kPower) {
      RUNNEL_RETURN_IF_ERROR(pipeline_->state_database_->SetSyncEveryCommit(true));
    }
    if (!Streaming() && !config_.runtime.backfill) return Status::Ok();
    flow_.SetFinishInOwnStep(config_.runtime.backfill);
    PersistenceOptions persistence;
    persistence.checkpoint_interval = config_.runtime.checkpoint_interval;
    persistence.log_retention = config_.runtime.log_retention;
    persistence.logger = options_.logger;
    RUNNEL_ASSIGN_OR_RETURN(
        pipeline_->persistence_,
        PipelinePersistence::Open(pipeline_->state_database_.get(), &flow_, persistence));
    persistence_ = pipeline_->persistence_.get();
    return Status::Ok();
  }

  // Whether the pipeline runs until stopped (some source is MQTT or a replayed or followed
  // file): such a run is checkpointed and restarts where it stopped. A batch job, whose
  // sources are all static, starts over on every run unless [runtime] backfill is set.
  bool Streaming() const {
    for (const SourceConfig& source : config_.sources) {
      if (ReplayPath(source.name)) continue;
      if (source.kind == SourceKind::kMqtt || source.mode != ConfigSourceMode::kStatic) return true;
    }
    return false;
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
      if (!replay) {
        spec.max_delay = source.max_delay;
        return AddMqttSource(source, where, spec);
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
    bool replay_log = false;
    if (replay) {
      const std::string ext = std::filesystem::path(*replay).extension().string();
      if (ext == ".csv") {
        spec.format = FileFormat::kCsv;
      } else if (ext == ".jsonl") {
        spec.format = FileFormat::kJsonl;
      } else if (ext == ".db") {
        replay_log = true;
      } else {
        return Status::Invalid("--replay " + source.name + "=" + *replay +
                               ": replay takes a .csv or .jsonl file, or a state database "
                               "(runnel.db) holding the source's input log");
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
    if (config_.runtime.reader_threads) {
      spec.reader_threads = static_cast<size_t>(*config_.runtime.reader_threads);
    }

    if (source.kind == SourceKind::kMqtt && !replay) description = mqtt_description_;
    Schema schema = FileSource::OutputSchema(spec);
    std::unique_ptr<Source> node;
    if (replay_log) {
      description = "replay of the input log in " + *replay;
      if (options_.open_io) {
        auto opened = InputLogSource::Open(*replay, source.name, schema);
        if (!opened.ok()) return opened.status().WithContext(where);
        node = std::move(opened).value();
      } else {
        node = std::make_unique<PlaceholderSource>();
      }
    } else if (options_.open_io) {
      auto opened = FileSource::Open(spec, options_.logger);
      if (!opened.ok()) return opened.status().WithContext(where);
      node = std::move(opened).value();
    } else {
      node = std::make_unique<PlaceholderSource>();
    }
    return AddSourceNode(source, where, std::move(node), schema, description);
  }

  // Adds the source's node, its input log (unbounded sources of a persisted pipeline) and, for
  // MQTT sources, its device status view.
  Status AddSourceNode(const SourceConfig& source, const std::string& where,
                       std::unique_ptr<Source> node, const Schema& schema,
                       const std::string& description) {
    const bool log = persistence_ && !node->bounded();
    const int index = flow_.AddSource("source '" + source.name + "'", std::move(node));
    if (log) RUNNEL_RETURN_IF_ERROR(persistence_->LogSource(index, source.name, schema));
    AddStream(source.name, "source", description, {}, {{index, 0}, schema, {}, false});
    if (source.kind == SourceKind::kMqtt) AddStatusView(source, where);
    return Status::Ok();
  }

  Status AddMqttSource(const SourceConfig& source, const std::string& where,
                       const FileSourceSpec& spec) {
    const Schema schema = FileSource::OutputSchema(spec);
    std::unique_ptr<Source> node;
    if (options_.open_io) {
      auto opened = OpenMqttSource(source, schema);
      if (!opened.ok()) return opened.status().WithContext(where);
      node = std::move(opened).value();
    } else {
      node = std::make_unique<PlaceholderSource>();
    }
    return AddSourceNode(source, where, std::move(node), schema, mqtt_description_);
  }

  Result<std::unique_ptr<Source>> OpenMqttSource(const SourceConfig& source, const Schema& schema) {
    // Each source has its own session on the broker, so each needs its own client id.
    const MqttConfig mqtt = config_.mqtt.value_or(MqttConfig{});
    MqttSourceSpec spec;
    spec.name = source.name;
    spec.broker.uri = mqtt.broker;
    spec.broker.client_id = mqtt.client_id + "-" + source.name;
    spec.broker.username = mqtt.username;
    spec.broker.password_file = mqtt.password_file;
    spec.broker.version = mqtt.version;
    if (mqtt.tls) {
      spec.broker.tls =
          BrokerTls{mqtt.tls->ca_file, mqtt.tls->cert_file, mqtt.tls->key_file, mqtt.tls->verify};
    }
    spec.qos = source.qos;
    spec.shared_group = source.shared_group;
    spec.queue_limit = static_cast<size_t>(source.queue_limit);
    spec.max_delay = source.max_delay;
    spec.journal_path = (std::filesystem::path(mqtt_dir_) / (source.name + ".journal")).string();
    spec.session_dir =
        (std::filesystem::path(mqtt_dir_) / ("session-" + spec.broker.client_id)).string();
    spec.journal.sync = config_.runtime.durability == Durability::kPower;

    std::optional<TopicTemplate> topic;
    std::unique_ptr<PayloadDecoder> payload;
    if (mqtt_codec_) {
      topic = std::move(mqtt_codec_->topic);
      payload = std::move(mqtt_codec_->decoder);
    } else {
      RUNNEL_ASSIGN_OR_RETURN(topic, TopicTemplate::Parse(*source.topic, TopicUse::kSubscribe));
      RUNNEL_ASSIGN_OR_RETURN(PayloadSpec payload_spec,
                              PayloadSpecFromInlineSource(source, *topic));
      RUNNEL_ASSIGN_OR_RETURN(payload, PayloadDecoder::Create(std::move(payload_spec)));
    }
    spec.topic_filter = topic->Filter();
    RUNNEL_ASSIGN_OR_RETURN(
        std::unique_ptr<CodecMessageDecoder> decoder,
        CodecMessageDecoder::Create(std::move(*topic), std::move(payload), schema));
    RUNNEL_ASSIGN_OR_RETURN(std::unique_ptr<MqttSource> opened,
                            MqttSource::Open(std::move(spec), std::move(decoder), clock(),
                                             options_.logger, pipeline_->rejects_.get()));
    return std::unique_ptr<Source>(std::move(opened));
  }

  const Clock* clock() const { return options_.clock ? options_.clock : &pipeline_->system_clock_; }

  // `<source>_status` (SPEC §5) for a profiled source whose profile has a period and binds a
  // device from its topic ({device}, else the first topic field).
  void AddStatusView(const SourceConfig& source, const std::string& where) {
    if (!mqtt_profile_) return;
    const std::string name = source.name + "_status";
    const DeviceProfile& profile = *mqtt_profile_;
    if (!profile.period || profile.topic_fields.empty()) {
      missing_status_[name] =
          where + ": its profile '" + profile.name + "' has " +
          (profile.period ? "no {field} in its topic to name devices" : "no period") +
          ", so there is no device status view '" + name + "'";
      return;
    }
    const auto& fields = profile.topic_fields;
    const std::string device =
        std::find(fields.begin(), fields.end(), "device") != fields.end() ? "device" : fields[0];
    const Stream& input = streams_.at(source.name);
    DeviceStatusSpec spec;
    spec.device_column = *input.schema.IndexOf(device);
    spec.period = *profile.period;
    const int index = flow_.AddOperator(
        "view '" + name + "'", std::make_unique<DeviceStatusOperator>(spec, clock()), {input.port});
    AddStream(name, "status view",
              "device status by " + device + ": offline after 3 missed periods of " +
                  FormatDuration(spec.period),
              {source.name}, {{index, 0}, DeviceStatusOperator::OutputSchema(), {0}, true});
  }

  // A view or sink that reads a status view the pipeline does not have.
  Status CheckStatusInput(const std::string& name, const std::string& where) const {
    auto missing = missing_status_.find(name);
    if (missing == missing_status_.end()) return Status::Ok();
    return Status::Invalid(where + ": reads '" + name + "', but source " + missing->second +
                           " (add period = \"10s\" to the profile)");
  }

  // The records of an MQTT source, as the file source that replays its stored log reads them:
  // the profile's (or the inline) columns, with the event time as an int column in ms.
  Status DescribeMqttSource(const SourceConfig& source, const std::string& where,
                            FileSourceSpec* spec) {
    spec->time_unit = TimeUnit::kMillis;
    mqtt_profile_.reset();
    mqtt_codec_.reset();
    if (!source.profile) {
      for (const FieldConfig& f : source.fields) {
        const bool is_time = source.time_fields.size() == 1 && f.name == source.time_fields[0];
        spec->fields.push_back({f.name, is_time ? ValueType::kInt : f.type});
      }
      spec->time_fields = source.time_fields;
      spec->time_arrival = source.time_arrival;
      mqtt_description_ = "mqtt topic " + source.topic.value_or("?");
      if (source.shared_group) mqtt_description_ += ", shared group " + *source.shared_group;
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
    if (source.shared_group) mqtt_description_ += ", shared group " + *source.shared_group;
    mqtt_profile_ = std::move(profile).value();
    mqtt_codec_ = std::move(codec).value();
    return Status::Ok();
  }

  Status AddView(const ViewConfig& view) {
    const std::string where = view.where.Prefix() + ": view '" + view.name + "'";
    for (const std::string& input : view.Inputs()) {
      RUNNEL_RETURN_IF_ERROR(CheckStatusInput(input, where));
    }
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
    RUNNEL_RETURN_IF_ERROR(CheckStatusInput(sink.from, where));
    const Stream& stream = streams_.at(sink.from);
    std::unique_ptr<Operator> op;
    std::string description;
    switch (sink.kind) {
      case SinkKind::kTable: {
        description = "table " + sink.target;
        if (options_.open_io) {
          auto table = TableSink::Create(pipeline_->state_database_.get(), sink.target,
                                         stream.schema, stream.key_columns, Restoring());
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
          spec.append = Restoring();
          auto file = FileSink::Create(spec, stream.schema);
          if (!file.ok()) return file.status().WithContext(where);
          op = std::move(file).value();
        }
        break;
      }
      case SinkKind::kMqtt: {
        description = DescribeMqttSink(config_, sink);
        RUNNEL_RETURN_IF_ERROR(
            MqttSink::Validate(MqttSinkSpecFor(sink), stream.schema).WithContext(where));
        if (options_.open_io) {
          const Clock* clock = options_.clock ? options_.clock : &pipeline_->system_clock_;
          auto mqtt =
              MakeMqttSink(config_, sink, stream.schema, static_cast<int>(mqtt_sinks_.size()) + 1,
                           pipeline_->state_database_.get(), &outbox_names_, clock,
                           options_.logger ? options_.logger : &pipeline_->stderr_logger_);
          if (!mqtt.ok()) return mqtt.status().WithContext(where);
          mqtt_sinks_.push_back(mqtt->get());
          op = std::move(mqtt).value();
        }
        break;
      }
    }
    SinkInfo info{sink.from, description, -1};
    if (op && persistence_) op = persistence_->GateSink(std::move(op));
    if (op) info.node = flow_.AddOperator("sink " + description, std::move(op), {stream.port});
    pipeline_->sinks_.push_back(std::move(info));
    return Status::Ok();
  }

  // A restored run continues its tables and changelog files.
  bool Restoring() const { return persistence_ && persistence_->has_checkpoint(); }

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
  // Set by DescribeMqttSource for the source being added.
  std::string mqtt_description_;
  std::optional<DeviceProfile> mqtt_profile_;          // profiled sources only
  std::optional<ProfileCodec> mqtt_codec_;             // profiled sources only
  std::string mqtt_dir_;                               // <state_dir>/mqtt when running
  std::map<std::string, std::string> missing_status_;  // "<source>_status" -> why absent
  PipelinePersistence* persistence_ = nullptr;         // owned by the pipeline
  std::vector<MqttSink*> mqtt_sinks_;                  // owned by the dataflow
  std::set<std::string> outbox_names_;
};

Result<std::unique_ptr<Pipeline>> BuildPipeline(const PipelineConfig& config,
                                                const BuildOptions& options) {
  auto pipeline = std::make_unique<Pipeline>();
  PipelineBuilder builder(config, options, pipeline.get());
  RUNNEL_RETURN_IF_ERROR(builder.Build());
  return pipeline;
}

Status Pipeline::Restore() { return persistence_ ? persistence_->Recover() : Status::Ok(); }

Status Pipeline::CheckpointAtEnd() {
  return persistence_ ? persistence_->CheckpointAtEnd() : Status::Ok();
}

std::optional<Timestamp> Pipeline::last_checkpoint_time() const {
  if (!persistence_) return std::nullopt;
  return persistence_->last_checkpoint_time();
}

std::string Pipeline::DescribeGraph() const {
  std::ostringstream out;
  for (const char* kind : {"source", "status view", "view", "late view"}) {
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
