#include "config/pipeline_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <utility>

#include "config/toml_reader.h"

namespace runnel {

std::vector<std::string> ViewConfig::Inputs() const {
  if (asof_join) return {asof_join->left, asof_join->right};
  if (from) return {*from};
  return {};
}

namespace {

using config_internal::ClosestMatch;
using config_internal::ConfigError;
using config_internal::IsFieldName;
using config_internal::JoinWords;
using config_internal::ParseTomlText;
using config_internal::ReadConfigText;
using config_internal::SourceFile;
using config_internal::SourceFileOf;
using config_internal::StringAt;
using config_internal::TableReader;

constexpr std::string_view kFieldNameRule =
    "use letters, digits and '_', not starting with a digit";

std::string Single(std::string_view text) { return "'" + std::string(text) + "'"; }
std::string Double(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool IsBlank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

std::string LowerExtension(std::string_view path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

std::optional<ConfigFileFormat> FormatFromExtension(std::string_view path) {
  const std::string ext = LowerExtension(path);
  if (ext == ".csv") return ConfigFileFormat::kCsv;
  if (ext == ".jsonl") return ConfigFileFormat::kJsonl;
  return std::nullopt;
}

std::string_view FormatName(ConfigFileFormat format) {
  return format == ConfigFileFormat::kCsv ? "csv" : "jsonl";
}

// Errors on the first of `keys` present: they mean nothing for this kind of entry.
Status RefuseKeys(const TableReader& r, std::initializer_list<std::string_view> keys,
                  std::string_view why) {
  const std::string_view key = r.FirstOf(keys);
  if (key.empty()) return Status::Ok();
  return r.KeyError(key, why);
}

// Reads a file format: `format` if given, else the path's extension; stdout ("-") defaults
// to CSV, which reads best in a terminal.
Status ReadFileFormat(const TableReader& r, std::string_view path_key, std::string_view written,
                      bool is_stdout, ConfigFileFormat* out) {
  std::optional<ConfigFileFormat> format;
  RUNNEL_RETURN_IF_ERROR(r.ReadEnum<ConfigFileFormat>(
      "format", {{"csv", ConfigFileFormat::kCsv}, {"jsonl", ConfigFileFormat::kJsonl}}, &format));
  const std::optional<ConfigFileFormat> by_extension = FormatFromExtension(written);
  if (format && by_extension && *format != *by_extension) {
    return r.KeyError("format", Double(FormatName(*format)) + " contradicts the extension of " +
                                    Double(written) + " (rename the file, or remove format)");
  }
  if (!format && !by_extension) {
    if (is_stdout) {
      format = ConfigFileFormat::kCsv;
    } else {
      return r.KeyError(path_key, "cannot tell the format of " + Double(written) +
                                      " from its extension (set format = \"csv\" or \"jsonl\")");
    }
  }
  *out = format ? *format : *by_extension;
  return Status::Ok();
}

// tcp://, ssl://, ws://, wss:// followed by a host (and optionally :port and a path).
Status ReadBroker(const TableReader& r, std::string_view key, std::optional<std::string>* out) {
  std::optional<std::string> broker;
  RUNNEL_RETURN_IF_ERROR(r.ReadString(key, &broker));
  if (!broker) return Status::Ok();
  static constexpr std::string_view kSchemes[] = {"tcp://", "ssl://", "ws://", "wss://"};
  for (std::string_view scheme : kSchemes) {
    if (!broker->starts_with(scheme)) continue;
    const std::string_view rest = std::string_view(*broker).substr(scheme.size());
    if (rest.empty() || rest.front() == ':' || rest.front() == '/') {
      return r.KeyError(key, Double(*broker) + " names no host (write e.g. \"" +
                                 std::string(scheme) + "127.0.0.1:1883\")");
    }
    *out = std::move(broker);
    return Status::Ok();
  }
  std::string hint = "write tcp://, ssl://, ws:// or wss://, e.g. \"tcp://127.0.0.1:1883\"";
  if (broker->starts_with("mqtt://")) hint = "write tcp:// instead of mqtt://";
  if (broker->starts_with("mqtts://")) hint = "write ssl:// instead of mqtts://";
  return r.KeyError(key, Double(*broker) + " has no supported scheme (" + hint + ")");
}

Status ReadTls(const TableReader& r, std::optional<TlsConfig>* out) {
  if (!r.Has("tls")) return Status::Ok();
  RUNNEL_ASSIGN_OR_RETURN(TableReader t, r.GetTable("tls"));
  RUNNEL_RETURN_IF_ERROR(t.CheckKeys({"ca_file", "cert_file", "key_file", "verify"}));
  TlsConfig tls;
  RUNNEL_RETURN_IF_ERROR(t.ReadPath("ca_file", &tls.ca_file));
  RUNNEL_RETURN_IF_ERROR(t.ReadPath("cert_file", &tls.cert_file));
  RUNNEL_RETURN_IF_ERROR(t.ReadPath("key_file", &tls.key_file));
  RUNNEL_RETURN_IF_ERROR(t.ReadBool("verify", &tls.verify));
  if (tls.key_file && !tls.cert_file) {
    return t.KeyError("key_file", "needs cert_file too (the client certificate that goes with it)");
  }
  *out = std::move(tls);
  return Status::Ok();
}

// Field names as an array: group_by, by.
Status ReadFieldNames(const TableReader& r, std::string_view key, std::vector<std::string>* out) {
  std::vector<StringAt> names;
  RUNNEL_RETURN_IF_ERROR(r.ReadStringArray(key, &names));
  std::vector<std::string> result;
  for (const StringAt& name : names) {
    if (!IsFieldName(name.value)) {
      return r.ErrorAt(
          name.where, r.KeyPath(key),
          Double(name.value) + " is not a valid field name (" + std::string(kFieldNameRule) + ")");
    }
    if (std::find(result.begin(), result.end(), name.value) != result.end()) {
      return r.ErrorAt(name.where, r.KeyPath(key),
                       Single(name.value) + " is listed twice (list each field once)");
    }
    result.push_back(name.value);
  }
  *out = std::move(result);
  return Status::Ok();
}

// Expression strings: `where`, `select`, `aggregate`.
Result<std::vector<ExprText>> ReadExpressions(const TableReader& r, std::string_view key) {
  std::vector<ExprText> out;
  if (!r.Has(key)) return out;
  std::vector<StringAt> items;
  RUNNEL_RETURN_IF_ERROR(r.ReadStringArray(key, &items));
  if (items.empty()) {
    return r.KeyError(
        key, "empty list (list at least one expression, or remove " + std::string(key) + ")");
  }
  for (StringAt& item : items) {
    if (IsBlank(item.value)) return r.ErrorAt(item.where, r.KeyPath(key), "empty expression");
    out.push_back(ExprText{std::move(item.value), std::move(item.where)});
  }
  return out;
}

// The strftime subset that ParseTimeWithFormat understands.
Status CheckTimeFormat(const TableReader& r, std::string_view format) {
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') continue;
    if (i + 1 == format.size()) {
      return r.KeyError("time_format", "ends with a lone '%' (write %% for a percent sign)");
    }
    const char directive = format[++i];
    if (std::string_view("YmdHMSfz%").find(directive) == std::string_view::npos) {
      return r.KeyError("time_format", "unsupported directive \"%" + std::string(1, directive) +
                                           "\" (use %Y %m %d %H %M %S %f %z or %%)");
    }
  }
  return Status::Ok();
}

// Anything a view or sink may read: a source, a view, a late view or a device status view.
struct NameEntry {
  std::string name;
  std::string description;  // "source 'env'", "view 'env_1m'", "late view of view 'env_1m'"
  std::string context;      // for errors at this entry
  std::string key_path;     // "name" or "late"
  ConfigLocation where;
  int producer = -1;  // index of the view computing it (for late views, the owning view)
};

// A name read by a view or sink, checked once every name is known.
struct Reference {
  std::string name;
  std::string context;
  std::string key_path;
  ConfigLocation where;
};

class PipelineParser {
 public:
  PipelineParser(const SourceFile& file, const toml::table& root, PipelineConfig* config)
      : file_(file), root_(file, root, "", ""), config_(config) {}

  Status Parse() {
    RUNNEL_RETURN_IF_ERROR(
        root_.CheckKeys({"runtime", "mqtt", "dashboard", "source", "view", "sink"}));
    RUNNEL_RETURN_IF_ERROR(ParseRuntime());
    RUNNEL_RETURN_IF_ERROR(ParseMqtt());
    RUNNEL_RETURN_IF_ERROR(ParseDashboard());
    RUNNEL_RETURN_IF_ERROR(ParseEntries("source", &PipelineParser::ParseSource));
    RUNNEL_RETURN_IF_ERROR(ParseEntries("view", &PipelineParser::ParseView));
    RUNNEL_RETURN_IF_ERROR(CheckNames());
    RUNNEL_RETURN_IF_ERROR(ParseEntries("sink", &PipelineParser::ParseSink));
    RUNNEL_RETURN_IF_ERROR(CheckReferences());
    RUNNEL_RETURN_IF_ERROR(OrderViews());
    AddDefaultMqtt();
    return Status::Ok();
  }

 private:
  using EntryParser = Status (PipelineParser::*)(TableReader&, int);

  // A [section] table. REQUIRES: present.
  Result<TableReader> Section(std::string_view name) {
    const toml::node* node = root_.Find(name);
    if (node->is_array()) {
      return root_.TypeError(name, *node, "a table",
                             "write [" + std::string(name) + "] with single brackets");
    }
    return root_.GetTable(name);
  }

  // Every [[name]] entry in document order (toml++ keeps arrays in document order).
  Status ParseEntries(std::string_view name, EntryParser parse) {
    const toml::node* node = root_.Find(name);
    if (!node) return Status::Ok();
    const std::string hint =
        "write each one as [[" + std::string(name) + "]], with double brackets";
    const toml::array* array = node->as_array();
    if (!array) return root_.TypeError(name, *node, "an array of tables", hint);
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      const toml::table* table = element.as_table();
      if (!table) {
        return ConfigError(
            file_.Locate(element.source()), "", name,
            "expected tables, got " + config_internal::DescribeType(element) + " (" + hint + ")");
      }
      TableReader r(file_, *table, std::string(name) + " #" + std::to_string(i + 1), "");
      RUNNEL_RETURN_IF_ERROR((this->*parse)(r, static_cast<int>(i)));
    }
    return Status::Ok();
  }

  Status ParseRuntime() {
    if (!root_.Has("runtime")) return Status::Ok();
    RUNNEL_ASSIGN_OR_RETURN(TableReader section, Section("runtime"));
    const TableReader* r = &section;
    RUNNEL_RETURN_IF_ERROR(
        r->CheckKeys({"state_dir", "checkpoint_interval", "log_retention", "durability",
                      "batch_size", "step_interval", "backfill", "reader_threads"}));
    RuntimeConfig& runtime = config_->runtime;
    RUNNEL_RETURN_IF_ERROR(
        r->ReadInt("batch_size", 1, std::numeric_limits<int32_t>::max(), &runtime.batch_size));
    RUNNEL_RETURN_IF_ERROR(r->ReadBool("backfill", &runtime.backfill));
    RUNNEL_RETURN_IF_ERROR(r->ReadInt("reader_threads", 0, 64, &runtime.reader_threads));
    RUNNEL_RETURN_IF_ERROR(r->ReadPath("state_dir", &runtime.state_dir));
    RUNNEL_RETURN_IF_ERROR(
        r->ReadDuration("checkpoint_interval", true, &runtime.checkpoint_interval));
    RUNNEL_RETURN_IF_ERROR(r->ReadDuration("log_retention", true, &runtime.log_retention));
    RUNNEL_RETURN_IF_ERROR(r->ReadDuration("step_interval", false, &runtime.step_interval));
    return r->ReadEnum<Durability>(
        "durability", {{"process", Durability::kProcess}, {"power", Durability::kPower}},
        &runtime.durability);
  }

  Status ParseMqtt() {
    if (!root_.Has("mqtt")) return Status::Ok();
    RUNNEL_ASSIGN_OR_RETURN(TableReader section, Section("mqtt"));
    const TableReader* r = &section;
    RUNNEL_RETURN_IF_ERROR(
        r->CheckKeys({"broker", "client_id", "username", "password_file", "tls", "version"}));
    MqttConfig mqtt;
    mqtt.where = r->where();
    std::optional<std::string> broker;
    RUNNEL_RETURN_IF_ERROR(ReadBroker(*r, "broker", &broker));
    if (broker) mqtt.broker = *broker;
    RUNNEL_RETURN_IF_ERROR(r->ReadNonEmptyString("client_id", &mqtt.client_id));
    RUNNEL_RETURN_IF_ERROR(r->ReadNonEmptyString("username", &mqtt.username));
    RUNNEL_RETURN_IF_ERROR(r->ReadPath("password_file", &mqtt.password_file));
    // SPEC §2 pairs tls with a tcp:// broker, so tls is accepted with any scheme and used
    // only by ssl:// and wss:// connections.
    RUNNEL_RETURN_IF_ERROR(ReadTls(*r, &mqtt.tls));
    RUNNEL_ASSIGN_OR_RETURN(std::optional<int64_t> version,
                            r->GetInt("version", 0, std::numeric_limits<int64_t>::max()));
    if (version && *version != 3 && *version != 5) {
      return r->KeyError("version",
                         "must be 3 (MQTT 3.1.1) or 5 (MQTT 5), got " + std::to_string(*version));
    }
    if (version) mqtt.version = static_cast<int>(*version);
    config_->mqtt = std::move(mqtt);
    return Status::Ok();
  }

  Status ParseDashboard() {
    if (!root_.Has("dashboard")) return Status::Ok();
    RUNNEL_ASSIGN_OR_RETURN(TableReader section, Section("dashboard"));
    const TableReader* r = &section;
    RUNNEL_RETURN_IF_ERROR(
        r->CheckKeys({"listen", "token_file", "cert_file", "key_file", "insecure"}));
    DashboardConfig& dashboard = config_->dashboard;
    dashboard.where = r->where();
    RUNNEL_RETURN_IF_ERROR(r->ReadString("listen", &dashboard.listen));
    RUNNEL_RETURN_IF_ERROR(r->ReadPath("token_file", &dashboard.token_file));
    RUNNEL_RETURN_IF_ERROR(r->ReadPath("cert_file", &dashboard.cert_file));
    RUNNEL_RETURN_IF_ERROR(r->ReadPath("key_file", &dashboard.key_file));
    RUNNEL_RETURN_IF_ERROR(r->ReadBool("insecure", &dashboard.insecure));
    if (dashboard.cert_file.has_value() != dashboard.key_file.has_value()) {
      const std::string_view given = dashboard.cert_file ? "cert_file" : "key_file";
      const std::string_view missing = dashboard.cert_file ? "key_file" : "cert_file";
      return r->KeyError(given, "needs " + std::string(missing) +
                                    " too (HTTPS needs the certificate and its private key)");
    }
    std::string host;
    RUNNEL_RETURN_IF_ERROR(CheckListen(*r, dashboard.listen, &host));
    const bool loopback = host == "localhost" || host.starts_with("127.") || host == "[::1]";
    if (!loopback && !dashboard.token_file && !dashboard.insecure) {
      return r->KeyError("listen", Double(dashboard.listen) +
                                       " is reachable from the network, so the dashboard needs "
                                       "authentication (set token_file, or insecure = true to "
                                       "serve it to anyone)");
    }
    return Status::Ok();
  }

  // "host:port" with a numeric port; IPv6 hosts in brackets.
  static Status CheckListen(const TableReader& r, const std::string& listen, std::string* host) {
    const auto bad = [&] {
      return r.KeyError("listen", Double(listen) +
                                      " is not host:port (write e.g. \"127.0.0.1:8080\", or "
                                      "\"[::1]:8080\" for IPv6)");
    };
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0) return bad();
    *host = listen.substr(0, colon);
    const std::string port = listen.substr(colon + 1);
    if (host->find(':') != std::string::npos &&
        !(host->front() == '[' && host->back() == ']' && host->size() > 2)) {
      return bad();
    }
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(port) > 65535) {
      return bad();
    }
    return Status::Ok();
  }

