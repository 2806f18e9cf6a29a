// PipelineConfig: a pipeline file (SPEC §2) parsed into typed structs with documented
// defaults. Parsing checks syntax, key names and types, identifiers, durations, enum values,
// references between sources/views/sinks, duplicate names and cycles; expressions are kept as
// text with their position and compiled by the planner. Every error reads
// "FILE:LINE: <where>: <what> (<what to do>)". Value types; not synchronised.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/event_time.h"
#include "runtime/status.h"
#include "runtime/time.h"
#include "runtime/value.h"

namespace runnel {

struct ConfigLocation {
  std::string file;
  int line = 0;
  int column = 0;
  std::string Prefix() const { return file + ":" + std::to_string(line); }  // "FILE:LINE"
};

// Text of an expression as written, with the position of its opening quote.
struct ExprText {
  std::string text;
  ConfigLocation where;
};

enum class Durability { kProcess, kPower };

struct RuntimeConfig {
  std::string state_dir = "./runnel-state";
  Duration checkpoint_interval = 1'000;
  Duration log_retention = 7 * 86'400'000LL;
  Durability durability = Durability::kProcess;
  // Records taken from each unbounded source per engine step; lateness is decided per step.
  int64_t batch_size = 4096;
  // While the sources keep up (no backlog), steps start at most this often: what arrives in
  // between joins the next step, so a busy stream commits once per interval, not per message.
  Duration step_interval = 5;
  // Static sources keep their state so that a later run over grown input reads only what was
  // added (SPEC §6 backfill). Off by default: a batch job then runs in one step with no
  // checkpoint, which is several times faster and smaller (docs/persistence.md).
  bool backfill = false;
  // Threads that parse each static file source ahead of the engine thread (0: the engine
  // thread parses). Unset: one per core, at most 4 (docs/pipeline.md, "Reader threads").
  std::optional<int64_t> reader_threads;
};

struct TlsConfig {
  std::optional<std::string> ca_file, cert_file, key_file;
  bool verify = true;
};

struct MqttConfig {
  std::string broker = "tcp://127.0.0.1:1883";
  std::string client_id = "runnel";
  std::optional<std::string> username;
  std::optional<std::string> password_file;
  std::optional<TlsConfig> tls;
  int version = 5;  // MQTT protocol: 3 (3.1.1) or 5
  ConfigLocation where;
};

struct DashboardConfig {
  std::string listen = "127.0.0.1:8080";
  std::optional<std::string> token_file;
  std::optional<std::string> cert_file, key_file;
  bool insecure = false;
  ConfigLocation where;
};

enum class SourceKind { kFile, kMqtt };
enum class ConfigFileFormat { kCsv, kJsonl };
enum class ConfigSourceMode { kStatic, kReplay, kFollow };

struct FieldConfig {
  std::string name;
  ValueType type = ValueType::kString;
  ConfigLocation where;
};

struct SourceConfig {
  std::string name;
  ConfigLocation where;
  SourceKind kind = SourceKind::kFile;
  // file sources
  std::string file;
  ConfigFileFormat format = ConfigFileFormat::kCsv;  // default from the file extension
  ConfigSourceMode mode = ConfigSourceMode::kStatic;
  double speed = 0;  // replay: 0 = as fast as possible, 1 = real time
  bool on_error_fail = false;
  std::vector<std::string> null_values;
  // mqtt sources
  std::optional<std::string> profile;
  std::optional<std::string> topic;
  std::string payload_format;  // inline MQTT sources: "json" (default), "csv" or "kv"
  int qos = 1;
  std::optional<std::string> shared_group;  // MQTT 5 shared subscription: $share/GROUP/topic
  int64_t queue_limit = 100'000;  // received but unprocessed messages before the receiver waits
  // both
  std::vector<FieldConfig> fields;       // in the order written in the file
  std::vector<std::string> time_fields;  // `time = "ts"` or `time = ["Date", "Time"]`
  bool time_arrival = false;             // `time = "arrival"`
  TimeUnit time_unit = TimeUnit::kMillis;
  std::optional<std::string> time_format;
  Duration max_delay = 0;
};

enum class ConfigWindowType { kTumbling, kSliding, kSession };
enum class ConfigEmitMode { kFinal, kUpdates };

struct WindowConfig {
  ConfigWindowType type = ConfigWindowType::kTumbling;
  Duration size = 0, hop = 0, gap = 0;
  ConfigLocation where;
};

enum class AsofDirection { kBackward, kForward, kNearest };

struct AsofJoinConfig {
  std::string left, right;
  std::vector<std::string> by;
  AsofDirection direction = AsofDirection::kBackward;
  std::optional<Duration> tolerance;
  bool allow_exact = true;
  bool keep_unmatched = true;
  ConfigLocation where;
};

struct DedupConfig {
  std::vector<std::string> by;
  Duration within = 0;
  ConfigLocation where;
};

struct ViewConfig {
  std::string name;
  ConfigLocation where;
  std::optional<std::string> from;  // absent only for asof_join views
  std::optional<ExprText> filter;   // `where`
  std::vector<ExprText> select;
  std::optional<WindowConfig> window;
  std::vector<std::string> group_by;
  std::vector<ExprText> aggregate;
  std::optional<AsofJoinConfig> asof_join;
  std::optional<DedupConfig> dedup;
  ConfigEmitMode emit = ConfigEmitMode::kFinal;
  Duration allowed_lateness = 0;
  std::optional<std::string> late;  // name of the late-records view
  // Inputs this view reads (from, or asof_join left and right).
  std::vector<std::string> Inputs() const;
};

enum class SinkKind { kTable, kFile, kStdout, kMqtt };

struct SinkConfig {
  std::string from;
  ConfigLocation where;
  SinkKind kind = SinkKind::kFile;
  std::string target;  // table name, file path or topic ("-" for stdout)
  ConfigFileFormat format = ConfigFileFormat::kCsv;
  int qos = 1;
  bool retain = false;
  std::optional<std::string> broker;                   // MQTT sinks: an uplink broker of their own
  std::optional<std::string> username, password_file;  // only with `broker`
  std::optional<TlsConfig> tls;                        // only with `broker`
  int64_t outbox_limit = 100'000;
};

struct PipelineConfig {
  std::string path;       // the file as given
  std::string directory;  // its directory: relative paths in the file resolve against it
  RuntimeConfig runtime;
  // Set when the file has [mqtt], or when an MQTT source or sink needs the default broker.
  std::optional<MqttConfig> mqtt;
  DashboardConfig dashboard;
  std::vector<SourceConfig> sources;
  std::vector<ViewConfig> views;  // in dependency order (inputs before the views using them)
  std::vector<SinkConfig> sinks;
};

// Reads and validates a pipeline file. Errors carry StatusCode::kInvalid.
Result<PipelineConfig> LoadPipelineFile(const std::string& path);
// Same, from text; `path` is used for messages and relative paths.
Result<PipelineConfig> ParsePipeline(std::string_view text, const std::string& path);

}  // namespace runnel
