#include "io/record_file_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace runnel {

// ---- EventTimeRule ----

Result<EventTimeRule> EventTimeRule::Create(const FileSourceSpec& spec, const Clock* clock) {
  EventTimeRule rule;
  rule.clock_ = clock;
  rule.unit_ = spec.time_unit;
  rule.format_ = spec.time_format;
  rule.nulls_ = NullValues(spec.null_values);
  if (spec.time_arrival) {
    if (!spec.time_fields.empty()) {
      return Status::Invalid("time = \"arrival\" cannot be combined with time fields");
    }
    rule.kind_ = Kind::kArrival;
    return rule;
  }
  if (spec.time_fields.empty()) {
    return Status::Invalid("no time field (set time = \"FIELD\", or time = \"arrival\")");
  }
  for (const std::string& name : spec.time_fields) {
    size_t index = 0;
    while (index < spec.fields.size() && spec.fields[index].name != name) ++index;
    if (index == spec.fields.size()) {
      return Status::Invalid("time field '" + name + "' is not among the declared fields");
    }
    if (spec.fields[index].type == ValueType::kBool) {
      return Status::Invalid("time field '" + name + "' is declared bool");
    }
    rule.fields_.push_back(index);
    rule.names_.push_back(name);
    rule.description_ += (rule.description_.empty() ? "'" : " '") + name + "'";
  }
  if (spec.time_fields.size() == 1) {
    rule.kind_ = Kind::kSingle;
    rule.description_ = "time field " + rule.description_;
  } else {
    rule.kind_ = Kind::kJoined;
    rule.description_ = "time fields " + rule.description_;
  }
  return rule;
}

Status EventTimeRule::Missing(size_t which) const {
  if (kind_ == Kind::kSingle) return Status::Invalid(description_ + " is missing");
  return Status::Invalid(description_ + ": '" + names_[which] + "' is missing");
}

Status EventTimeRule::Context(const Status& status) const {
  return Status::Invalid(description_ + ": " + status.message());
}

bool EventTimeRule::Fail(const Status& status, std::string* reason) const {
  *reason = status.message();
  return false;
}

namespace {

std::string_view UnitName(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kSeconds:
      return "seconds";
    case TimeUnit::kMillis:
      return "milliseconds";
    case TimeUnit::kMicros:
      return "microseconds";
    case TimeUnit::kNanos:
      return "nanoseconds";
    case TimeUnit::kIso8601:
      return "ISO 8601";
  }
  return "?";
}

}  // namespace

bool EventTimeRule::FromText(std::string_view text, Timestamp* out, std::string* reason) const {
  if (!format_ && unit_ != TimeUnit::kIso8601) {
    // Integer epoch times are the common case: convert inline; NormalizeTime has the errors.
    int64_t i = 0;
    if (TryParseInt(text, &i) && (nulls_.empty() || !nulls_.Contains(text))) {
      switch (unit_) {
        case TimeUnit::kMillis:
          *out = i;
          return true;
        case TimeUnit::kSeconds:
          if (__builtin_mul_overflow(i, int64_t{1000}, out)) break;
          return true;
        case TimeUnit::kMicros:
          *out = FloorDiv(i, 1'000);
          return true;
        case TimeUnit::kNanos:
          *out = FloorDiv(i, 1'000'000);
          return true;
        case TimeUnit::kIso8601:
          break;
      }
    }
  }
  const std::string_view t = TrimSpaces(text);
  if (t.empty() || (!nulls_.empty() && nulls_.Contains(text))) return Fail(Missing(), reason);
  Status status = FromTextSlow(t, out);
  return status.ok() || Fail(status, reason);
}

Status EventTimeRule::FromTextSlow(std::string_view t, Timestamp* out) const {
  Result<Timestamp> parsed = Timestamp{0};
  if (format_) {
    parsed = ParseTimeWithFormat(t, *format_);
  } else if (unit_ == TimeUnit::kIso8601) {
    parsed = ParseIso8601(t);
  } else if (int64_t i = 0; TryParseInt(t, &i)) {
    parsed = NormalizeTime(Value::Int(i), unit_);
  } else {
    double d = 0;
    if (!TryParseFloat(t, &d)) {
      return Context(Status::Invalid("\"" + std::string(t) + "\" is not a number of " +
                                     std::string(UnitName(unit_))));
    }
    if (std::isnan(d)) return Missing();
    parsed = NormalizeTime(Value::Float(d), unit_);
  }
  if (!parsed.ok()) return Context(parsed.status());
  *out = *parsed;
  return Status::Ok();
}

Status EventTimeRule::ParseJoined(Timestamp* out) const {
  Result<Timestamp> parsed =
      format_ ? ParseTimeWithFormat(joined_, *format_) : ParseIso8601(joined_);
  if (!parsed.ok()) return Context(parsed.status());
  *out = *parsed;
  return Status::Ok();
}

bool EventTimeRule::FromTexts(std::span<const std::string_view> texts, Timestamp* out,
                              std::string* reason) const {
  joined_.clear();
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string_view t = TrimSpaces(texts[i]);
    if (t.empty() || (!nulls_.empty() && nulls_.Contains(texts[i]))) {
      return Fail(Missing(i), reason);
    }
    if (i > 0) joined_.push_back(' ');
    joined_.append(t);
  }
  Status status = ParseJoined(out);
  return status.ok() || Fail(status, reason);
}

