#include "web/api_documents.h"

#include <map>
#include <optional>

#include "web/json_out.h"

namespace runnel {

namespace {

void WriteColumns(JsonOut& j, const Schema& schema) {
  j.Key("columns").BeginArray();
  for (const Column& c : schema.columns()) {
    j.BeginObject().Key("name").String(c.name).Key("type").String(TypeName(c.type)).EndObject();
  }
  j.EndArray();
}

void WriteOptional(JsonOut& j, std::string_view key, const std::optional<int64_t>& v) {
  j.Key(key);
  if (v) {
    j.Int(*v);
  } else {
    j.Null();
  }
}

void WriteOptional(JsonOut& j, std::string_view key, const std::optional<uint64_t>& v) {
  j.Key(key);
  if (v) {
    j.UInt(*v);
  } else {
    j.Null();
  }
}

const SourceTelemetry* FindSource(const TelemetrySnapshot* s, const std::string& name) {
  if (!s) return nullptr;
  for (const SourceTelemetry& t : s->sources) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const ViewTelemetry* FindView(const TelemetrySnapshot* s, const std::string& name) {
  if (!s) return nullptr;
  for (const ViewTelemetry& t : s->views) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

void WriteStream(JsonOut& j, const Telemetry& telemetry, const TelemetrySnapshot* snapshot,
                 const StreamShape& stream) {
  j.BeginObject();
  j.Key("name").String(stream.name).Key("kind").String(stream.kind);
  j.Key("description").String(stream.description);
  j.Key("inputs").BeginArray();
  for (const std::string& in : stream.inputs) j.String(in);
  j.EndArray();
  WriteColumns(j, stream.schema);
  if (const ChangeFeed* feed = telemetry.feed(stream.name)) {
    j.Key("sequence").UInt(feed->last_sequence());
  }
  if (stream.kind == "source") {
    if (const SourceTelemetry* t = FindSource(snapshot, stream.name)) {
      j.Key("records").UInt(t->records).Key("rejects").UInt(t->rejects);
      j.Key("rate").Double(t->rate).Key("watermark").Watermark(t->watermark);
      WriteOptional(j, "lag_ms", t->lag);
    }
  } else if (const ViewTelemetry* t = FindView(snapshot, stream.name)) {
    j.Key("rows_emitted").UInt(t->rows_emitted).Key("late_records").UInt(t->late_records);
    j.Key("state_entries").UInt(t->state_entries).Key("duplicates").UInt(t->duplicates);
    j.Key("watermark").Watermark(t->watermark);
  }
  j.EndObject();
}

void WriteStreams(JsonOut& j, const Telemetry& telemetry, const TelemetrySnapshot* snapshot,
                  bool sources) {
  j.BeginArray();
  for (const StreamShape& s : telemetry.streams()) {
    if ((s.kind == "source") == sources) WriteStream(j, telemetry, snapshot, s);
  }
  j.EndArray();
}

void WriteStatus(JsonOut& j, const Telemetry& telemetry, const TelemetrySnapshot* snapshot) {
  j.BeginObject();
  j.Key("version").String(RUNNEL_VERSION);
  if (snapshot) {
    j.Key("snapshot").UInt(snapshot->sequence).Key("taken_at").Int(snapshot->taken_at);
    j.Key("steps").UInt(snapshot->steps);
    const ProcessTelemetry& p = snapshot->process;
    j.Key("process").BeginObject();
    j.Key("rss_bytes").UInt(p.rss_bytes).Key("cpu_seconds").Double(p.cpu_seconds);
    j.Key("uptime_seconds").Double(p.uptime_seconds).EndObject();
    WriteOptional(j, "checkpoint_age_ms", snapshot->checkpoint_age);
    std::optional<uint64_t> outbox;
    for (const SinkTelemetry& s : snapshot->sinks) {
      if (s.outbox_depth) outbox = outbox.value_or(0) + *s.outbox_depth;
    }
    WriteOptional(j, "outbox_depth", outbox);
  }
  j.Key("sources");
  WriteStreams(j, telemetry, snapshot, true);
  j.Key("views");
  WriteStreams(j, telemetry, snapshot, false);
  j.Key("sinks").BeginArray();
  for (size_t i = 0; i < telemetry.sinks().size(); ++i) {
    const SinkShape& shape = telemetry.sinks()[i];
    j.BeginObject().Key("from").String(shape.from).Key("description").String(shape.description);
    if (snapshot && i < snapshot->sinks.size()) {
      const SinkTelemetry& s = snapshot->sinks[i];
      j.Key("rows_written").UInt(s.rows_written);
      WriteOptional(j, "outbox_depth", s.outbox_depth);
      WriteOptional(j, "outbox_overflow", s.outbox_overflow);
    }
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
}

void WriteValues(JsonOut& j, const Row& row) {
  j.Key("values").BeginArray();
  for (const Value& v : row) j.Val(v);
  j.EndArray();
}

void WriteChanges(JsonOut& j, const StreamShape& stream, const ChangeFeed::Page& page) {
  j.Key("view").String(stream.name);
  WriteColumns(j, stream.schema);
  j.Key("next").UInt(page.next).Key("gap").Bool(page.gap);
  j.Key("changes").BeginArray();
  for (const FeedChange& c : page.changes) {
    j.BeginObject().Key("sequence").UInt(c.sequence).Key("time").Int(c.time);
    j.Key("diff").Int(c.diff);
    WriteValues(j, c.row);
    j.EndObject();
  }
  j.EndArray();
}

// A rejected payload is shown as text when it is UTF-8, else as hex.
bool IsUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t extra = c < 0x80             ? 0
                         : (c & 0xe0) == 0xc0 ? 1
                         : (c & 0xf0) == 0xe0 ? 2
                         : (c & 0xf8) == 0xf0 ? 3
                                              : 4;
    if (extra == 4 || i + extra >= s.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string Hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

}  // namespace

std::string ErrorDocument(int status, std::string_view code, std::string_view message) {
  JsonOut j;
  j.BeginObject().Key("error").BeginObject();
  j.Key("status").Int(status).Key("code").String(code).Key("message").String(message);
  j.EndObject().EndObject();
  return j.Take();
}

std::string StatusDocument(const Telemetry& telemetry, const TelemetrySnapshot* snapshot) {
  JsonOut j;
  WriteStatus(j, telemetry, snapshot);
  return j.Take();
}

std::string SourcesDocument(const Telemetry& telemetry, const TelemetrySnapshot* snapshot) {
  JsonOut j;
  j.BeginObject().Key("sources");
  WriteStreams(j, telemetry, snapshot, true);
  j.EndObject();
  return j.Take();
}

std::string ViewsDocument(const Telemetry& telemetry, const TelemetrySnapshot* snapshot) {
  JsonOut j;
  j.BeginObject().Key("views");
  WriteStreams(j, telemetry, snapshot, false);
  j.EndObject();
  return j.Take();
}

std::string StreamDocument(const Telemetry& telemetry, const TelemetrySnapshot* snapshot,
                           const StreamShape& stream) {
  JsonOut j;
  WriteStream(j, telemetry, snapshot, stream);
  return j.Take();
}

std::string GraphDocument(const Telemetry& telemetry) {
  JsonOut j;
  j.BeginObject().Key("nodes").BeginArray();
  for (const StreamShape& s : telemetry.streams()) {
    j.BeginObject().Key("id").String(s.name).Key("name").String(s.name);
    j.Key("kind").String(s.kind).Key("description").String(s.description).EndObject();
  }
  for (size_t i = 0; i < telemetry.sinks().size(); ++i) {
    const SinkShape& sink = telemetry.sinks()[i];
    j.BeginObject().Key("id").String("sink:" + std::to_string(i));
    j.Key("name").String(sink.description).Key("kind").String("sink");
    j.Key("description").String(sink.description).EndObject();
  }
  j.EndArray().Key("edges").BeginArray();
  for (const StreamShape& s : telemetry.streams()) {
    for (const std::string& in : s.inputs) {
      j.BeginObject().Key("from").String(in).Key("to").String(s.name).EndObject();
    }
  }
  for (size_t i = 0; i < telemetry.sinks().size(); ++i) {
    j.BeginObject().Key("from").String(telemetry.sinks()[i].from);
    j.Key("to").String("sink:" + std::to_string(i)).EndObject();
  }
  j.EndArray().EndObject();
  return j.Take();
}

std::string RowsDocument(const StreamShape& stream, const ChangeFeed::Rows& rows) {
  JsonOut j;
  j.BeginObject().Key("view").String(stream.name);
  WriteColumns(j, stream.schema);
  j.Key("sequence").UInt(rows.sequence).Key("total").UInt(rows.total);
  j.Key("evicted").UInt(rows.evicted);
  j.Key("rows").BeginArray();
  for (const FeedRow& r : rows.rows) {
    j.BeginObject().Key("sequence").UInt(r.sequence).Key("time").Int(r.time);
    j.Key("count").Int(r.count);
    WriteValues(j, r.row);
    j.EndObject();
  }
  j.EndArray().EndObject();
  return j.Take();
}

std::string ChangesDocument(const StreamShape& stream, const ChangeFeed::Page& page) {
  JsonOut j;
  j.BeginObject();
  WriteChanges(j, stream, page);
  j.EndObject();
  return j.Take();
}

std::string DevicesDocument(const Telemetry& telemetry) {
  JsonOut j;
  j.BeginObject().Key("devices").BeginArray();
  for (const StreamShape& view : telemetry.streams()) {
    if (view.kind != "status view") continue;
    const auto device_col = view.schema.IndexOf("device");
    const ChangeFeed* feed = telemetry.feed(view.name);
    if (!device_col || !feed) continue;
    // The latest record of each device, from the status view's source.
    std::map<Value, Row> latest;
    const StreamShape* source =
        view.inputs.empty() ? nullptr : telemetry.FindStream(view.inputs.front());
    std::optional<size_t> source_device;
    if (source) source_device = source->schema.IndexOf("device");
    if (source && source_device) {
      for (const FeedRow& r : telemetry.feed(source->name)->CurrentRows(SIZE_MAX).rows) {
        latest.emplace(r.row[*source_device], r.row);  // newest first: the first one wins
      }
    }
    for (const FeedRow& r : feed->CurrentRows(SIZE_MAX).rows) {
      j.BeginObject().Key("view").String(view.name);
      for (size_t c = 0; c < view.schema.size(); ++c)
        j.Key(view.schema.column(c).name).Val(r.row[c]);
      j.Key("values");
      auto it = latest.find(r.row[*device_col]);
      if (it == latest.end()) {
        j.Null();
      } else {
        j.BeginObject();
        for (size_t c = 0; c < source->schema.size(); ++c) {
          j.Key(source->schema.column(c).name).Val(it->second[c]);
        }
        j.EndObject();
      }
      j.EndObject();
    }
  }
  j.EndArray().EndObject();
  return j.Take();
}

std::string RejectsDocument(const std::vector<RejectedPayload>& rejects) {
  JsonOut j;
  j.BeginObject().Key("rejects").BeginArray();
  for (const RejectedPayload& r : rejects) {
    j.BeginObject().Key("id").Int(r.id).Key("source").String(r.source);
    j.Key("topic").String(r.topic).Key("arrival").Int(r.arrival).Key("reason").String(r.reason);
    j.Key("payload_bytes").Int(r.payload_bytes);
    j.Key("truncated").Bool(r.payload_bytes > static_cast<int64_t>(r.payload.size()));
    if (IsUtf8(r.payload)) {
      j.Key("payload").String(r.payload);
    } else {
      j.Key("payload").Null().Key("payload_hex").String(Hex(r.payload));
    }
    j.EndObject();
  }
  j.EndArray();
  if (!rejects.empty()) j.Key("next_before").Int(rejects.back().id);
  j.EndObject();
  return j.Take();
}

std::string MetricsMessage(const Telemetry& telemetry, const TelemetrySnapshot* snapshot) {
  JsonOut j;
  j.BeginObject().Key("type").String("metrics").Key("status");
  WriteStatus(j, telemetry, snapshot);
  j.EndObject();
  return j.Take();
}

std::string ChangesMessage(const StreamShape& stream, const ChangeFeed::Page& page) {
  JsonOut j;
  j.BeginObject().Key("type").String("changes");
  WriteChanges(j, stream, page);
  j.EndObject();
  return j.Take();
}

std::string ResyncMessage(const StreamShape& stream, std::string_view reason) {
  JsonOut j;
  j.BeginObject().Key("type").String("resync").Key("view").String(stream.name);
  j.Key("reason").String(reason).EndObject();
  return j.Take();
}

}  // namespace runnel
