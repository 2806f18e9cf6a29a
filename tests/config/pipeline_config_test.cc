#include "config/pipeline_config.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace runnel {
namespace {

PipelineConfig Parse(std::string_view text, const std::string& path = "p.toml") {
  Result<PipelineConfig> config = ParsePipeline(text, path);
  if (!config.ok()) FAIL(config.status().message());
  return std::move(config).value();
}

std::string ErrorOf(std::string_view text, const std::string& path = "p.toml") {
  Result<PipelineConfig> config = ParsePipeline(text, path);
  if (config.ok()) FAIL("parsed, but an error was expected");
  CHECK(config.status().code() == StatusCode::kInvalid);
  return config.status().message();
}

std::vector<std::string> Names(const std::vector<FieldConfig>& fields) {
  std::vector<std::string> out;
  for (const FieldConfig& f : fields) out.push_back(f.name);
  return out;
}

std::vector<std::string> Names(const std::vector<ViewConfig>& views) {
  std::vector<std::string> out;
  for (const ViewConfig& v : views) out.push_back(v.name);
  return out;
}

std::vector<std::string> Texts(const std::vector<ExprText>& exprs) {
  std::vector<std::string> out;
  for (const ExprText& e : exprs) out.push_back(e.text);
  return out;
}

// A file source that other snippets can read; lines 1-5.
constexpr std::string_view kFileSource = R"x([[source]]
name = "cal"
file = "cal.csv"
time = "ts"
fields = { device = "string", ts = "int", gain = "float" }
)x";

std::string WithSource(std::string_view rest) {
  return std::string(kFileSource) + std::string(rest);
}

// SPEC §2, verbatim.
constexpr std::string_view kSpecExample = R"x([runtime]
state_dir = "var/greenhouse"     # SQLite state, input log, output tables (default ./runnel-state)
checkpoint_interval = "1s"
log_retention = "7d"              # how long the input log is kept
durability = "process"            # "process" (survives kill -9) | "power" (fsync: survives power loss)

[mqtt]
broker = "tcp://127.0.0.1:1883"   # tcp:// ssl:// ws:// wss://
client_id = "gw-greenhouse"
username = "gw"                   # password from password_file or RUNNEL_MQTT_PASSWORD
tls = { ca_file = "ca.pem" }      # optional; cert_file, key_file, verify = true

[dashboard]
listen = "127.0.0.1:8080"         # non-loopback requires auth (token_file) or insecure = true

[[source]]
name = "env"
profile = "esp32-bme280"          # firmware_configs/esp32-bme280.toml: topic, payload format, fields, time
max_delay = "5s"                  # bound on out-of-orderness (watermark = max event time - max_delay)

[[source]]
name = "cal"
file = "logs/calibration.csv"     # a file source instead of MQTT
format = "csv"                    # csv | jsonl
mode = "static"                   # static | replay | follow
time = "ts"                       # event-time field
time_unit = "ms"                  # s | ms | us | ns | iso8601
fields = { device = "string", ts = "int", gain = "float", offset = "float" }

[[view]]
name = "env_cal"
asof_join = { left = "env", right = "cal", by = ["device"], direction = "backward", tolerance = "1d" }
select = ["device", "ts", "temp = left.temp * right.gain + right.offset", "hum"]

[[view]]
name = "env_1m"
from = "env_cal"
where = "temp > -40 and temp < 85"
window = { type = "tumbling", size = "1m" }
group_by = ["device"]
aggregate = ["avg_temp = avg(temp)", "max_temp = max(temp)", "n = count()"]
emit = "final"                    # final | updates
allowed_lateness = "10m"
late = "env_late"                 # optional: a view of the records that came too late

[[sink]]
from = "env_1m"
table = "env_1m"                  # SQLite table in the state database (materialized)

[[sink]]
from = "env_1m"
topic = "gateway/env_1m"          # MQTT publish, one JSON object per change

[[sink]]
from = "env_1m"
file = "out/env_1m.csv"           # .csv or .jsonl changelog
)x";

