// MQTT message decoding for the composition root: adapts a TopicTemplate + PayloadDecoder
// (from a device profile, or from an inline source's topic, format and fields) to the mqtt
// module's MessageDecoder, laying the columns out exactly as the source's stream schema, which
// is also the schema its stored log is replayed with (--replay). Engine thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "decode/payload_decoder.h"
#include "decode/topic_template.h"
#include "mqtt/mqtt_source.h"

namespace runnel {

class CodecMessageDecoder final : public MessageDecoder {
 public:
  // Every column of `stream_schema` must be a column of decoder->schema() (by name); the
  // decoder's other columns (e.g. an arrival time the inline fields do not list) are dropped.
  // Errors are Invalid and name the missing column.
  static Result<std::unique_ptr<CodecMessageDecoder>> Create(
      TopicTemplate topic, std::unique_ptr<PayloadDecoder> decoder, const Schema& stream_schema);

  CodecMessageDecoder(TopicTemplate topic, std::unique_ptr<PayloadDecoder> decoder,
                      Schema stream_schema, std::vector<size_t> columns);

  const Schema& schema() const override { return schema_; }
  Status Decode(std::string_view topic, std::string_view payload, Timestamp arrival, Row* row,
                Timestamp* time, std::string* reason) override;

 private:
  TopicTemplate topic_;
  std::unique_ptr<PayloadDecoder> decoder_;
  Schema schema_;
  std::vector<size_t> columns_;  // stream column i comes from decoder column columns_[i]
  std::vector<std::string_view> topic_values_;
  DecodedRecord decoded_;
};

// The decode-level description of an inline MQTT source (`topic` + `format` + `fields` +
// `time`): topic fields bound from `topic`, the time field read in time_unit (or the arrival
// time), the other fields read by name. Errors (Invalid) carry the source's file position.
Result<PayloadSpec> PayloadSpecFromInlineSource(const SourceConfig& source,
                                                const TopicTemplate& topic);

}  // namespace runnel