bool EventTimeRule::FromValues(const Row& row, Timestamp* out, std::string* reason) const {
  joined_.clear();
  for (size_t i = 0; i < fields_.size(); ++i) {
    const Value& v = row[fields_[i]];
    if (i > 0) joined_.push_back(' ');
    switch (v.type()) {
      case ValueType::kNull:
        return Fail(Missing(i), reason);
      case ValueType::kString:
        if (TrimSpaces(v.AsString()).empty()) return Fail(Missing(i), reason);
        joined_.append(TrimSpaces(v.AsString()));
        break;
      case ValueType::kInt: {
        char buf[24];
        joined_.append(buf, std::to_chars(buf, buf + sizeof(buf), v.AsInt()).ptr);
        break;
      }
      case ValueType::kFloat:
        AppendFloat(joined_, v.AsFloat());
        break;
      case ValueType::kBool:
        return Fail(Context(Status::Invalid("a bool is no time")), reason);
    }
  }
  Status status = ParseJoined(out);
  return status.ok() || Fail(status, reason);
}

namespace {

// ---- CSV ----

// The line after `record`: line breaks inside a record are inside its quoted fields (only
// those are scanned: this runs per record).
uint64_t LineAfter(const CsvRecord& record) {
  uint64_t line = record.line() + 1;
  for (const CsvField& field : record.fields()) {
    if (!field.quoted) continue;
    line += static_cast<uint64_t>(std::count(field.text.begin(), field.text.end(), '\n'));
  }
  return line;
}

class CsvRecordReader final : public RecordFileReader {
 public:
  CsvRecordReader(std::unique_ptr<ByteStream> stream, std::string path, const RecordLayout* layout,
                  bool final_input)
      : stream_(std::move(stream)),
        path_(std::move(path)),
        layout_(layout),
        reader_(stream_.get(), final_input) {}