TEST_CASE("the SPEC example pipeline parses into the expected structs") {
  const PipelineConfig c = Parse(kSpecExample, "gw/pipeline.toml");
  CHECK(c.path == "gw/pipeline.toml");
  CHECK(c.directory == "gw");

  CHECK(c.runtime.state_dir == "gw/var/greenhouse");
  CHECK(c.runtime.checkpoint_interval == 1'000);
  CHECK(c.runtime.log_retention == 7 * 86'400'000LL);
  CHECK(c.runtime.durability == Durability::kProcess);

  REQUIRE(c.mqtt.has_value());
  CHECK(c.mqtt->broker == "tcp://127.0.0.1:1883");
  CHECK(c.mqtt->client_id == "gw-greenhouse");
  CHECK(c.mqtt->username == "gw");
  CHECK_FALSE(c.mqtt->password_file.has_value());
  REQUIRE(c.mqtt->tls.has_value());
  CHECK(c.mqtt->tls->ca_file == "gw/ca.pem");
  CHECK_FALSE(c.mqtt->tls->cert_file.has_value());
  CHECK(c.mqtt->tls->verify);
  CHECK(c.mqtt->version == 5);
  CHECK(c.mqtt->where.line == 7);

  CHECK(c.dashboard.listen == "127.0.0.1:8080");
  CHECK_FALSE(c.dashboard.token_file.has_value());
  CHECK_FALSE(c.dashboard.insecure);

  REQUIRE(c.sources.size() == 2);
  const SourceConfig& env = c.sources[0];
  CHECK(env.name == "env");
  CHECK(env.kind == SourceKind::kMqtt);
  CHECK(env.profile == "esp32-bme280");
  CHECK_FALSE(env.topic.has_value());
  CHECK(env.max_delay == 5'000);
  CHECK(env.qos == 1);
  CHECK(env.fields.empty());
  CHECK(env.where.file == "gw/pipeline.toml");
  CHECK(env.where.line == 16);

  const SourceConfig& cal = c.sources[1];
  CHECK(cal.name == "cal");
  CHECK(cal.kind == SourceKind::kFile);
  CHECK(cal.file == "gw/logs/calibration.csv");
  CHECK(cal.format == ConfigFileFormat::kCsv);
  CHECK(cal.mode == ConfigSourceMode::kStatic);
  CHECK(cal.time_fields == std::vector<std::string>{"ts"});
  CHECK_FALSE(cal.time_arrival);
  CHECK(cal.time_unit == TimeUnit::kMillis);
  CHECK(Names(cal.fields) == std::vector<std::string>{"device", "ts", "gain", "offset"});
  CHECK(cal.fields[0].type == ValueType::kString);
  CHECK(cal.fields[1].type == ValueType::kInt);
  CHECK(cal.fields[2].type == ValueType::kFloat);
  CHECK(cal.fields[3].where.line == 28);
  CHECK(cal.fields[3].where.column == 59);
  CHECK(cal.where.line == 21);

  REQUIRE(Names(c.views) == std::vector<std::string>{"env_cal", "env_1m"});
  const ViewConfig& env_cal = c.views[0];
  CHECK_FALSE(env_cal.from.has_value());
  REQUIRE(env_cal.asof_join.has_value());
  CHECK(env_cal.asof_join->left == "env");
  CHECK(env_cal.asof_join->right == "cal");
  CHECK(env_cal.asof_join->by == std::vector<std::string>{"device"});
  CHECK(env_cal.asof_join->direction == AsofDirection::kBackward);
  CHECK(env_cal.asof_join->tolerance == 86'400'000);
  CHECK(env_cal.asof_join->allow_exact);
  CHECK(env_cal.asof_join->keep_unmatched);
  CHECK(env_cal.Inputs() == std::vector<std::string>{"env", "cal"});
  CHECK(Texts(env_cal.select) ==
        std::vector<std::string>{"device", "ts", "temp = left.temp * right.gain + right.offset",
                                 "hum"});
  CHECK(env_cal.select[2].where.line == 33);
  CHECK(env_cal.select[2].where.column == 27);

  const ViewConfig& env_1m = c.views[1];
  CHECK(env_1m.from == "env_cal");
  REQUIRE(env_1m.filter.has_value());
  CHECK(env_1m.filter->text == "temp > -40 and temp < 85");
  CHECK(env_1m.filter->where.Prefix() == "gw/pipeline.toml:38");
  CHECK(env_1m.filter->where.column == 9);
  REQUIRE(env_1m.window.has_value());
  CHECK(env_1m.window->type == ConfigWindowType::kTumbling);
  CHECK(env_1m.window->size == 60'000);
  CHECK(env_1m.group_by == std::vector<std::string>{"device"});
  CHECK(Texts(env_1m.aggregate) ==
        std::vector<std::string>{"avg_temp = avg(temp)", "max_temp = max(temp)", "n = count()"});
  CHECK(env_1m.emit == ConfigEmitMode::kFinal);
  CHECK(env_1m.allowed_lateness == 600'000);
  CHECK(env_1m.late == "env_late");
  CHECK(env_1m.select.empty());

  REQUIRE(c.sinks.size() == 3);
  CHECK(c.sinks[0].from == "env_1m");
  CHECK(c.sinks[0].kind == SinkKind::kTable);
  CHECK(c.sinks[0].target == "env_1m");
  CHECK(c.sinks[0].where.line == 46);
  CHECK(c.sinks[1].kind == SinkKind::kMqtt);
  CHECK(c.sinks[1].target == "gateway/env_1m");
  CHECK(c.sinks[1].qos == 1);
  CHECK_FALSE(c.sinks[1].retain);
  CHECK_FALSE(c.sinks[1].broker.has_value());
  CHECK(c.sinks[1].outbox_limit == 100'000);
  CHECK(c.sinks[2].kind == SinkKind::kFile);
  CHECK(c.sinks[2].target == "gw/out/env_1m.csv");
  CHECK(c.sinks[2].format == ConfigFileFormat::kCsv);
}

TEST_CASE("the shipped air quality example parses") {
  const std::string path = std::string(RUNNEL_SOURCE_DIR) + "/examples/airquality.toml";
  Result<PipelineConfig> c = LoadPipelineFile(path);
  if (!c.ok()) FAIL(c.status().message());
  CHECK(c->sources[0].file == std::string(RUNNEL_SOURCE_DIR) + "/examples/data/airquality_uci.csv");
  CHECK(c->sources[0].time_fields == std::vector<std::string>{"Date", "Time"});
  CHECK(c->sources[0].time_format == "%d/%m/%Y %H:%M:%S");
  CHECK(c->sources[0].null_values == std::vector<std::string>{"-200"});
  CHECK(Names(c->sources[0].fields) == std::vector<std::string>{"Date", "Time", "CO_GT", "NOx_GT",
                                                                "NO2_GT", "C6H6_GT", "T", "RH"});
}

TEST_CASE("left-out keys take their documented defaults") {
  const PipelineConfig c = Parse(WithSource(R"x(
[[sink]]
from = "cal"
stdout = true
)x"),
                                 "conf/p.toml");
  CHECK(c.runtime.state_dir == "./runnel-state");  // the working directory, not conf/
  CHECK(c.runtime.checkpoint_interval == 1'000);
  CHECK(c.runtime.log_retention == 7 * 86'400'000LL);
  CHECK(c.runtime.durability == Durability::kProcess);
  CHECK(c.runtime.batch_size == 4096);
  CHECK_FALSE(c.runtime.reader_threads.has_value());  // the source's default
  CHECK_FALSE(c.mqtt.has_value());
  CHECK(c.dashboard.listen == "127.0.0.1:8080");
  CHECK_FALSE(c.dashboard.insecure);

  const SourceConfig& s = c.sources[0];
  CHECK(s.kind == SourceKind::kFile);
  CHECK(s.file == "conf/cal.csv");
  CHECK(s.format == ConfigFileFormat::kCsv);
  CHECK(s.mode == ConfigSourceMode::kStatic);
  CHECK(s.speed == 0);
  CHECK_FALSE(s.on_error_fail);
  CHECK(s.null_values.empty());
  CHECK(s.time_unit == TimeUnit::kMillis);
  CHECK_FALSE(s.time_format.has_value());
  CHECK(s.max_delay == 0);

  CHECK(c.sinks[0].kind == SinkKind::kStdout);
  CHECK(c.sinks[0].target == "-");
  CHECK(c.sinks[0].format == ConfigFileFormat::kCsv);
}

TEST_CASE("an empty file is a valid pipeline with nothing in it") {
  const PipelineConfig c = Parse("");
  CHECK(c.directory == ".");
  CHECK(c.sources.empty());
  CHECK(c.views.empty());
  CHECK(c.sinks.empty());
}

TEST_CASE("every source option is read") {
  const PipelineConfig c = Parse(R"x(
[[source]]
name = "log"
file = "in/log.data"
format = "jsonl"
mode = "replay"
speed = 2.5
time = "t"
time_unit = "us"
null_values = ["NA", ""]
on_error = "fail"
max_delay = "250ms"
fields = { t = "float", ok = "bool" }

[[source]]
name = "stamped"
file = "s.jsonl"
mode = "follow"
time = "arrival"
fields = { v = "int" }

[[source]]
name = "inline"
topic = "sensors/{device}/env"
format = "kv"
qos = 2
time = "when"
time_format = "%Y-%m-%dT%H:%M:%S%z"
fields = { device = "string", when = "string", temp = "float" }

[[source]]
name = "iso"
topic = "a/+/#"
time = "when"
time_unit = "iso8601"
fields = { when = "string" }
)x");
  const SourceConfig& log = c.sources[0];
  CHECK(log.format == ConfigFileFormat::kJsonl);
  CHECK(log.mode == ConfigSourceMode::kReplay);
  CHECK(log.speed == 2.5);
  CHECK(log.time_unit == TimeUnit::kMicros);
  CHECK(log.null_values == std::vector<std::string>{"NA", ""});
  CHECK(log.on_error_fail);
  CHECK(log.max_delay == 250);

  CHECK(c.sources[1].time_arrival);
  CHECK(c.sources[1].time_fields.empty());
  CHECK(c.sources[1].mode == ConfigSourceMode::kFollow);
  CHECK(c.sources[1].format == ConfigFileFormat::kJsonl);

  const SourceConfig& in = c.sources[2];
  CHECK(in.kind == SourceKind::kMqtt);
  CHECK(in.topic == "sensors/{device}/env");
  CHECK(in.payload_format == "kv");
  CHECK(in.qos == 2);
  CHECK(in.time_format == "%Y-%m-%dT%H:%M:%S%z");
  CHECK(Names(in.fields) == std::vector<std::string>{"device", "when", "temp"});
  CHECK(c.sources[3].payload_format == "json");
  CHECK(c.sources[3].time_unit == TimeUnit::kIso8601);

  // An inline MQTT source with no [mqtt] section uses the default broker.
  REQUIRE(c.mqtt.has_value());
  CHECK(c.mqtt->broker == "tcp://127.0.0.1:1883");
  CHECK(c.mqtt->client_id == "runnel");
}

TEST_CASE("fields keep the order they are written in") {
  const PipelineConfig c = Parse(R"x(
[[source]]
name = "a"
file = "a.csv"
time = "zeta"
fields = { zeta = "int", alpha = "string", Mid = "float", beta_2 = "bool" }

[[source]]
name = "b"
file = "b.csv"
time = "z"

[source.fields]
z = "int"
y = "int"
x = "string"
)x");
  CHECK(Names(c.sources[0].fields) == std::vector<std::string>{"zeta", "alpha", "Mid", "beta_2"});
  CHECK(c.sources[0].fields[3].type == ValueType::kBool);
  CHECK(c.sources[0].fields[1].where.line == 6);
  CHECK(c.sources[0].fields[1].where.column == 26);
  CHECK(Names(c.sources[1].fields) == std::vector<std::string>{"z", "y", "x"});
  CHECK(c.sources[1].fields[2].where.line == 16);
}

TEST_CASE("relative paths resolve against the pipeline file's directory") {
  const PipelineConfig c = Parse(R"x(
[runtime]
state_dir = "../state"

[mqtt]
broker = "ssl://broker:8883"
password_file = "secrets/mqtt.pw"
tls = { ca_file = "/etc/ssl/ca.pem", cert_file = "gw.pem", key_file = "./gw.key", verify = false }

[dashboard]
listen = "0.0.0.0:8443"
token_file = "token"
cert_file = "tls/cert.pem"
key_file = "tls/key.pem"

[[source]]
name = "logs"
file = "/var/log/sensors/*.csv"
time = "ts"
fields = { ts = "int" }

[[sink]]
from = "logs"
file = "out/copy.jsonl"

[[sink]]
from = "logs"
file = "-"
format = "jsonl"

[[sink]]
from = "logs"
topic = "up/logs"
broker = "wss://cloud.example.com/mqtt"
username = "gw"
password_file = "cloud.pw"
tls = { ca_file = "cloud-ca.pem" }
)x",
                                 "/etc/runnel/gw/p.toml");
  CHECK(c.directory == "/etc/runnel/gw");
  CHECK(c.runtime.state_dir == "/etc/runnel/state");
  CHECK(c.mqtt->password_file == "/etc/runnel/gw/secrets/mqtt.pw");
  CHECK(c.mqtt->tls->ca_file == "/etc/ssl/ca.pem");
  CHECK(c.mqtt->tls->cert_file == "/etc/runnel/gw/gw.pem");
  CHECK(c.mqtt->tls->key_file == "/etc/runnel/gw/gw.key");
  CHECK_FALSE(c.mqtt->tls->verify);
  CHECK(c.dashboard.token_file == "/etc/runnel/gw/token");
  CHECK(c.dashboard.cert_file == "/etc/runnel/gw/tls/cert.pem");
  CHECK(c.dashboard.key_file == "/etc/runnel/gw/tls/key.pem");
  CHECK(c.sources[0].file == "/var/log/sensors/*.csv");
  CHECK(c.sinks[0].target == "/etc/runnel/gw/out/copy.jsonl");
  CHECK(c.sinks[0].format == ConfigFileFormat::kJsonl);
  CHECK(c.sinks[1].kind == SinkKind::kStdout);
  CHECK(c.sinks[1].target == "-");
  CHECK(c.sinks[1].format == ConfigFileFormat::kJsonl);
  CHECK(c.sinks[2].broker == "wss://cloud.example.com/mqtt");
  CHECK(c.sinks[2].username == "gw");
  CHECK(c.sinks[2].password_file == "/etc/runnel/gw/cloud.pw");
  CHECK(c.sinks[2].tls->ca_file == "/etc/runnel/gw/cloud-ca.pem");

  CHECK(Parse(kFileSource, "p.toml").sources[0].file == "cal.csv");
  CHECK(Parse(kFileSource, "a/../b/p.toml").sources[0].file == "b/cal.csv");
}

TEST_CASE("views are ordered inputs first and otherwise keep file order") {
  const PipelineConfig c = Parse(WithSource(R"x(
[[view]]
name = "c"
from = "b"

[[view]]
name = "independent"
from = "cal"

[[view]]
name = "b"
from = "a_late"

[[view]]
name = "a"
from = "cal"
dedup = { by = ["device"], within = "1h" }
late = "a_late"

[[view]]
name = "last"
from = "c"
)x"));
  CHECK(Names(c.views) == std::vector<std::string>{"a", "b", "c", "independent", "last"});

  const PipelineConfig in_order = Parse(WithSource(R"x(
[[view]]
name = "x"
from = "cal"

[[view]]
name = "y"
from = "x"

[[view]]
name = "w"
from = "cal"
)x"));
  CHECK(Names(in_order.views) == std::vector<std::string>{"x", "y", "w"});
}

TEST_CASE("window, dedup and as-of join options are read") {
  const PipelineConfig c = Parse(WithSource(R"x(
[[view]]
name = "slide"
from = "cal"
where = "gain > 0"
window = { type = "sliding", size = "5m", hop = "1m" }
aggregate = ["g = avg(gain)"]
select = ["window_end", "g"]
emit = "updates"

[[view]]
name = "sess"
from = "cal"
window = { type = "session", gap = "30s" }
group_by = ["device"]
aggregate = ["n = count()"]

[[view]]
name = "once"
from = "cal"
where = "gain < 10"
dedup = { by = ["device", "ts"], within = "2h" }
allowed_lateness = "1m"

[[view]]
name = "j"
asof_join = { left = "once", right = "cal", direction = "nearest", allow_exact = false, keep_unmatched = false }
)x"));
  const ViewConfig& slide = c.views[0];
  CHECK(slide.window->type == ConfigWindowType::kSliding);
  CHECK(slide.window->size == 300'000);
  CHECK(slide.window->hop == 60'000);
  CHECK(slide.window->where.line == 11);
  CHECK(slide.filter->text == "gain > 0");
  CHECK(Texts(slide.select) == std::vector<std::string>{"window_end", "g"});
  CHECK(slide.emit == ConfigEmitMode::kUpdates);
  CHECK(slide.group_by.empty());
  CHECK(c.views[1].window->type == ConfigWindowType::kSession);
  CHECK(c.views[1].window->gap == 30'000);
  CHECK(c.views[2].dedup->by == std::vector<std::string>{"device", "ts"});
  CHECK(c.views[2].dedup->within == 7'200'000);
  CHECK(c.views[2].allowed_lateness == 60'000);
  const AsofJoinConfig& j = *c.views[3].asof_join;
  CHECK(j.direction == AsofDirection::kNearest);
  CHECK_FALSE(j.tolerance.has_value());
  CHECK(j.by.empty());
  CHECK_FALSE(j.allow_exact);
  CHECK_FALSE(j.keep_unmatched);
}

TEST_CASE("TOML syntax errors name the file and line") {
  CHECK(ErrorOf("[runtime]\nstate_dir = \n", "dir/p.toml") ==
        "dir/p.toml:2: Error while parsing key-value pair: expected value, saw '\\n'");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nname = \"b\"\n") ==
        "p.toml:3: Error while parsing key-value pair: cannot redefine existing string 'name'");
}

TEST_CASE("unknown keys are refused at every level with a suggestion") {
  CHECK(ErrorOf("[[sources]]\nname = \"x\"\n") ==
        "p.toml:1: unknown key 'sources' (did you mean 'source'?)");
  CHECK(ErrorOf("[runtime]\nstate_dri = \"x\"\n") ==
        "p.toml:2: runtime: unknown key 'state_dri' (did you mean 'state_dir'?)");
  CHECK(ErrorOf("[runtime]\nhome = \"x\"\n") ==
        "p.toml:2: runtime: unknown key 'home' (allowed keys: state_dir, checkpoint_interval, "
        "log_retention, durability, batch_size, step_interval, backfill, reader_threads)");
  CHECK(ErrorOf(WithSource(R"x(
[[view]]
name = "v"
from = "cal"
window = { type = "tumbling", size = "1m" }
agregate = ["n = count()"]
)x")) == "p.toml:11: view 'v': unknown key 'agregate' (did you mean 'aggregate'?)");
  CHECK(ErrorOf(WithSource(R"x(
[[view]]
name = "v"
from = "cal"
window = { type = "tumbling", sise = "1m" }
aggregate = ["n = count()"]
)x")) == "p.toml:10: view 'v': window: unknown key 'sise' (did you mean 'size'?)");
  CHECK(ErrorOf("[mqtt]\ntls = { ca = \"x\" }\n") ==
        "p.toml:2: mqtt.tls: unknown key 'ca' (allowed keys: ca_file, cert_file, key_file, "
        "verify)");
  CHECK(ErrorOf("[[source]]\nName = \"x\"\n") ==
        "p.toml:2: source #1: unknown key 'Name' (did you mean 'name'?)");
}

TEST_CASE("values of the wrong type are refused") {
  CHECK(ErrorOf("[[source]]\nname = 5\n") ==
        "p.toml:2: source #1: name: expected a string, got an integer");
  CHECK(ErrorOf("[runtime]\ncheckpoint_interval = 5\n") ==
        "p.toml:2: runtime.checkpoint_interval: expected a duration string, got an integer "
        "(write it in quotes, e.g. \"5s\")");
  CHECK(ErrorOf("[dashboard]\ninsecure = \"yes\"\n") ==
        "p.toml:2: dashboard.insecure: expected a boolean, got a string (write true or false, "
        "without quotes)");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\nfrom = \"cal\"\nwindow = { type = "
                           "\"session\", gap = \"1m\" }\ngroup_by = \"device\"\naggregate = "
                           "[\"n = count()\"]\n")) ==
        "p.toml:10: view 'v': group_by: expected an array of strings, got a string (write "
        "[\"device\"])");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\nfrom = \"cal\"\nselect = [\"a\", 2]\n")) ==
        "p.toml:9: view 'v': select: item 2: expected a string, got an integer");
  CHECK(ErrorOf("runtime = 3\n") ==
        "p.toml:1: runtime: expected a table, got an integer (write runtime = { ... })");
  CHECK(ErrorOf("[[runtime]]\n") ==
        "p.toml:1: runtime: expected a table, got an array (write [runtime] with single "
        "brackets)");
  CHECK(ErrorOf("[source]\nname = \"x\"\n") ==
        "p.toml:1: source: expected an array of tables, got a table (write each one as "
        "[[source]], with double brackets)");
  CHECK(ErrorOf("sink = [1]\n") ==
        "p.toml:1: sink: expected tables, got an integer (write each one as [[sink]], with "
        "double brackets)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\ntime = \"t\"\nfields = { t = 1 "
                "}\n") ==
        "p.toml:5: source 'a': fields.t: expected a type name, got an integer (write \"bool\", "
        "\"int\", \"float\" or \"string\")");
}

TEST_CASE("bad durations, enum values and numbers say what to write") {
  CHECK(ErrorOf(R"x(
[[source]]
name = "env"
profile = "esp32-bme280"
max_delay = "5x"
)x",
                "pipeline.toml") ==
        "pipeline.toml:5: source 'env': max_delay: invalid duration \"5x\": write a whole number "
        "and a unit, e.g. \"250ms\", \"5s\", \"1m\", \"2h\", \"1d\"");
  CHECK(ErrorOf("[runtime]\ndurability = \"disk\"\n") ==
        "p.toml:2: runtime.durability: invalid value \"disk\" (use \"process\" or \"power\")");
  CHECK(ErrorOf("[runtime]\ncheckpoint_interval = \"0s\"\n") ==
        "p.toml:2: runtime.checkpoint_interval: must be longer than zero (write e.g. \"1s\" or "
        "\"1m\")");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\nmode = \"replai\"\n") ==
        "p.toml:4: source 'a': mode: invalid value \"replai\" (did you mean \"replay\"?)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\nmode = \"replay\"\nspeed = -1\n") ==
        "p.toml:5: source 'a': speed: must be a number of zero or more, got -1");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\ntopic = \"t\"\nqos = 3\n") ==
        "p.toml:4: source 'a': qos: must be between 0 and 2, got 3");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\ntime = \"t\"\ntime_unit = "
                "\"sec\"\nfields = { t = \"int\" }\n") ==
        "p.toml:5: source 'a': time_unit: unknown time unit \"sec\": use \"s\", \"ms\", \"us\", "
        "\"ns\" or \"iso8601\"");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\ntime = \"t\"\nfields = { t = "
                "\"integer\" }\n") ==
        "p.toml:5: source 'a': fields.t: unknown type \"integer\": use \"bool\", \"int\", "
        "\"float\" or \"string\"");
}