  // Names the entry in errors about its other keys, when its name is readable.
  static void PeekName(TableReader& r, std::string_view kind) {
    const toml::node* name = r.Find("name");
    if (name && name->is_string() && config_internal::IsIdentifier(name->as_string()->get())) {
      r.set_context(std::string(kind) + " " + Single(name->as_string()->get()));
    }
  }

  // Reads `name` and renames the reader's context after it.
  Status ReadName(TableReader& r, std::string_view kind, std::string_view example,
                  std::string* name) {
    RUNNEL_RETURN_IF_ERROR(r.Require(
        "name",
        "give the " + std::string(kind) + " a name, e.g. name = \"" + std::string(example) + "\""));
    RUNNEL_RETURN_IF_ERROR(r.ReadIdentifier("name", name));
    r.set_context(std::string(kind) + " " + Single(*name));
    return Status::Ok();
  }

  void AddName(const TableReader& r, std::string_view key, const std::string& name,
               std::string description, int producer) {
    names_.push_back(NameEntry{name, std::move(description), r.context(), std::string(key),
                               r.ValueWhere(key), producer});
  }

  Status ParseSource(TableReader& r, int /*index*/) {
    PeekName(r, "source");
    RUNNEL_RETURN_IF_ERROR(
        r.CheckKeys({"name", "file", "profile", "topic", "format", "mode", "speed", "fields",
                     "time", "time_unit", "time_format", "null_values", "on_error", "max_delay",
                     "qos", "shared_group", "queue_limit"}));
    SourceConfig source;
    source.where = r.where();
    RUNNEL_RETURN_IF_ERROR(ReadName(r, "source", "env", &source.name));
    const bool has_file = r.Has("file");
    const bool has_profile = r.Has("profile");
    const bool has_topic = r.Has("topic");
    if (has_file && (has_profile || has_topic)) {
      return r.KeyError(r.LastOf({"file", "profile", "topic"}),
                        "a source reads a file or MQTT, not both (split it into two sources)");
    }
    if (has_profile && has_topic) {
      return r.KeyError(r.LastOf({"profile", "topic"}),
                        "profile and topic exclude each other: the device profile defines the "
                        "topic (remove one of them)");
    }
    if (!has_file && !has_profile && !has_topic) {
      return r.TableError(
          "missing key 'file', 'profile' or 'topic' (a file source needs file; an MQTT source "
          "needs profile, or topic, fields and time)");
    }
    RUNNEL_RETURN_IF_ERROR(r.ReadDuration("max_delay", false, &source.max_delay));
    if (has_file) {
      RUNNEL_RETURN_IF_ERROR(ParseFileSource(r, &source));
    } else {
      RUNNEL_RETURN_IF_ERROR(ParseMqttSource(r, &source));
    }
    AddName(r, "name", source.name, "source " + Single(source.name), -1);
    if (source.profile) {
      status_views_.emplace(source.name + "_status", source.name);
    }
    config_->sources.push_back(std::move(source));
    return Status::Ok();
  }

