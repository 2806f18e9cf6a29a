// MqttSink: publishes a view's changes over MQTT (SPEC §4): one JSON object per change (the
// view's columns, then diff) to a topic rendered from the row ("alerts/{device}"), with the
// sink's QoS and retain flag. A step's messages are stored in the outbox inside the step's
// transaction; only after the step commits (OnStepCommitted, a Dataflow step listener) does
// the uplink send them, in order, and a message leaves the outbox once delivered. So nothing
// is lost to a crash, a restart or a broker outage. The outbox holds at most outbox_limit
// messages: beyond that the oldest not yet sent are dropped, counted and logged.
// Threading: engine thread only; the engine never waits for the broker except in Close().
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "decode/record_encoder.h"
#include "decode/topic_template.h"
#include "mqtt/uplink.h"
#include "runtime/clock.h"
#include "runtime/logger.h"
#include "runtime/message_outbox.h"
#include "runtime/operator.h"
#include "runtime/schema.h"

namespace runnel {

struct MqttSinkSpec {
  std::string name;   // for log lines: "sink from 'alerts'"
  std::string topic;  // publish template over the view's columns
  int qos = 1;
  bool retain = false;
  int64_t outbox_limit = 100'000;
  // How long the end of a run waits for the broker to take what is still queued; the rest
  // stays in the outbox for the next run.
  std::chrono::milliseconds close_timeout{10'000};
};

class MqttSink final : public Operator {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // Checks that the topic is a valid publish template over `schema` (Invalid otherwise).
  // Used alone by `runnel check`, which opens no connection.
  static Status Validate(const MqttSinkSpec& spec, const Schema& schema);

  // Reads back what the outbox holds from an earlier run: it goes out first. `clock` and
  // `logger` must outlive the sink.
  static Result<std::unique_ptr<MqttSink>> Create(MqttSinkSpec spec, const Schema& schema,
                                                  std::unique_ptr<MessageOutbox> outbox,
                                                  std::unique_ptr<Uplink> uplink,
                                                  const Clock* clock, Logger* logger);
  MqttSink(PrivateTag, MqttSinkSpec spec, const Schema& schema, TopicRenderer topic,
           std::unique_ptr<MessageOutbox> outbox, std::unique_ptr<Uplink> uplink,
           const Clock* clock, Logger* logger);

  void OnChange(int port, const Row& row, Timestamp time, Diff diff) override;
  // Removes delivered messages, makes room within outbox_limit, and stores the step's
  // messages, all in the step's transaction. Reports a storage error.
  Status Advance(std::span<const Timestamp> input_watermarks, Timestamp* output_watermark) override;
  // After the step's commit: the stored messages may go out. Never fails.
  Status OnStepCommitted();
  // Waits up to close_timeout for delivery, then removes what was delivered.
  Status Close() override;
  OperatorStats stats() const override;

 private:
  // Logs at most once per interval, so that a long outage writes a few lines, not millions.
  bool ShouldReport(Timestamp* last);

  MqttSinkSpec spec_;
  TopicRenderer topic_;
  JsonChangeEncoder json_;
  std::unique_ptr<MessageOutbox> outbox_;
  std::unique_ptr<Uplink> uplink_;
  const Clock* clock_;
  Logger* logger_;

  std::vector<OutboxMessage> pending_;  // this step's messages, not stored yet
  std::vector<OutboxMessage> staged_;   // stored in the step's transaction, not committed yet
  std::vector<int64_t> to_remove_;      // delivered, still in the outbox table
  std::string topic_buffer_;
  uint64_t written_ = 0;
  uint64_t delivered_ = 0;
  uint64_t overflow_ = 0;
  uint64_t unpublishable_ = 0;
  Timestamp last_overflow_report_ = kMinTime;
  Timestamp last_unpublishable_report_ = kMinTime;
};

}  // namespace runnel