TEST_CASE("names and field names must be identifiers") {
  CHECK(ErrorOf("[[source]]\nname = \"Env\"\n") ==
        "p.toml:2: source #1: name: \"Env\" is not a valid name (use lowercase letters, digits "
        "and '_', not starting with a digit)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\ntime = \"t\"\nfields = { t = "
                "\"int\", \"temp-c\" = \"float\" }\n") ==
        "p.toml:5: source 'a': fields: \"temp-c\" is not a valid field name (use letters, "
        "digits and '_', not starting with a digit)");
  CHECK(ErrorOf(WithSource(R"x(
[[view]]
name = "v"
from = "cal"
window = { type = "tumbling", size = "1m" }
group_by = ["device", ""]
aggregate = ["n = count()"]
)x")) == "p.toml:11: view 'v': group_by: \"\" is not a valid field name (use letters, digits and "
         "'_', not starting with a digit)");
  CHECK(ErrorOf(WithSource(R"x(
[[view]]
name = "v"
from = "cal"
dedup = { by = ["device", "device"], within = "1h" }
)x")) == "p.toml:10: view 'v': dedup.by: 'device' is listed twice (list each field once)");
  CHECK(ErrorOf(WithSource("[[sink]]\nfrom = \"cal\"\ntable = \"Out\"\n")) ==
        "p.toml:8: sink #1: table: \"Out\" is not a valid name (use lowercase letters, digits "
        "and '_', not starting with a digit)");
}

TEST_CASE("a source is a file or MQTT, with the keys of its kind") {
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\nprofile = \"p\"\n") ==
        "p.toml:4: source 'a': profile: a source reads a file or MQTT, not both (split it into "
        "two sources)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\ntopic = \"t\"\nprofile = \"p\"\n") ==
        "p.toml:4: source 'a': profile: profile and topic exclude each other: the device "
        "profile defines the topic (remove one of them)");
  CHECK(ErrorOf("\n[[source]]\nname = \"a\"\n") ==
        "p.toml:2: source 'a': missing key 'file', 'profile' or 'topic' (a file source needs "
        "file; an MQTT source needs profile, or topic, fields and time)");
  CHECK(ErrorOf("[[source]]\nfile = \"a.csv\"\n") ==
        "p.toml:1: source #1: missing key 'name' (give the source a name, e.g. name = \"env\")");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nprofile = \"p\"\nmode = \"static\"\n") ==
        "p.toml:4: source 'a': mode: only applies to file sources (remove it)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nprofile = \"p\"\ntime = \"ts\"\n") ==
        "p.toml:4: source 'a': time: not used with profile: the device profile describes the "
        "payload (remove it)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nprofile = \"../p.toml\"\n") ==
        "p.toml:3: source 'a': profile: \"../p.toml\" is not a profile name (write the name of "
        "a file in firmware_configs/ without .toml, e.g. \"esp32-bme280\")");
  CHECK(ErrorOf(std::string(kFileSource) + "qos = 1\n") ==
        "p.toml:6: source 'cal': qos: only applies to MQTT sources (remove it)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\ntopic = \"t\"\nformat = \"binary\"\n") ==
        "p.toml:4: source 'a': format: binary payloads need byte offsets, which only a device "
        "profile can give (describe the payload in firmware_configs/ and use profile)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\ntopic = \"s/dev+/x\"\n") ==
        "p.toml:3: source 'a': topic: level \"dev+\" of \"s/dev+/x\" is not valid (a level is "
        "text, +, # at the end, or {field} to bind a field, e.g. \"sensors/{device}/env\")");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\ntopic = \"t\"\ntime = \"ts\"\n") ==
        "p.toml:1: source 'a': missing key 'fields' (list the fields and their types, e.g. "
        "fields = { device = \"string\", ts = \"int\", temp = \"float\" })");
}

