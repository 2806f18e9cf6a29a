#include "app/mqtt_message_decoder.h"

#include <algorithm>
#include <utility>

namespace runnel {

namespace {

// The time column of an inline source stamped with its arrival time: a name no field can
// have (fields are identifiers), dropped from rows because the inline fields do not list it.
constexpr char kInlineArrivalColumn[] = "$arrival";

}  // namespace

Result<std::unique_ptr<CodecMessageDecoder>> CodecMessageDecoder::Create(
    TopicTemplate topic, std::unique_ptr<PayloadDecoder> decoder, const Schema& stream_schema) {
  std::vector<size_t> columns;
  for (const Column& c : stream_schema.columns()) {
    auto index = decoder->schema().IndexOf(c.name);
    if (!index || decoder->schema().column(*index).type != c.type) {
      return Status::Invalid("column '" + c.name + "' (" + std::string(TypeName(c.type)) +
                             ") is not produced by the payload decoder (declare it as a field "
                             "of the payload or the topic)");
    }
    columns.push_back(*index);
  }
  return std::make_unique<CodecMessageDecoder>(std::move(topic), std::move(decoder), stream_schema,
                                               std::move(columns));
}

CodecMessageDecoder::CodecMessageDecoder(TopicTemplate topic,
                                         std::unique_ptr<PayloadDecoder> decoder,
                                         Schema stream_schema, std::vector<size_t> columns)
    : topic_(std::move(topic)),
      decoder_(std::move(decoder)),
      schema_(std::move(stream_schema)),
      columns_(std::move(columns)) {}

Status CodecMessageDecoder::Decode(std::string_view topic, std::string_view payload,
                                   Timestamp arrival, Row* row, Timestamp* time,
                                   std::string* reason) {
  if (!topic_.Match(topic, &topic_values_)) {
    *reason = "topic_mismatch";
    return Status::Invalid("topic " + std::string(topic) + " does not match " + topic_.text());
  }
  DecodeStatus decoded = decoder_->Decode(topic_values_, payload, arrival, &decoded_);
  if (!decoded.ok()) {
    *reason = decoded.reason();
    return decoded.ToStatus();
  }
  row->resize(columns_.size());
  for (size_t i = 0; i < columns_.size(); ++i) (*row)[i] = std::move(decoded_.row[columns_[i]]);
  *time = decoded_.time;
  return Status::Ok();
}

Result<PayloadSpec> PayloadSpecFromInlineSource(const SourceConfig& source,
                                                const TopicTemplate& topic) {
  const std::string where = source.where.Prefix() + ": source '" + source.name + "'";
  PayloadSpec spec;
  spec.name = source.name;
  spec.format = source.payload_format == "csv"  ? PayloadFormat::kCsv
                : source.payload_format == "kv" ? PayloadFormat::kKv
                                                : PayloadFormat::kJson;
  spec.topic_fields = topic.fields();
  spec.null_values = source.null_values;
  spec.time_unit = source.time_unit;
  if (source.time_format) {
    return Status::Invalid(where +
                           ": time_format is not available for MQTT sources (send epoch "
                           "numbers or ISO 8601 text and set time_unit)");
  }
  const auto is_topic_field = [&](const std::string& name) {
    return std::find(spec.topic_fields.begin(), spec.topic_fields.end(), name) !=
           spec.topic_fields.end();
  };
  if (source.time_arrival) {
    spec.time_column = kInlineArrivalColumn;
  } else if (source.time_fields.size() == 1) {
    spec.time_column = source.time_fields[0];
    PayloadField time;
    time.name = time.path = source.time_fields[0];
    time.type = source.time_unit == TimeUnit::kIso8601 ? ValueType::kString : ValueType::kFloat;
    spec.time_field = std::move(time);
  } else {
    return Status::Invalid(where +
                           ": an MQTT source takes its time from one field (time = \"ts\") or "
                           "from its arrival (time = \"arrival\")");
  }
  for (const FieldConfig& f : source.fields) {
    if (is_topic_field(f.name)) {
      if (f.type != ValueType::kString) {
        return Status::Invalid(f.where.Prefix() + ": source '" + source.name + "': field '" +
                               f.name +
                               "' is bound from the topic, so it is a string (declare it as "
                               "\"string\")");
      }
      continue;
    }
    spec.csv_columns.push_back(f.name);
    if (!source.time_arrival && f.name == spec.time_column) continue;
    PayloadField field;
    field.name = field.path = f.name;
    field.type = f.type;
    spec.fields.push_back(std::move(field));
  }
  if (spec.format != PayloadFormat::kCsv) spec.csv_columns.clear();
  return spec;
}

}  // namespace runnel
