#include "mqtt/mqtt_sink.h"

#include <utility>

namespace runnel {

namespace {

constexpr Duration kReportInterval = 60'000;

}  // namespace

Status MqttSink::Validate(const MqttSinkSpec& spec, const Schema& schema) {
  RUNNEL_ASSIGN_OR_RETURN(TopicTemplate topic,
                          TopicTemplate::Parse(spec.topic, TopicUse::kPublish));
  auto renderer = TopicRenderer::Create(topic, schema);
  return renderer.ok() ? Status::Ok() : renderer.status();
}

MqttSink::MqttSink(PrivateTag, MqttSinkSpec spec, const Schema& schema, TopicRenderer topic,
                   std::unique_ptr<MessageOutbox> outbox, std::unique_ptr<Uplink> uplink,
                   const Clock* clock, Logger* logger)
    : spec_(std::move(spec)),
      topic_(std::move(topic)),
      json_(schema),
      outbox_(std::move(outbox)),
      uplink_(std::move(uplink)),
      clock_(clock),
      logger_(logger) {}

Result<std::unique_ptr<MqttSink>> MqttSink::Create(MqttSinkSpec spec, const Schema& schema,
                                                   std::unique_ptr<MessageOutbox> outbox,
                                                   std::unique_ptr<Uplink> uplink,
                                                   const Clock* clock, Logger* logger) {
  RUNNEL_ASSIGN_OR_RETURN(TopicTemplate parsed,
                          TopicTemplate::Parse(spec.topic, TopicUse::kPublish));
  RUNNEL_ASSIGN_OR_RETURN(TopicRenderer topic, TopicRenderer::Create(parsed, schema));
  RUNNEL_ASSIGN_OR_RETURN(std::vector<OutboxMessage> waiting, outbox->Load());
  if (!waiting.empty()) {
    logger->Info(spec.name + ": " + std::to_string(waiting.size()) +
                 " messages of an earlier run wait in the outbox; they go out first");
  }
  for (OutboxMessage& m : waiting) uplink->Enqueue(std::move(m));
  return std::make_unique<MqttSink>(PrivateTag(), std::move(spec), schema, std::move(topic),
                                    std::move(outbox), std::move(uplink), clock, logger);
}

bool MqttSink::ShouldReport(Timestamp* last) {
  const Timestamp now = clock_->NowMillis();
  if (*last != kMinTime && now - *last < kReportInterval) return false;
  *last = now;
  return true;
}

void MqttSink::OnChange(int /*port*/, const Row& row, Timestamp /*time*/, Diff diff) {
  if (Status status = topic_.Render(row, &topic_buffer_); !status.ok()) {
    // One bad row must not stop a gateway's uplink: counted, and logged now and then.
    ++unpublishable_;
    if (ShouldReport(&last_unpublishable_report_)) {
      logger_->Warning(spec_.name + ": a change cannot be published: " + status.message() + " (" +
                       std::to_string(unpublishable_) +
                       " so far; filter such rows out with `where` in the view)");
    }
    return;
  }
  OutboxMessage message;
  message.topic = topic_buffer_;
  json_.Append(message.payload, row, diff);
  message.qos = spec_.qos;
  message.retain = spec_.retain;
  pending_.push_back(std::move(message));
}

Status MqttSink::Advance(std::span<const Timestamp> input_watermarks, Timestamp* output_watermark) {
  *output_watermark = input_watermarks.empty() ? kMaxTime : input_watermarks[0];
  RUNNEL_RETURN_IF_ERROR(outbox_->Remove(to_remove_));
  to_remove_.clear();

  const uint64_t limit = static_cast<uint64_t>(spec_.outbox_limit);
  const uint64_t total = uplink_->depth() + pending_.size();
  if (total > limit) {
    // Drop the oldest: the freshest results matter most to whoever waits for the uplink.
    const uint64_t excess = total - limit;
    std::vector<int64_t> dropped;
    const size_t stored = uplink_->DropOldest(excess, &dropped);
    RUNNEL_RETURN_IF_ERROR(outbox_->Remove(dropped));
    const size_t fresh = std::min<size_t>(excess - stored, pending_.size());
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(fresh));
    overflow_ += stored + fresh;
    if (stored + fresh > 0 && ShouldReport(&last_overflow_report_)) {
      logger_->Warning(spec_.name + ": the outbox is full (outbox_limit = " +
                       std::to_string(limit) + ") while " + DescribeBroker(uplink_->broker()) +
                       " does not take messages: dropped the oldest, " + std::to_string(overflow_) +
                       " so far (raise outbox_limit or restore the uplink)");
    }
  }
  if (pending_.empty()) return Status::Ok();
  RUNNEL_RETURN_IF_ERROR(outbox_->Append(pending_));
  written_ += pending_.size();
  for (OutboxMessage& m : pending_) staged_.push_back(std::move(m));
  pending_.clear();
  return Status::Ok();
}

Status MqttSink::OnStepCommitted() {
  for (OutboxMessage& m : staged_) uplink_->Enqueue(std::move(m));
  staged_.clear();
  const size_t before = to_remove_.size();
  uplink_->Pump(&to_remove_);
  delivered_ += to_remove_.size() - before;
  return Status::Ok();
}

Status MqttSink::Close() {
  // Staged messages belong to a step that never committed: the database rolls them back.
  staged_.clear();
  pending_.clear();
  const size_t before = to_remove_.size();
  uplink_->Close(spec_.close_timeout, &to_remove_);
  delivered_ += to_remove_.size() - before;
  Status status = outbox_->RemoveAtEnd(to_remove_);
  to_remove_.clear();
  if (uplink_->depth() > 0) {
    logger_->Warning(spec_.name + ": " + std::to_string(uplink_->depth()) +
                     " messages wait in the outbox for " + DescribeBroker(uplink_->broker()) +
                     "; the next run delivers them first");
  }
  return status;
}

OperatorStats MqttSink::stats() const {
  OperatorStats stats;
  stats.rows_written = written_;
  stats.outbox_depth = uplink_->depth() + staged_.size();
  stats.outbox_overflow = overflow_;
  stats.messages_delivered = delivered_;
  stats.messages_unpublishable = unpublishable_;
  return stats;
}

}  // namespace runnel