TEST_CASE("file sources need a known format, fields and an event time among them") {
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"logs/\"\n") ==
        "p.toml:3: source 'a': file: cannot tell the format of \"logs/\" from its extension (set "
        "format = \"csv\" or \"jsonl\")");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\nformat = \"jsonl\"\n") ==
        "p.toml:4: source 'a': format: \"jsonl\" contradicts the extension of \"a.csv\" (rename "
        "the file, or remove format)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\nfields = { t = \"int\" }\n") ==
        "p.toml:1: source 'a': missing key 'time' (name the event-time field, e.g. time = "
        "\"ts\", or write time = \"arrival\")");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\ntime = \"t\"\nfields = {}\n") ==
        "p.toml:5: source 'a': fields: no fields (list at least one, e.g. fields = { ts = "
        "\"int\" })");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\ntime = \"tss\"\nfields = { ts = "
                "\"int\" }\n") ==
        "p.toml:4: source 'a': time: field 'tss' is not in fields (did you mean 'ts'?)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\ntime = [\"d\",\n  \"clock\"]\n"
                "time_format = \"%d %H\"\nfields = { d = \"string\" }\n") ==
        "p.toml:5: source 'a': time: field 'clock' is not in fields (declare it in fields)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\ntime = \"t\"\nfields = { t = "
                "\"string\" }\n") ==
        "p.toml:4: source 'a': time: field 't' is declared \"string\", but time_unit = \"ms\" "
        "reads a number (declare it \"int\" or \"float\", or set time_format or time_unit = "
        "\"iso8601\" for text times)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\ntime = \"t\"\ntime_unit = "
                "\"iso8601\"\nfields = { t = \"int\" }\n") ==
        "p.toml:4: source 'a': time: field 't' is declared \"int\", but time_unit = \"iso8601\" "
        "reads text (declare it \"string\")");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\ntime = [\"d\", \"t\"]\nfields = "
                "{ d = \"string\", t = \"string\" }\n") ==
        "p.toml:4: source 'a': time: several fields are joined with a space into a text time, "
        "which needs time_format (e.g. \"%d/%m/%Y %H:%M:%S\") or time_unit = \"iso8601\"");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\ntime = \"t\"\ntime_format = "
                "\"%Y\"\ntime_unit = \"s\"\nfields = { t = \"string\" }\n") ==
        "p.toml:6: source 'a': time_unit: time_unit and time_format exclude each other: "
        "time_format reads text times (remove time_unit)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\ntime = \"t\"\ntime_format = "
                "\"%d %b %Y\"\nfields = { t = \"string\" }\n") ==
        "p.toml:5: source 'a': time_format: unsupported directive \"%b\" (use %Y %m %d %H %M %S "
        "%f %z or %%)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\ntime = \"arrival\"\ntime_unit = "
                "\"s\"\nfields = { v = \"int\" }\n") ==
        "p.toml:5: source 'a': time_unit: not used with time = \"arrival\" (remove it)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\nspeed = 1\ntime = \"t\"\nfields = "
                "{ t = \"int\" }\n") ==
        "p.toml:4: source 'a': speed: only applies to mode = \"replay\" (remove it, or set mode "
        "= \"replay\")");
}