  // Maps the declared fields to the header's columns. A file with no bytes at all has no
  // header and no records; a growing file may not have its header yet (tried again later).
  Status ReadHeader() {
    const ReadOutcome outcome = reader_.Next(&record_);
    if (outcome == ReadOutcome::kError) return reader_.status();
    if (outcome == ReadOutcome::kNeedMore) return Status::Ok();
    header_read_ = true;
    if (outcome == ReadOutcome::kEnd) return Status::Ok();
    next_line_ = LineAfter(record_);
    if (outcome == ReadOutcome::kMalformed) {
      return Status::Invalid(path_ + ":" + std::to_string(record_.line()) +
                             ": malformed header: " + std::string(record_.error()));
    }
    header_end_ = reader_.offset();
    num_columns_ = record_.size();
    plan_.clear();
    time_columns_.clear();
    const std::vector<Column>& fields = layout_->fields;
    const EventTimeRule& rule = layout_->time;
    for (size_t f = 0; f < fields.size(); ++f) {
      size_t c = 0;
      while (c < num_columns_ && TrimSpaces(record_.field(c).text) != fields[f].name) ++c;
      if (c == num_columns_) {
        std::string columns;
        for (const CsvField& field : record_.fields()) {
          columns += (columns.empty() ? "" : ", ") + std::string(TrimSpaces(field.text));
        }
        return Status::Invalid(path_ + ": field '" + fields[f].name +
                               "' is not in the header (columns: " + columns + ")");
      }
      const bool single_time = rule.kind() == EventTimeRule::Kind::kSingle && rule.fields()[0] == f;
      plan_.push_back({c, fields[f].type, single_time});
    }
    for (size_t f : rule.fields()) time_columns_.push_back(plan_[f].column);
    time_texts_.resize(time_columns_.size());
    return Status::Ok();
  }

  Outcome Next(Row* row, Timestamp* time, std::string* reason) override {
    if (!header_read_) {
      if (Status status = ReadHeader(); !status.ok()) {
        status_ = status;
        return Outcome::kError;
      }
      if (!header_read_) return Outcome::kNeedMore;
    }
    switch (reader_.Next(&record_)) {
      case ReadOutcome::kRecord:
        break;
      case ReadOutcome::kEnd:
        return Outcome::kEnd;
      case ReadOutcome::kNeedMore:
        return Outcome::kNeedMore;
      case ReadOutcome::kError:
        status_ = reader_.status();
        return Outcome::kError;
      case ReadOutcome::kMalformed:
        line_ = record_.line();
        next_line_ = LineAfter(record_);
        reason->assign(record_.error());
        return Outcome::kRejected;
    }
    line_ = record_.line();
    next_line_ = LineAfter(record_);
    if (record_.size() != num_columns_) {
      *reason = "expected " + std::to_string(num_columns_) + " fields, found " +
                std::to_string(record_.size());
      return Outcome::kRejected;
    }
    if (row->size() != plan_.size()) row->resize(plan_.size());
    const EventTimeRule& rule = layout_->time;
    Value* value = row->data();
    for (const ColumnPlan& column : plan_) {
      const CsvField& field = record_.field(column.column);
      if (column.single_time) {
        if (!rule.FromText(field.text, time, reason)) return Outcome::kRejected;
        *value = Value::Int(*time);
      } else if (!ParseTextValueFast(field.text, column.type, layout_->nulls, value)) {
        Status status =
            ParseTextValue(field.text, column.type, layout_->nulls, value, field.quoted);
        if (!status.ok()) {
          *reason =
              "field '" + layout_->fields[value - row->data()].name + "': " + status.message();
          return Outcome::kRejected;
        }
      }
      ++value;
    }
    switch (rule.kind()) {
      case EventTimeRule::Kind::kSingle:
        break;
      case EventTimeRule::Kind::kJoined:
        for (size_t i = 0; i < time_columns_.size(); ++i) {
          time_texts_[i] = record_.field(time_columns_[i]).text;
        }
        if (!rule.FromTexts(time_texts_, time, reason)) return Outcome::kRejected;
        break;
      case EventTimeRule::Kind::kArrival:
        *time = rule.Now();
        break;
    }
    return Outcome::kRecord;
  }

  uint64_t line() const override { return line_; }
  uint64_t offset() const override { return reader_.offset(); }
  uint64_t next_line() const override { return next_line_; }
  uint64_t header_end() const override { return header_end_; }
  const Status& status() const override { return status_; }

 private:
  // Where each declared field comes from, resolved once per file from its header.
  struct ColumnPlan {
    size_t column;
    ValueType type;
    bool single_time;  // the one time field: parsed as a time, stored as epoch ms
  };