  Status ParseFileSource(const TableReader& r, SourceConfig* source) {
    RUNNEL_RETURN_IF_ERROR(RefuseKeys(r, {"qos", "shared_group", "queue_limit"},
                                      "only applies to MQTT sources (remove it)"));
    source->kind = SourceKind::kFile;
    std::string written;
    RUNNEL_RETURN_IF_ERROR(r.ReadNonEmptyString("file", &written));
    source->file = file_.ResolvePath(written);
    RUNNEL_RETURN_IF_ERROR(ReadFileFormat(r, "file", written, false, &source->format));
    RUNNEL_RETURN_IF_ERROR(r.ReadEnum<ConfigSourceMode>("mode",
                                                        {{"static", ConfigSourceMode::kStatic},
                                                         {"replay", ConfigSourceMode::kReplay},
                                                         {"follow", ConfigSourceMode::kFollow}},
                                                        &source->mode));
    RUNNEL_RETURN_IF_ERROR(r.ReadNonNegativeNumber("speed", &source->speed));
    if (r.Has("speed") && source->mode != ConfigSourceMode::kReplay) {
      return r.KeyError("speed",
                        "only applies to mode = \"replay\" (remove it, or set mode = \"replay\")");
    }
    RUNNEL_RETURN_IF_ERROR(
        r.ReadEnum<bool>("on_error", {{"skip", false}, {"fail", true}}, &source->on_error_fail));
    return ParsePayload(r, source);
  }