TEST_CASE("names of sources, views and late views are unique") {
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"cal\"\nfrom = \"cal\"\n")) ==
        "p.toml:7: view 'cal': name: 'cal' is already the name of source 'cal' at line 2 "
        "(sources, views and late views need distinct names)");
  // Reported at the later of the two, even when the view is written before the source.
  CHECK(ErrorOf("[[view]]\nname = \"cal\"\nfrom = \"x\"\n" + std::string(kFileSource)) ==
        "p.toml:5: source 'cal': name: 'cal' is already the name of view 'cal' at line 2 "
        "(sources, views and late views need distinct names)");
  CHECK(ErrorOf(WithSource(R"x(
[[view]]
name = "v"
from = "cal"
dedup = { by = ["device"], within = "1h" }
late = "cal"
)x")) == "p.toml:11: view 'v': late: 'cal' is already the name of source 'cal' at line 2 "
         "(sources, views and late views need distinct names)");
  CHECK(ErrorOf(R"x(
[[source]]
name = "env"
profile = "esp32-bme280"

[[view]]
name = "env_status"
from = "env"
)x") == "p.toml:7: view 'env_status': name: 'env_status' is the device status view of source "
        "'env' (choose another name)");
}

TEST_CASE("references name an existing source, view or late view") {
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\nfrom = \"cla\"\n")) ==
        "p.toml:8: view 'v': from: unknown input 'cla' (did you mean 'cal'?)");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\nfrom = \"other\"\n")) ==
        "p.toml:8: view 'v': from: unknown input 'other' (name one of 'cal', 'v')");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"j\"\nasof_join = { left = \"cal\", right = "
                           "\"cali\" }\n")) ==
        "p.toml:8: view 'j': asof_join.right: unknown input 'cali' (did you mean 'cal'?)");
  CHECK(ErrorOf(WithSource("[[sink]]\nfrom = \"nothing\"\nstdout = true\n")) ==
        "p.toml:7: sink #1: from: unknown input 'nothing' (name one of 'cal')");
  // Late views and device status views can be read like any view.
  const PipelineConfig c = Parse(R"x(
[[source]]
name = "env"
profile = "esp32-bme280"

[[view]]
name = "dedup"
from = "env"
dedup = { by = ["device"], within = "1m" }
late = "dups_late"

[[sink]]
from = "dups_late"
stdout = true

[[sink]]
from = "env_status"
topic = "alerts/status"
retain = true
qos = 0
)x");
  CHECK(c.sinks[1].retain);
  CHECK(c.sinks[1].qos == 0);
}