  std::unique_ptr<ByteStream> stream_;
  std::string path_;
  const RecordLayout* layout_;
  CsvReader reader_;
  CsvRecord record_;
  bool header_read_ = false;
  uint64_t header_end_ = 0;
  size_t num_columns_ = 0;
  std::vector<ColumnPlan> plan_;
  std::vector<size_t> time_columns_;  // CSV columns of the time fields, joined in this order
  std::vector<std::string_view> time_texts_;
  uint64_t line_ = 0;
  uint64_t next_line_ = 1;
  Status status_;
};

// ---- JSON Lines ----

// A single time field is decoded as text whatever its declared type: the column becomes
// epoch ms anyway, and numbers keep their exact text (ints exactly, floats round-trip).
std::vector<Column> DecodeColumns(const RecordLayout& layout) {
  std::vector<Column> columns = layout.fields;
  if (layout.time.kind() == EventTimeRule::Kind::kSingle) {
    columns[layout.time.fields()[0]].type = ValueType::kString;
  }
  return columns;
}

class JsonlRecordReader final : public RecordFileReader {
 public:
  JsonlRecordReader(std::unique_ptr<ByteStream> stream, const RecordLayout* layout,
                    bool final_input)
      : stream_(std::move(stream)),
        layout_(layout),
        lines_(stream_.get(), final_input),
        decoder_(DecodeColumns(*layout), layout->nulls) {}

  Outcome Next(Row* row, Timestamp* time, std::string* reason) override {
    std::string_view line;
    while (true) {
      switch (lines_.Next(&line, &line_)) {
        case ReadOutcome::kRecord:
          next_line_ = line_ + 1;
          break;
        case ReadOutcome::kEnd:
          return Outcome::kEnd;
        case ReadOutcome::kNeedMore:
          return Outcome::kNeedMore;
        case ReadOutcome::kMalformed:  // lines are never malformed
        case ReadOutcome::kError:
          status_ = lines_.status();
          return Outcome::kError;
      }
      if (!TrimSpaces(line).empty()) break;
    }
    if (Status status = decoder_.Decode(line, row); !status.ok()) {
      *reason = status.message();
      return Outcome::kRejected;
    }
    const EventTimeRule& rule = layout_->time;
    switch (rule.kind()) {
      case EventTimeRule::Kind::kSingle: {
        Value& v = (*row)[rule.fields()[0]];
        if (!rule.FromText(v.is_null() ? std::string_view() : v.AsString(), time, reason)) {
          return Outcome::kRejected;
        }
        v = Value::Int(*time);
        break;
      }
      case EventTimeRule::Kind::kJoined:
        if (!rule.FromValues(*row, time, reason)) return Outcome::kRejected;
        break;
      case EventTimeRule::Kind::kArrival:
        *time = rule.Now();
        break;
    }
    return Outcome::kRecord;
  }

  uint64_t line() const override { return line_; }
  uint64_t offset() const override { return lines_.offset(); }
  uint64_t next_line() const override { return next_line_; }
  const Status& status() const override { return status_; }

 private:
  std::unique_ptr<ByteStream> stream_;
  const RecordLayout* layout_;
  LineReader lines_;
  JsonRecordDecoder decoder_;
  uint64_t line_ = 0;
  uint64_t next_line_ = 1;
  Status status_;
};

}  // namespace

Result<std::unique_ptr<RecordFileReader>> OpenRecordStream(std::unique_ptr<ByteStream> stream,
                                                           const std::string& path,
                                                           FileFormat format,
                                                           const RecordLayout* layout,
                                                           bool final_input) {
  if (format == FileFormat::kJsonl) {
    return std::unique_ptr<RecordFileReader>(
        std::make_unique<JsonlRecordReader>(std::move(stream), layout, final_input));
  }
  auto reader = std::make_unique<CsvRecordReader>(std::move(stream), path, layout, final_input);
  RUNNEL_RETURN_IF_ERROR(reader->ReadHeader());
  return std::unique_ptr<RecordFileReader>(std::move(reader));
}

}  // namespace runnel
