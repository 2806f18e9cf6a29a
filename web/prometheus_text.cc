#include "web/prometheus_text.h"

#include <functional>
#include <string_view>

namespace runnel {

namespace {

std::string LabelValue(std::string_view v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

std::string Number(uint64_t v) { return std::to_string(v); }

std::string WatermarkNumber(Timestamp t) {
  if (t == kMinTime) return "-Inf";
  if (t == kMaxTime) return "+Inf";
  return std::to_string(t);
}

class Exposition {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    out_ += "# HELP " + name_ + " " + std::string(help) + "\n";
    out_ += "# TYPE " + name_ + " " + std::string(type) + "\n";
  }
  void Sample(std::string_view label, std::string_view value_of_label, const std::string& v) {
    out_ += name_;
    if (!label.empty()) {
      out_ += "{" + std::string(label) + "=\"" + LabelValue(value_of_label) + "\"}";
    }
    out_ += " " + v + "\n";
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
  std::string name_;
};

}  // namespace

std::string PrometheusText(const TelemetrySnapshot* snapshot, const LiveUpdateStats& live) {
  Exposition e;
  if (snapshot) {
    const auto per_source = [&](std::string_view name, std::string_view type, std::string_view help,
                                const std::function<std::string(const SourceTelemetry&)>& get) {
      e.Family(name, type, help);
      for (const SourceTelemetry& s : snapshot->sources) e.Sample("source", s.name, get(s));
    };
    per_source("runnel_source_records_total", "counter",
               "Records the source emitted into the pipeline.",
               [](const SourceTelemetry& s) { return Number(s.records); });
    per_source("runnel_source_rejects_total", "counter",
               "Malformed lines or payloads the source counted and skipped.",
               [](const SourceTelemetry& s) { return Number(s.rejects); });
    per_source("runnel_source_records_per_second", "gauge",
               "Records per second over the last snapshot interval.",
               [](const SourceTelemetry& s) { return Number(s.rate); });
    per_source("runnel_source_watermark_milliseconds", "gauge",
               "The source's watermark in epoch milliseconds.",
               [](const SourceTelemetry& s) { return WatermarkNumber(s.watermark); });
    e.Family("runnel_source_lag_seconds", "gauge",
             "Wall clock minus the source's watermark (absent while it is infinite).");
    for (const SourceTelemetry& s : snapshot->sources) {
      if (s.lag) e.Sample("source", s.name, Number(static_cast<double>(*s.lag) / 1000.0));
    }

    const auto per_view = [&](std::string_view name, std::string_view type, std::string_view help,
                              const std::function<std::string(const ViewTelemetry&)>& get) {
      e.Family(name, type, help);
      for (const ViewTelemetry& v : snapshot->views) e.Sample("view", v.name, get(v));
    };
    per_view("runnel_view_changes_total", "counter",
             "Changes (inserts and retractions) the view emitted.",
             [](const ViewTelemetry& v) { return Number(v.rows_emitted); });
    per_view("runnel_view_late_records_total", "counter", "Records the view dropped as too late.",
             [](const ViewTelemetry& v) { return Number(v.late_records); });
    per_view("runnel_view_duplicates_total", "counter",
             "Records a dedup view dropped as duplicates.",
             [](const ViewTelemetry& v) { return Number(v.duplicates); });
    per_view("runnel_view_state_entries", "gauge", "Windows, keys or rows the view holds.",
             [](const ViewTelemetry& v) { return Number(v.state_entries); });
    per_view("runnel_view_watermark_milliseconds", "gauge",
             "The view's output watermark in epoch milliseconds.",
             [](const ViewTelemetry& v) { return WatermarkNumber(v.watermark); });

    e.Family("runnel_sink_rows_written_total", "counter", "Changes the sink wrote.");
    for (const SinkTelemetry& s : snapshot->sinks) {
      e.Sample("sink", s.description, Number(s.rows_written));
    }
    e.Family("runnel_sink_outbox_depth", "gauge",
             "MQTT sink messages waiting in the outbox for the broker.");
    for (const SinkTelemetry& s : snapshot->sinks) {
      if (s.outbox_depth) e.Sample("sink", s.description, Number(*s.outbox_depth));
    }
    e.Family("runnel_sink_outbox_overflow_total", "counter",
             "MQTT sink messages dropped because the outbox was full.");
    for (const SinkTelemetry& s : snapshot->sinks) {
      if (s.outbox_overflow) e.Sample("sink", s.description, Number(*s.outbox_overflow));
    }

    e.Family("runnel_process_resident_memory_bytes", "gauge", "Resident set size.");
    e.Sample("", "", Number(snapshot->process.rss_bytes));
    e.Family("runnel_process_cpu_seconds_total", "counter", "User and system CPU time.");
    e.Sample("", "", Number(snapshot->process.cpu_seconds));
    e.Family("runnel_uptime_seconds", "gauge", "Seconds since the run started.");
    e.Sample("", "", Number(snapshot->process.uptime_seconds));
    e.Family("runnel_engine_steps_total", "counter", "Engine steps run.");
    e.Sample("", "", Number(snapshot->steps));
    if (snapshot->checkpoint_age) {
      e.Family("runnel_checkpoint_age_seconds", "gauge", "Seconds since the last checkpoint.");
      e.Sample("", "", Number(static_cast<double>(*snapshot->checkpoint_age) / 1000.0));
    }
  }
  e.Family("runnel_dashboard_websocket_clients", "gauge", "Connected live-update clients.");
  e.Sample("", "", Number(live.clients));
  e.Family("runnel_dashboard_websocket_skipped_total", "counter",
           "Times a slow live-update client was skipped because its queue was full.");
  e.Sample("", "", Number(live.skipped));
  e.Family("runnel_dashboard_websocket_disconnected_total", "counter",
           "Live-update clients disconnected for being too slow.");
  e.Sample("", "", Number(live.disconnected));
  return e.Take();
}

}  // namespace runnel