TEST_CASE("dependency cycles are refused and named") {
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"a\"\nfrom = \"b\"\n\n[[view]]\nname = \"b\"\n"
                           "from = \"a\"\n")) ==
        "p.toml:8: view 'a': from: dependency cycle view 'a' -> view 'b' -> view 'a' (a view "
        "cannot read its own output: break the cycle)");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"a\"\nfrom = \"a\"\n")) ==
        "p.toml:8: view 'a': from: dependency cycle view 'a' -> view 'a' (a view cannot read "
        "its own output: break the cycle)");
  CHECK(ErrorOf(WithSource(R"x([[view]]
name = "b"
from = "c"

[[view]]
name = "a"
from = "cal"

[[view]]
name = "c"
from = "d"
select = ["device"]

[[view]]
name = "d"
asof_join = { left = "a", right = "b_late" }

[[view]]
name = "bb"
from = "b"
)x"
                           R"x(
[[view]]
name = "b2"
from = "b"
window = { type = "tumbling", size = "1m" }
aggregate = ["n = count()"]
late = "b_late"
)x")) == "p.toml:8: view 'b': from: dependency cycle view 'b' -> view 'c' -> view 'd' -> late "
         "view 'b_late' -> view 'b2' -> view 'b' (a view cannot read its own output: break the "
         "cycle)");
}

TEST_CASE("a view applies one operator with the keys that fit it") {
  CHECK(ErrorOf(WithSource(R"x([[view]]
name = "v"
from = "cal"
window = { type = "tumbling", size = "1m" }
aggregate = ["n = count()"]
dedup = { by = ["device"], within = "1h" }
)x")) == "p.toml:11: view 'v': dedup: a view applies one operator, and this one already has "
         "window (chain two views: the second reads the first with from)");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\n")) ==
        "p.toml:6: view 'v': missing key 'from' (name the source or view this view reads, e.g. "
        "from = \"env\")");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\nfrom = \"cal\"\naggregate = [\"n = "
                           "count()\"]\n")) ==
        "p.toml:9: view 'v': aggregate: needs a window (add e.g. window = { type = "
        "\"tumbling\", size = \"1m\" })");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\nfrom = \"cal\"\nwindow = { type = "
                           "\"tumbling\", size = \"1m\" }\n")) ==
        "p.toml:9: view 'v': window: a window needs aggregate (add e.g. aggregate = [\"n = "
        "count()\"])");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\nfrom = \"cal\"\nemit = \"updates\"\n")) ==
        "p.toml:9: view 'v': emit: only applies to views with window, asof_join or dedup "
        "(remove it)");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\nfrom = \"cal\"\ndedup = { by = "
                           "[\"device\"], within = \"1h\" }\nselect = [\"device\"]\n")) ==
        "p.toml:10: view 'v': select: not available with dedup, which passes whole records "
        "(project them in a view that reads this one)");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\nfrom = \"cal\"\nasof_join = { left = "
                           "\"cal\", right = \"cal\" }\n")) ==
        "p.toml:8: view 'v': from: an asof_join view reads asof_join.left and asof_join.right "
        "(remove from)");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\nasof_join = { left = \"cal\" }\n")) ==
        "p.toml:8: view 'v': asof_join: missing key 'right' (name the right input, e.g. right "
        "= \"env\")");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\nasof_join = { left = \"cal\", right = "
                           "\"cal\", direction = \"back\" }\n")) ==
        "p.toml:8: view 'v': asof_join.direction: invalid value \"back\" (use \"backward\", "
        "\"forward\" or \"nearest\")");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\nasof_join = { left = \"cal\", right = "
                           "\"cal\" }\nwhere = \"gain > 1\"\n")) ==
        "p.toml:9: view 'v': where: not available with asof_join (filter an input in a view of "
        "its own, or the join's output in a view that reads this one)");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\nfrom = \"cal\"\nwhere = \" \"\n")) ==
        "p.toml:9: view 'v': where: empty expression");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\nfrom = \"cal\"\nselect = []\n")) ==
        "p.toml:9: view 'v': select: empty list (list at least one expression, or remove "
        "select)");
  CHECK(ErrorOf(WithSource("[[view]]\nname = \"v\"\nfrom = \"cal\"\ndedup = { by = "
                           "[\"device\"] }\n")) ==
        "p.toml:9: view 'v': dedup: missing key 'within' (bound the time to remember keys, "
        "e.g. within = \"1h\")");
}