  Status ParseMqttSource(const TableReader& r, SourceConfig* source) {
    source->kind = SourceKind::kMqtt;
    RUNNEL_RETURN_IF_ERROR(
        RefuseKeys(r, {"mode", "speed", "on_error"}, "only applies to file sources (remove it)"));
    RUNNEL_ASSIGN_OR_RETURN(std::optional<int64_t> qos, r.GetInt("qos", 0, 2));
    if (qos) source->qos = static_cast<int>(*qos);
    RUNNEL_RETURN_IF_ERROR(r.ReadInt("queue_limit", 1, int64_t{1} << 40, &source->queue_limit));
    RUNNEL_RETURN_IF_ERROR(r.ReadNonEmptyString("shared_group", &source->shared_group));
    if (source->shared_group) {
      if (source->shared_group->find_first_of("/+#") != std::string::npos) {
        return r.KeyError("shared_group", Double(*source->shared_group) +
                                              " may not contain '/', '+' or '#' (name the group "
                                              "with letters and digits, e.g. \"gateways\")");
      }
      if (config_->mqtt && config_->mqtt->version != 5) {
        return r.KeyError("shared_group",
                          "shared subscriptions need MQTT 5 (set version = 5 in [mqtt], or "
                          "remove shared_group)");
      }
    }
    if (r.Has("profile")) {
      RUNNEL_RETURN_IF_ERROR(RefuseKeys(
          r, {"format", "fields", "time", "time_unit", "time_format", "null_values"},
          "not used with profile: the device profile describes the payload (remove it)"));
      std::string profile;
      RUNNEL_RETURN_IF_ERROR(r.ReadNonEmptyString("profile", &profile));
      // The name becomes firmware_configs/NAME.toml: no paths, no extension.
      const bool plain =
          profile.front() != '.' && std::all_of(profile.begin(), profile.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
          });
      if (!plain || profile.ends_with(".toml")) {
        return r.KeyError("profile", Double(profile) +
                                         " is not a profile name (write the name of a file in "
                                         "firmware_configs/ without .toml, e.g. "
                                         "\"esp32-bme280\")");
      }
      source->profile = std::move(profile);
      return Status::Ok();
    }
    std::string topic;
    RUNNEL_RETURN_IF_ERROR(r.ReadNonEmptyString("topic", &topic));
    RUNNEL_RETURN_IF_ERROR(CheckSubscribeTopic(r, topic));
    source->topic = std::move(topic);
    source->payload_format = "json";
    RUNNEL_RETURN_IF_ERROR(r.ReadEnum<std::string>(
        "format", {{"json", "json"}, {"csv", "csv"}, {"kv", "kv"}, {"binary", "binary"}},
        &source->payload_format));
    if (source->payload_format == "binary") {
      return r.KeyError("format",
                        "binary payloads need byte offsets, which only a device profile can "
                        "give (describe the payload in firmware_configs/ and use profile)");
    }
    return ParsePayload(r, source);
  }

  // Topic filter levels: '+' and '#' alone in their level ('#' last), or a {field} template.
  static Status CheckSubscribeTopic(const TableReader& r, std::string_view topic) {
    size_t start = 0;
    while (true) {
      const size_t end = std::min(topic.find('/', start), topic.size());
      const std::string_view level = topic.substr(start, end - start);
      const bool last = end == topic.size();
      if (level.find_first_of("+#{}") != std::string_view::npos) {
        const bool wildcard = level == "+" || (level == "#" && last);
        const bool placeholder = level.size() > 2 && level.front() == '{' && level.back() == '}' &&
                                 IsFieldName(level.substr(1, level.size() - 2));
        if (!wildcard && !placeholder) {
          return r.KeyError("topic",
                            "level " + Double(level) + " of " + Double(topic) +
                                " is not valid (a level is text, +, # at the end, or {field} to "
                                "bind a field, e.g. \"sensors/{device}/env\")");
        }
      }
      if (last) break;
      start = end + 1;
    }
    return Status::Ok();
  }

  // fields, time, time_unit, time_format, null_values: what file and inline MQTT sources share.
  Status ParsePayload(const TableReader& r, SourceConfig* source) {
    RUNNEL_RETURN_IF_ERROR(
        r.Require("fields",
                  "list the fields and their types, e.g. fields = { device = \"string\", ts = "
                  "\"int\", temp = \"float\" }"));
    RUNNEL_RETURN_IF_ERROR(ParseFields(r, &source->fields));
    RUNNEL_RETURN_IF_ERROR(r.Require(
        "time", "name the event-time field, e.g. time = \"ts\", or write time = \"arrival\""));
    std::vector<StringAt> nulls;
    RUNNEL_RETURN_IF_ERROR(r.ReadStringArray("null_values", &nulls));
    for (StringAt& value : nulls) source->null_values.push_back(std::move(value.value));
    return ParseTime(r, source);
  }

  Status ParseFields(const TableReader& r, std::vector<FieldConfig>* out) {
    const toml::node* node = r.Find("fields");
    if (!node->is_table()) {
      return r.TypeError("fields", *node, "a table", "write fields = { name = \"type\", ... }");
    }
    RUNNEL_ASSIGN_OR_RETURN(TableReader fields, r.GetTable("fields"));
    const auto entries = fields.EntriesInDocumentOrder();
    if (entries.empty()) {
      return r.KeyError("fields", "no fields (list at least one, e.g. fields = { ts = \"int\" })");
    }
    for (const auto& [key, value] : entries) {
      const ConfigLocation key_where = file_.Locate(key->source());
      if (!IsFieldName(key->str())) {
        return r.ErrorAt(key_where, "fields",
                         Double(key->str()) + " is not a valid field name (" +
                             std::string(kFieldNameRule) + ")");
      }
      const auto* type_name = value->as_string();
      if (!type_name) {
        return fields.TypeError(key->str(), *value, "a type name",
                                "write \"bool\", \"int\", \"float\" or \"string\"");
      }
      auto type = ParseTypeName(type_name->get());
      if (!type.ok()) return fields.KeyError(key->str(), type.status().message());
      out->push_back(FieldConfig{std::string(key->str()), *type, key_where});
    }
    return Status::Ok();
  }

  Status ParseTime(const TableReader& r, SourceConfig* source) {
    std::vector<StringAt> time_fields;
    const toml::node* node = r.Find("time");
    if (const auto* text = node->as_string()) {
      if (text->get() == "arrival") {
        source->time_arrival = true;
      } else {
        time_fields.push_back(StringAt{text->get(), r.ValueWhere("time")});
      }
    } else if (node->is_array()) {
      RUNNEL_RETURN_IF_ERROR(r.ReadStringArray("time", &time_fields));
      if (time_fields.empty()) {
        return r.KeyError("time", "empty list (name the event-time field or fields)");
      }
    } else {
      return r.TypeError("time", *node, "a field name or an array of field names",
                         "write e.g. time = \"ts\" or time = [\"date\", \"time\"]");
    }
    RUNNEL_RETURN_IF_ERROR(r.ReadNonEmptyString("time_format", &source->time_format));
    if (source->time_format) RUNNEL_RETURN_IF_ERROR(CheckTimeFormat(r, *source->time_format));
    std::optional<std::string> unit_name;
    RUNNEL_RETURN_IF_ERROR(r.ReadString("time_unit", &unit_name));
    if (unit_name) {
      auto unit = ParseTimeUnit(*unit_name);
      if (!unit.ok()) return r.KeyError("time_unit", unit.status().message());
      source->time_unit = *unit;
    }
    if (source->time_arrival) {
      return RefuseKeys(r, {"time_unit", "time_format"},
                        "not used with time = \"arrival\" (remove it)");
    }
    if (source->time_format && unit_name) {
      return r.KeyError(r.LastOf({"time_unit", "time_format"}),
                        "time_unit and time_format exclude each other: time_format reads text "
                        "times (remove time_unit)");
    }
    const bool text_time = source->time_format || source->time_unit == TimeUnit::kIso8601;
    if (time_fields.size() > 1 && !text_time) {
      return r.KeyError("time",
                        "several fields are joined with a space into a text time, which needs "
                        "time_format (e.g. \"%d/%m/%Y %H:%M:%S\") or time_unit = \"iso8601\"");
    }
    const std::string reader = source->time_format
                                   ? std::string("time_format")
                                   : "time_unit = " + Double(unit_name.value_or("ms"));
    for (StringAt& field : time_fields) {
      auto it = std::find_if(source->fields.begin(), source->fields.end(),
                             [&](const FieldConfig& f) { return f.name == field.value; });
      if (it == source->fields.end()) {
        std::vector<std::string> names;
        for (const FieldConfig& f : source->fields) names.push_back(f.name);
        std::string hint = "declare it in fields";
        if (auto match = ClosestMatch(field.value, names))
          hint = "did you mean " + Single(*match) + "?";
        return r.ErrorAt(field.where, "time",
                         "field " + Single(field.value) + " is not in fields (" + hint + ")");
      }
      const bool numeric = it->type == ValueType::kInt || it->type == ValueType::kFloat;
      if (text_time && it->type != ValueType::kString) {
        return r.ErrorAt(field.where, "time",
                         "field " + Single(field.value) + " is declared \"" +
                             std::string(TypeName(it->type)) + "\", but " + reader +
                             " reads text (declare it \"string\")");
      }
      if (!text_time && !numeric) {
        return r.ErrorAt(field.where, "time",
                         "field " + Single(field.value) + " is declared \"" +
                             std::string(TypeName(it->type)) + "\", but " + reader +
                             " reads a number (declare it \"int\" or \"float\", or set "
                             "time_format or time_unit = \"iso8601\" for text times)");
      }
      source->time_fields.push_back(std::move(field.value));
    }
    return Status::Ok();
  }

  Status ParseView(TableReader& r, int index) {
    PeekName(r, "view");
    RUNNEL_RETURN_IF_ERROR(
        r.CheckKeys({"name", "from", "where", "select", "window", "group_by", "aggregate",
                     "asof_join", "dedup", "emit", "allowed_lateness", "late"}));
    ViewConfig view;
    view.where = r.where();
    RUNNEL_RETURN_IF_ERROR(ReadName(r, "view", "env_1m", &view.name));
    std::vector<Reference>& refs = view_refs_.emplace_back();

    const std::string_view first_kind = r.FirstOf({"window", "asof_join", "dedup"});
    const std::string_view last_kind = r.LastOf({"window", "asof_join", "dedup"});
    if (first_kind != last_kind) {
      return r.KeyError(last_kind, "a view applies one operator, and this one already has " +
                                       std::string(first_kind) +
                                       " (chain two views: the second reads the first with from)");
    }
    if (r.Has("asof_join")) {
      RUNNEL_RETURN_IF_ERROR(RefuseKeys(
          r, {"from"}, "an asof_join view reads asof_join.left and asof_join.right (remove from)"));
      RUNNEL_RETURN_IF_ERROR(RefuseKeys(
          r, {"where"},
          "not available with asof_join (filter an input in a view of its own, or the join's "
          "output in a view that reads this one)"));
      RUNNEL_RETURN_IF_ERROR(ParseAsofJoin(r, &view, &refs));
    } else {
      RUNNEL_RETURN_IF_ERROR(
          r.Require("from", "name the source or view this view reads, e.g. from = \"env\""));
      std::string from;
      RUNNEL_RETURN_IF_ERROR(r.ReadNonEmptyString("from", &from));
      refs.push_back(Reference{from, r.context(), "from", r.ValueWhere("from")});
      view.from = std::move(from);
    }

    RUNNEL_ASSIGN_OR_RETURN(std::optional<StringAt> filter, r.GetStringAt("where"));
    if (filter) {
      if (IsBlank(filter->value)) return r.KeyError("where", "empty expression");
      view.filter = ExprText{std::move(filter->value), std::move(filter->where)};
    }
    RUNNEL_ASSIGN_OR_RETURN(view.select, ReadExpressions(r, "select"));
    if (r.Has("dedup")) {
      RUNNEL_RETURN_IF_ERROR(RefuseKeys(r, {"select"},
                                        "not available with dedup, which passes whole records "
                                        "(project them in a view that reads this one)"));
      RUNNEL_RETURN_IF_ERROR(ParseDedup(r, &view));
    }

    if (r.Has("window")) {
      RUNNEL_RETURN_IF_ERROR(ParseWindow(r, &view));
      if (!r.Has("aggregate")) {
        return r.KeyError("window",
                          "a window needs aggregate (add e.g. aggregate = [\"n = "
                          "count()\"])");
      }
    } else {
      RUNNEL_RETURN_IF_ERROR(
          RefuseKeys(r, {"group_by", "aggregate"},
                     "needs a window (add e.g. window = { type = \"tumbling\", size = \"1m\" })"));
    }
    RUNNEL_RETURN_IF_ERROR(ReadFieldNames(r, "group_by", &view.group_by));
    RUNNEL_ASSIGN_OR_RETURN(view.aggregate, ReadExpressions(r, "aggregate"));

    const bool time_dependent = r.Has("window") || r.Has("asof_join") || r.Has("dedup");
    if (!time_dependent) {
      RUNNEL_RETURN_IF_ERROR(RefuseKeys(r, {"emit", "allowed_lateness", "late"},
                                        "only applies to views with window, asof_join or dedup "
                                        "(remove it)"));
    }
    RUNNEL_RETURN_IF_ERROR(r.ReadEnum<ConfigEmitMode>(
        "emit", {{"final", ConfigEmitMode::kFinal}, {"updates", ConfigEmitMode::kUpdates}},
        &view.emit));
    RUNNEL_RETURN_IF_ERROR(r.ReadDuration("allowed_lateness", false, &view.allowed_lateness));
    RUNNEL_RETURN_IF_ERROR(r.ReadIdentifier("late", &view.late));

    AddName(r, "name", view.name, "view " + Single(view.name), index);
    if (view.late) {
      AddName(r, "late", *view.late, "the late view of view " + Single(view.name), index);
    }
    config_->views.push_back(std::move(view));
    return Status::Ok();
  }

  Status ParseWindow(const TableReader& r, ViewConfig* view) {
    RUNNEL_ASSIGN_OR_RETURN(TableReader window_table, r.GetTable("window"));
    const TableReader* w = &window_table;
    RUNNEL_RETURN_IF_ERROR(w->CheckKeys({"type", "size", "hop", "gap"}));
    RUNNEL_RETURN_IF_ERROR(
        w->Require("type", "write type = \"tumbling\", \"sliding\" or \"session\""));
    WindowConfig window;
    window.where = w->where();
    RUNNEL_RETURN_IF_ERROR(w->ReadEnum<ConfigWindowType>("type",
                                                         {{"tumbling", ConfigWindowType::kTumbling},
                                                          {"sliding", ConfigWindowType::kSliding},
                                                          {"session", ConfigWindowType::kSession}},
                                                         &window.type));
    switch (window.type) {
      case ConfigWindowType::kTumbling:
        RUNNEL_RETURN_IF_ERROR(
            RefuseKeys(*w, {"hop", "gap"}, "does not apply to a tumbling window (remove it)"));
        RUNNEL_RETURN_IF_ERROR(
            w->Require("size", "a tumbling window needs size, e.g. size = \"1m\""));
        break;
      case ConfigWindowType::kSliding:
        RUNNEL_RETURN_IF_ERROR(
            RefuseKeys(*w, {"gap"}, "does not apply to a sliding window (remove it)"));
        RUNNEL_RETURN_IF_ERROR(w->Require(
            "size", "a sliding window needs size and hop, e.g. size = \"5m\", hop = \"1m\""));
        RUNNEL_RETURN_IF_ERROR(w->Require(
            "hop", "a sliding window needs size and hop, e.g. size = \"5m\", hop = \"1m\""));
        break;
      case ConfigWindowType::kSession:
        RUNNEL_RETURN_IF_ERROR(
            RefuseKeys(*w, {"size", "hop"}, "does not apply to a session window (remove it)"));
        RUNNEL_RETURN_IF_ERROR(w->Require("gap", "a session window needs gap, e.g. gap = \"30s\""));
        break;
    }
    RUNNEL_RETURN_IF_ERROR(w->ReadDuration("size", true, &window.size));
    RUNNEL_RETURN_IF_ERROR(w->ReadDuration("hop", true, &window.hop));
    RUNNEL_RETURN_IF_ERROR(w->ReadDuration("gap", true, &window.gap));
    if (window.type == ConfigWindowType::kSliding && window.hop > window.size) {
      return w->KeyError("hop",
                         "must not be longer than size (records between windows would "
                         "belong to none)");
    }
    view->window = window;
    return Status::Ok();
  }

  Status ParseAsofJoin(const TableReader& r, ViewConfig* view, std::vector<Reference>* refs) {
    RUNNEL_ASSIGN_OR_RETURN(TableReader asof_join_table, r.GetTable("asof_join"));
    const TableReader* a = &asof_join_table;
    RUNNEL_RETURN_IF_ERROR(a->CheckKeys(
        {"left", "right", "by", "direction", "tolerance", "allow_exact", "keep_unmatched"}));
    AsofJoinConfig join;
    join.where = a->where();
    for (std::string_view side : {"left", "right"}) {
      RUNNEL_RETURN_IF_ERROR(a->Require(side, "name the " + std::string(side) + " input, e.g. " +
                                                  std::string(side) + " = \"env\""));
      std::string& input = side == "left" ? join.left : join.right;
      RUNNEL_RETURN_IF_ERROR(a->ReadNonEmptyString(side, &input));
      refs->push_back(Reference{input, r.context(), a->KeyPath(side), a->ValueWhere(side)});
    }
    RUNNEL_RETURN_IF_ERROR(ReadFieldNames(*a, "by", &join.by));
    RUNNEL_RETURN_IF_ERROR(a->ReadEnum<AsofDirection>("direction",
                                                      {{"backward", AsofDirection::kBackward},
                                                       {"forward", AsofDirection::kForward},
                                                       {"nearest", AsofDirection::kNearest}},
                                                      &join.direction));
    RUNNEL_RETURN_IF_ERROR(a->ReadDuration("tolerance", false, &join.tolerance));
    RUNNEL_RETURN_IF_ERROR(a->ReadBool("allow_exact", &join.allow_exact));
    RUNNEL_RETURN_IF_ERROR(a->ReadBool("keep_unmatched", &join.keep_unmatched));
    view->asof_join = std::move(join);
    return Status::Ok();
  }

  Status ParseDedup(const TableReader& r, ViewConfig* view) {
    RUNNEL_ASSIGN_OR_RETURN(TableReader dedup_table, r.GetTable("dedup"));
    const TableReader* d = &dedup_table;
    RUNNEL_RETURN_IF_ERROR(d->CheckKeys({"by", "within"}));
    RUNNEL_RETURN_IF_ERROR(
        d->Require("by", "list the key fields, e.g. by = [\"device\", \"seq\"]"));
    RUNNEL_RETURN_IF_ERROR(
        d->Require("within", "bound the time to remember keys, e.g. within = \"1h\""));
    DedupConfig dedup;
    dedup.where = d->where();
    RUNNEL_RETURN_IF_ERROR(ReadFieldNames(*d, "by", &dedup.by));
    if (dedup.by.empty()) {
      return d->KeyError("by", "empty list (list the key fields, e.g. by = [\"device\", \"seq\"])");
    }
    RUNNEL_RETURN_IF_ERROR(d->ReadDuration("within", true, &dedup.within));
    view->dedup = std::move(dedup);
    return Status::Ok();
  }

  Status ParseSink(TableReader& r, int /*index*/) {
    RUNNEL_RETURN_IF_ERROR(
        r.CheckKeys({"from", "table", "file", "stdout", "topic", "format", "qos", "retain",
                     "broker", "username", "password_file", "tls", "outbox_limit"}));
    SinkConfig sink;
    sink.where = r.where();
    RUNNEL_RETURN_IF_ERROR(
        r.Require("from", "name the view or source to write, e.g. from = \"env_1m\""));
    RUNNEL_RETURN_IF_ERROR(r.ReadNonEmptyString("from", &sink.from));
    sink_refs_.push_back(Reference{sink.from, r.context(), "from", r.ValueWhere("from")});

    const std::string_view first = r.FirstOf({"table", "file", "stdout", "topic"});
    const std::string_view last = r.LastOf({"table", "file", "stdout", "topic"});
    if (first.empty()) {
      return r.TableError("missing a target (set one of table, file, stdout = true or topic)");
    }
    if (first != last) {
      return r.KeyError(last, "a sink writes to one target, and this one already has " +
                                  std::string(first) + " (use one [[sink]] per target)");
    }
    if (first != "topic") {
      RUNNEL_RETURN_IF_ERROR(RefuseKeys(
          r, {"qos", "retain", "broker", "username", "password_file", "tls", "outbox_limit"},
          "only applies to MQTT sinks, which have topic (remove it)"));
    }
    if (first != "file" && first != "stdout") {
      RUNNEL_RETURN_IF_ERROR(
          RefuseKeys(r, {"format"}, "only applies to file and stdout sinks (remove it)"));
    }
    if (first == "table") {
      sink.kind = SinkKind::kTable;
      RUNNEL_RETURN_IF_ERROR(r.ReadIdentifier("table", &sink.target));
      if (sink.target.starts_with("sqlite_") || sink.target.starts_with("runnel_")) {
        return r.KeyError("table", Single(sink.target) +
                                       " is reserved: names starting with sqlite_ or runnel_ "
                                       "belong to the state database itself (choose another "
                                       "name)");
      }
      auto [it, inserted] = tables_.emplace(sink.target, r.ValueWhere("table"));
      if (!inserted) {
        return r.KeyError("table", "table " + Single(sink.target) +
                                       " is already written by the sink at line " +
                                       std::to_string(it->second.line) +
                                       " (each table has one writer: choose another name)");
      }
    } else if (first == "file") {
      std::string written;
      RUNNEL_RETURN_IF_ERROR(r.ReadNonEmptyString("file", &written));
      sink.kind = written == "-" ? SinkKind::kStdout : SinkKind::kFile;
      sink.target = file_.ResolvePath(written);
      RUNNEL_RETURN_IF_ERROR(ReadFileFormat(r, "file", written, written == "-", &sink.format));
      if (sink.kind == SinkKind::kFile) {
        auto [it, inserted] = files_.emplace(sink.target, r.ValueWhere("file"));
        if (!inserted) {
          return r.KeyError("file", Double(written) + " is already written by the sink at line " +
                                        std::to_string(it->second.line) +
                                        " (write each file from one sink)");
        }
      }
    } else if (first == "stdout") {
      bool enabled = false;
      RUNNEL_RETURN_IF_ERROR(r.ReadBool("stdout", &enabled));
      if (!enabled) {
        return r.KeyError("stdout",
                          "only stdout = true means something (remove the sink, or give it "
                          "another target)");
      }
      sink.kind = SinkKind::kStdout;
      sink.target = "-";
      RUNNEL_RETURN_IF_ERROR(ReadFileFormat(r, "stdout", "-", true, &sink.format));
    } else {
      RUNNEL_RETURN_IF_ERROR(ParseMqttSink(r, &sink));
    }
    config_->sinks.push_back(std::move(sink));
    return Status::Ok();
  }

  Status ParseMqttSink(const TableReader& r, SinkConfig* sink) {
    sink->kind = SinkKind::kMqtt;
    RUNNEL_RETURN_IF_ERROR(r.ReadNonEmptyString("topic", &sink->target));
    if (sink->target.find_first_of("+#") != std::string::npos) {
      return r.KeyError("topic", Double(sink->target) +
                                     " contains a wildcard (+ and # only work in "
                                     "subscriptions: write a concrete topic)");
    }
    RUNNEL_ASSIGN_OR_RETURN(std::optional<int64_t> qos, r.GetInt("qos", 0, 2));
    if (qos) sink->qos = static_cast<int>(*qos);
    RUNNEL_RETURN_IF_ERROR(r.ReadBool("retain", &sink->retain));
    RUNNEL_RETURN_IF_ERROR(
        r.ReadInt("outbox_limit", 1, std::numeric_limits<int64_t>::max(), &sink->outbox_limit));
    RUNNEL_RETURN_IF_ERROR(ReadBroker(r, "broker", &sink->broker));
    if (!sink->broker) {
      return RefuseKeys(r, {"username", "password_file", "tls"},
                        "only applies with the sink's own broker (set broker, or configure the "
                        "shared connection in [mqtt])");
    }
    RUNNEL_RETURN_IF_ERROR(r.ReadNonEmptyString("username", &sink->username));
    RUNNEL_RETURN_IF_ERROR(r.ReadPath("password_file", &sink->password_file));
    return ReadTls(r, &sink->tls);
  }

  // Names of sources, views and late views are one namespace; reported in document order.
  Status CheckNames() {
    std::vector<const NameEntry*> ordered;
    for (const NameEntry& entry : names_) ordered.push_back(&entry);
    std::stable_sort(ordered.begin(), ordered.end(), [](const NameEntry* a, const NameEntry* b) {
      return a->where.line != b->where.line ? a->where.line < b->where.line
                                            : a->where.column < b->where.column;
    });
    std::map<std::string, const NameEntry*> seen;
    for (const NameEntry* entry : ordered) {
      auto status = status_views_.find(entry->name);
      if (status != status_views_.end()) {
        return ConfigError(entry->where, entry->context, entry->key_path,
                           Single(entry->name) + " is the device status view of source " +
                               Single(status->second) + " (choose another name)");
      }
      auto [it, inserted] = seen.emplace(entry->name, entry);
      if (!inserted) {
        return ConfigError(entry->where, entry->context, entry->key_path,
                           Single(entry->name) + " is already the name of " +
                               it->second->description + " at line " +
                               std::to_string(it->second->where.line) +
                               " (sources, views and late views need distinct names)");
      }
    }
    return Status::Ok();
  }

  Status CheckReference(const Reference& ref) const {
    for (const NameEntry& entry : names_) {
      if (entry.name == ref.name) return Status::Ok();
    }
    if (status_views_.count(ref.name)) return Status::Ok();
    std::vector<std::string> known;
    for (const NameEntry& entry : names_) known.push_back(entry.name);
    for (const auto& [name, source] : status_views_) known.push_back(name);
    std::string hint;
    if (auto match = ClosestMatch(ref.name, known)) {
      hint = "did you mean " + Single(*match) + "?";
    } else if (known.empty()) {
      hint = "define a [[source]] first";
    } else {
      std::vector<std::string> quoted;
      for (const std::string& name : known) quoted.push_back(Single(name));
      hint = "name one of " + JoinWords(quoted, ", ");
    }
    return ConfigError(ref.where, ref.context, ref.key_path,
                       "unknown input " + Single(ref.name) + " (" + hint + ")");
  }

  Status CheckReferences() const {
    for (const std::vector<Reference>& refs : view_refs_) {
      for (const Reference& ref : refs) RUNNEL_RETURN_IF_ERROR(CheckReference(ref));
    }
    for (const Reference& ref : sink_refs_) RUNNEL_RETURN_IF_ERROR(CheckReference(ref));
    return Status::Ok();
  }

  // The view computing `name` (a view's own name or its late view's), or -1 for sources.
  int Producer(const std::string& name) const {
    for (const NameEntry& entry : names_) {
      if (entry.name == name) return entry.producer;
    }
    return -1;
  }

  // Depth-first from each view in file order, inputs first: a view whose inputs already come
  // before it stays where it was written, and a dependency moves up just before its first
  // reader. A back edge is a cycle.
  Status OrderViews() {
    const int n = static_cast<int>(config_->views.size());
    std::vector<int> state(n, 0);  // 0 unvisited, 1 on the path, 2 placed
    std::vector<int> order;
    std::vector<int> path;
    std::vector<const Reference*> path_refs;  // path_refs[k]: how path[k] reads path[k + 1]
    std::function<Status(int)> visit = [&](int v) -> Status {
      state[v] = 1;
      path.push_back(v);
      for (const Reference& ref : view_refs_[v]) {
        const int input = Producer(ref.name);
        if (input < 0 || state[input] == 2) continue;
        path_refs.push_back(&ref);
        if (state[input] == 1) return CycleError(path, path_refs, input);
        RUNNEL_RETURN_IF_ERROR(visit(input));
        path_refs.pop_back();
      }
      state[v] = 2;
      order.push_back(v);
      path.pop_back();
      return Status::Ok();
    };
    for (int v = 0; v < n; ++v) {
      if (state[v] == 0) RUNNEL_RETURN_IF_ERROR(visit(v));
    }
    std::vector<ViewConfig> views;
    for (int v : order) views.push_back(std::move(config_->views[v]));
    config_->views = std::move(views);
    return Status::Ok();
  }

  // Names the cycle from its view written first, following reads: "view 'a' -> view 'b' ->
  // view 'a'" means a reads b and b reads a. The error points at the first view's reference.
  Status CycleError(const std::vector<int>& path, const std::vector<const Reference*>& path_refs,
                    int start) const {
    const size_t begin = std::find(path.begin(), path.end(), start) - path.begin();
    std::vector<int> cycle(path.begin() + begin, path.end());
    std::vector<const Reference*> refs(path_refs.begin() + begin, path_refs.end());
    const size_t first = std::min_element(cycle.begin(), cycle.end()) - cycle.begin();
    std::rotate(cycle.begin(), cycle.begin() + first, cycle.end());
    std::rotate(refs.begin(), refs.begin() + first, refs.end());
    std::string chain = "view " + Single(config_->views[cycle[0]].name);
    for (size_t k = 0; k < cycle.size(); ++k) {
      const int next = cycle[(k + 1) % cycle.size()];
      const std::string& next_name = config_->views[next].name;
      if (refs[k]->name != next_name) chain += " -> late view " + Single(refs[k]->name);
      chain += " -> view " + Single(next_name);
    }
    const Reference& at = *refs[0];
    return ConfigError(
        at.where, at.context, at.key_path,
        "dependency cycle " + chain + " (a view cannot read its own output: break the cycle)");
  }

  // MQTT sources and sinks without a broker of their own use [mqtt], or its defaults.
  void AddDefaultMqtt() {
    if (config_->mqtt) return;
    bool needed = false;
    for (const SourceConfig& source : config_->sources) {
      needed = needed || source.kind == SourceKind::kMqtt;
    }
    for (const SinkConfig& sink : config_->sinks) {
      needed = needed || (sink.kind == SinkKind::kMqtt && !sink.broker);
    }
    if (needed) config_->mqtt = MqttConfig{};
  }

  const SourceFile& file_;
  TableReader root_;
  PipelineConfig* config_;
  std::vector<NameEntry> names_;
  std::map<std::string, std::string> status_views_;  // "<source>_status" -> source
  std::vector<std::vector<Reference>> view_refs_;    // by view index in file order
  std::vector<Reference> sink_refs_;
  std::map<std::string, ConfigLocation> tables_, files_;
};

}  // namespace

Result<PipelineConfig> ParsePipeline(std::string_view text, const std::string& path) {
  PipelineConfig config;
  config.path = path;
  const SourceFile file = SourceFileOf(path);
  config.directory = file.directory;
  RUNNEL_ASSIGN_OR_RETURN(const toml::table root, ParseTomlText(text, path));
  PipelineParser parser(file, root, &config);
  RUNNEL_RETURN_IF_ERROR(parser.Parse());
  return config;
}

Result<PipelineConfig> LoadPipelineFile(const std::string& path) {
  RUNNEL_ASSIGN_OR_RETURN(const std::string text, ReadConfigText(path, "pipeline file"));
  return ParsePipeline(text, path);
}

}  // namespace runnel