TEST_CASE("windows need exactly the durations of their type") {
  const auto window = [](std::string_view spec) {
    return ErrorOf(WithSource("[[view]]\nname = \"v\"\nfrom = \"cal\"\nwindow = " +
                              std::string(spec) + "\naggregate = [\"n = count()\"]\n"));
  };
  CHECK(window("{ type = \"tumbling\" }") ==
        "p.toml:9: view 'v': window: missing key 'size' (a tumbling window needs size, e.g. "
        "size = \"1m\")");
  CHECK(window("{ type = \"tumbling\", size = \"1m\", hop = \"1s\" }") ==
        "p.toml:9: view 'v': window.hop: does not apply to a tumbling window (remove it)");
  CHECK(window("{ type = \"sliding\", size = \"1m\" }") ==
        "p.toml:9: view 'v': window: missing key 'hop' (a sliding window needs size and hop, "
        "e.g. size = \"5m\", hop = \"1m\")");
  CHECK(window("{ type = \"sliding\", size = \"1m\", hop = \"2m\" }") ==
        "p.toml:9: view 'v': window.hop: must not be longer than size (records between windows "
        "would belong to none)");
  CHECK(window("{ type = \"session\", gap = \"0s\" }") ==
        "p.toml:9: view 'v': window.gap: must be longer than zero (write e.g. \"1s\" or "
        "\"1m\")");
  CHECK(window("{ type = \"session\", gap = \"1m\", size = \"1m\" }") ==
        "p.toml:9: view 'v': window.size: does not apply to a session window (remove it)");
  CHECK(window("{ type = \"tumbeling\", size = \"1m\" }") ==
        "p.toml:9: view 'v': window.type: invalid value \"tumbeling\" (did you mean "
        "\"tumbling\"?)");
  CHECK(window("{ size = \"1m\" }") ==
        "p.toml:9: view 'v': window: missing key 'type' (write type = \"tumbling\", \"sliding\" "
        "or \"session\")");
}

TEST_CASE("a sink writes to exactly one target") {
  CHECK(ErrorOf(WithSource("[[sink]]\nfrom = \"cal\"\n")) ==
        "p.toml:6: sink #1: missing a target (set one of table, file, stdout = true or topic)");
  CHECK(ErrorOf(WithSource("[[sink]]\nfrom = \"cal\"\ntable = \"t\"\nfile = \"x.csv\"\n")) ==
        "p.toml:9: sink #1: file: a sink writes to one target, and this one already has table "
        "(use one [[sink]] per target)");
  CHECK(ErrorOf(WithSource("[[sink]]\nfrom = \"cal\"\ntable = \"t\"\n\n[[sink]]\nfrom = "
                           "\"cal\"\ntable = \"t\"\n")) ==
        "p.toml:12: sink #2: table: table 't' is already written by the sink at line 8 (each "
        "table has one writer: choose another name)");
  CHECK(ErrorOf(WithSource("[[sink]]\nfrom = \"cal\"\nfile = \"o.csv\"\n\n[[sink]]\nfrom = "
                           "\"cal\"\nfile = \"./o.csv\"\n")) ==
        "p.toml:12: sink #2: file: \"./o.csv\" is already written by the sink at line 8 (write "
        "each file from one sink)");
  CHECK(ErrorOf(WithSource("[[sink]]\nfrom = \"cal\"\ntable = \"runnel_log\"\n")) ==
        "p.toml:8: sink #1: table: 'runnel_log' is reserved: names starting with sqlite_ or "
        "runnel_ belong to the state database itself (choose another name)");
  CHECK(ErrorOf(WithSource("[[sink]]\nfrom = \"cal\"\nstdout = false\n")) ==
        "p.toml:8: sink #1: stdout: only stdout = true means something (remove the sink, or "
        "give it another target)");
  CHECK(ErrorOf(WithSource("[[sink]]\nfrom = \"cal\"\ntable = \"t\"\nqos = 1\n")) ==
        "p.toml:9: sink #1: qos: only applies to MQTT sinks, which have topic (remove it)");
  CHECK(ErrorOf(WithSource("[[sink]]\nfrom = \"cal\"\ntopic = \"t\"\nformat = \"csv\"\n")) ==
        "p.toml:9: sink #1: format: only applies to file and stdout sinks (remove it)");
  CHECK(ErrorOf(WithSource("[[sink]]\nfrom = \"cal\"\nfile = \"out.txt\"\n")) ==
        "p.toml:8: sink #1: file: cannot tell the format of \"out.txt\" from its extension (set "
        "format = \"csv\" or \"jsonl\")");
  CHECK(ErrorOf(WithSource("[[sink]]\nfrom = \"cal\"\ntopic = \"up/#\"\n")) ==
        "p.toml:8: sink #1: topic: \"up/#\" contains a wildcard (+ and # only work in "
        "subscriptions: write a concrete topic)");
  CHECK(ErrorOf(WithSource("[[sink]]\nfrom = \"cal\"\ntopic = \"t\"\nusername = \"u\"\n")) ==
        "p.toml:9: sink #1: username: only applies with the sink's own broker (set broker, or "
        "configure the shared connection in [mqtt])");
  CHECK(ErrorOf(WithSource("[[sink]]\nfrom = \"cal\"\ntopic = \"t\"\noutbox_limit = 0\n")) ==
        "p.toml:9: sink #1: outbox_limit: must be between 1 and 9223372036854775807, got 0");
  CHECK(ErrorOf(WithSource("[[sink]]\ntopic = \"t\"\n")) ==
        "p.toml:6: sink #1: missing key 'from' (name the view or source to write, e.g. from = "
        "\"env_1m\")");
}

TEST_CASE("broker and dashboard settings are checked") {
  CHECK(ErrorOf("[mqtt]\nbroker = \"mqtt://host:1883\"\n") ==
        "p.toml:2: mqtt.broker: \"mqtt://host:1883\" has no supported scheme (write tcp:// "
        "instead of mqtt://)");
  CHECK(ErrorOf("[mqtt]\nbroker = \"host:1883\"\n") ==
        "p.toml:2: mqtt.broker: \"host:1883\" has no supported scheme (write tcp://, ssl://, "
        "ws:// or wss://, e.g. \"tcp://127.0.0.1:1883\")");
  CHECK(ErrorOf("[mqtt]\nbroker = \"ssl://:8883\"\n") ==
        "p.toml:2: mqtt.broker: \"ssl://:8883\" names no host (write e.g. "
        "\"ssl://127.0.0.1:1883\")");
  CHECK(ErrorOf("[mqtt]\nbroker = \"ssl://h\"\ntls = { key_file = \"k.pem\" }\n") ==
        "p.toml:3: mqtt.tls.key_file: needs cert_file too (the client certificate that goes "
        "with it)");
  CHECK(ErrorOf("[mqtt]\nversion = 4\n") ==
        "p.toml:2: mqtt.version: must be 3 (MQTT 3.1.1) or 5 (MQTT 5), got 4");
  CHECK(Parse("[mqtt]\nversion = 3\n").mqtt->version == 3);
  CHECK(ErrorOf("[dashboard]\nlisten = \"0.0.0.0:8080\"\n") ==
        "p.toml:2: dashboard.listen: \"0.0.0.0:8080\" is reachable from the network, so the "
        "dashboard needs authentication (set token_file, or insecure = true to serve it to "
        "anyone)");
  CHECK(ErrorOf("[dashboard]\nlisten = \"localhost\"\n") ==
        "p.toml:2: dashboard.listen: \"localhost\" is not host:port (write e.g. "
        "\"127.0.0.1:8080\", or \"[::1]:8080\" for IPv6)");
  CHECK(ErrorOf("[dashboard]\nlisten = \"127.0.0.1:99999\"\n") ==
        "p.toml:2: dashboard.listen: \"127.0.0.1:99999\" is not host:port (write e.g. "
        "\"127.0.0.1:8080\", or \"[::1]:8080\" for IPv6)");
  CHECK(ErrorOf("[dashboard]\ncert_file = \"c.pem\"\n") ==
        "p.toml:2: dashboard.cert_file: needs key_file too (HTTPS needs the certificate and its "
        "private key)");
  CHECK(Parse("[dashboard]\nlisten = \"[::1]:8080\"\n").dashboard.listen == "[::1]:8080");
  CHECK(Parse("[dashboard]\nlisten = \"0.0.0.0:8080\"\ninsecure = true\n").dashboard.insecure);
}

TEST_CASE("a pipeline file that cannot be read is reported with its path") {
  Result<PipelineConfig> c = LoadPipelineFile("/nonexistent/p.toml");
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == StatusCode::kInvalid);
  CHECK(c.status().message() ==
        "/nonexistent/p.toml: cannot read the pipeline file: No such file or directory (check "
        "the path)");
}

TEST_CASE("runtime batch_size sets the records per source and step, at least 1") {
  CHECK(Parse("[runtime]\nbatch_size = 1\n").runtime.batch_size == 1);
  CHECK(Parse("[runtime]\nbatch_size = 100000\n").runtime.batch_size == 100000);
  CHECK(ErrorOf("[runtime]\nbatch_size = 0\n") ==
        "p.toml:2: runtime.batch_size: must be between 1 and 2147483647, got 0");
  CHECK(ErrorOf("[runtime]\nbatch_size = \"4k\"\n") ==
        "p.toml:2: runtime.batch_size: expected an integer, got a string");
}

TEST_CASE("runtime step_interval is a duration of 0 or more, 5 ms by default") {
  CHECK(Parse("").runtime.step_interval == 5);
  CHECK(Parse("[runtime]\nstep_interval = \"0s\"\n").runtime.step_interval == 0);
  CHECK(Parse("[runtime]\nstep_interval = \"250ms\"\n").runtime.step_interval == 250);
  CHECK(ErrorOf("[runtime]\nstep_interval = 5\n").find("runtime.step_interval") !=
        std::string::npos);
}

TEST_CASE("runtime reader_threads is 0 (parse on the engine thread) to 64") {
  CHECK(Parse("[runtime]\nreader_threads = 0\n").runtime.reader_threads == 0);
  CHECK(Parse("[runtime]\nreader_threads = 3\n").runtime.reader_threads == 3);
  CHECK(ErrorOf("[runtime]\nreader_threads = 65\n") ==
        "p.toml:2: runtime.reader_threads: must be between 0 and 64, got 65");
}

TEST_CASE("replay sources read speed; follow sources refuse it") {
  const PipelineConfig c = Parse(
      "[[source]]\nname = \"a\"\nfile = \"a.csv\"\nmode = \"replay\"\nspeed = 1.5\ntime = "
      "\"t\"\nfields = { t = \"int\" }\n");
  CHECK(c.sources[0].mode == ConfigSourceMode::kReplay);
  CHECK(c.sources[0].speed == 1.5);
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nfile = \"a.csv\"\nmode = \"follow\"\nspeed = "
                "1\n") ==
        "p.toml:5: source 'a': speed: only applies to mode = \"replay\" (remove it, or set mode = "
        "\"replay\")");
}

}  // namespace
}  // namespace runnel

namespace runnel {
namespace {

TEST_CASE("MQTT sources read shared_group and queue_limit") {
  auto config = ParsePipeline(
      "[[source]]\nname = \"a\"\ntopic = \"t/{device}\"\nfields = { device = \"string\" }\n"
      "time = \"arrival\"\nshared_group = \"gateways\"\nqueue_limit = 5000\n",
      "p.toml");
  REQUIRE_MESSAGE(config.ok(), config.status().message());
  CHECK(config->sources[0].shared_group == std::optional<std::string>("gateways"));
  CHECK(config->sources[0].queue_limit == 5000);
  auto defaults = ParsePipeline("[[source]]\nname = \"a\"\nprofile = \"p\"\n", "p.toml");
  REQUIRE(defaults.ok());
  CHECK_FALSE(defaults->sources[0].shared_group.has_value());
  CHECK(defaults->sources[0].queue_limit == 100'000);
}

TEST_CASE("shared_group needs MQTT 5, a plain group name and an MQTT source") {
  CHECK(ErrorOf("[mqtt]\nversion = 3\n[[source]]\nname = \"a\"\nprofile = \"p\"\n"
                "shared_group = \"g\"\n") ==
        "p.toml:6: source 'a': shared_group: shared subscriptions need MQTT 5 (set version = 5 "
        "in [mqtt], or remove shared_group)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nprofile = \"p\"\nshared_group = \"a/b\"\n") ==
        "p.toml:4: source 'a': shared_group: \"a/b\" may not contain '/', '+' or '#' (name the "
        "group with letters and digits, e.g. \"gateways\")");
  CHECK(ErrorOf(std::string(kFileSource) + "queue_limit = 10\n") ==
        "p.toml:6: source 'cal': queue_limit: only applies to MQTT sources (remove it)");
  CHECK(ErrorOf("[[source]]\nname = \"a\"\nprofile = \"p\"\nqueue_limit = 0\n") ==
        "p.toml:4: source 'a': queue_limit: must be between 1 and 1099511627776, got 0");
}

}  // namespace
}  // namespace runnel
