#include "mqtt/mqtt_source.h"

#include <charconv>
#include <exception>

namespace runnel {

namespace {

constexpr Duration kLogInterval = 60'000;  // rate limit for repeated diagnostics
constexpr int kLogBurst = 5;

// Paho's error text (never holds credentials), for messages.
std::string PahoError(const std::exception& e) { return e.what(); }

}  // namespace

// Forwards Paho's callbacks; nothing escapes them (Paho C cannot unwind through its threads).
class MqttSource::Callbacks final : public mqtt::callback {
 public:
  explicit Callbacks(MqttSource* source) : source_(source) {}

  void connected(const std::string& cause) override {
    try {
      source_->OnConnected(cause);
    } catch (const std::exception& e) {
      source_->logger_->Error("source '" + source_->spec_.name +
                              "': after connecting: " + PahoError(e));
    }
  }
  void connection_lost(const std::string& cause) override {
    try {
      source_->OnConnectionLost(cause);
    } catch (const std::exception& e) {
      source_->logger_->Error("source '" + source_->spec_.name +
                              "': after losing the connection: " + PahoError(e));
    }
  }
  void message_arrived(mqtt::const_message_ptr message) override {
    try {
      source_->OnMessage(message->get_topic(), message->get_payload());
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(source_->mu_);
      if (source_->fatal_.ok()) {
        source_->fatal_ = Status::Runtime("source '" + source_->spec_.name +
                                          "': cannot take in an MQTT message: " + e.what());
      }
    }
  }

 private:
  MqttSource* source_;
};

Result<std::unique_ptr<MqttSource>> MqttSource::Open(MqttSourceSpec spec,
                                                     std::unique_ptr<MessageDecoder> decoder,
                                                     const Clock* clock, Logger* logger,
                                                     RejectSink* rejects) {
  if (spec.shared_group && spec.broker.version != 5) {
    return Status::Invalid("source '" + spec.name +
                           "': shared_group needs MQTT 5 (set version = 5 in [mqtt])");
  }
  RUNNEL_ASSIGN_OR_RETURN(std::unique_ptr<IngestJournal> journal,
                          IngestJournal::Open(spec.journal_path, spec.journal));
  if (journal->repaired_bytes() > 0) {
    logger->Warning("source '" + spec.name + "': cut a torn or corrupt tail of " +
                    std::to_string(journal->repaired_bytes()) + " bytes off " + spec.journal_path +
                    " (written when the process died mid-message: that message was never "
                    "acknowledged, so the broker sends it again)");
  }
  auto source = std::make_unique<MqttSource>(PrivateTag{}, std::move(spec), std::move(decoder),
                                             std::move(journal), clock, logger, rejects);
  RUNNEL_RETURN_IF_ERROR(source->Connect());
  return source;
}

MqttSource::MqttSource(PrivateTag, MqttSourceSpec spec, std::unique_ptr<MessageDecoder> decoder,
                       std::unique_ptr<IngestJournal> journal, const Clock* clock, Logger* logger,
                       RejectSink* rejects)
    : spec_(std::move(spec)),
      decoder_(std::move(decoder)),
      journal_(std::move(journal)),
      clock_(clock),
      logger_(logger),
      rejects_(rejects),
      pending_(static_cast<int64_t>(journal_->records_at_open())),
      connection_log_(kLogInterval, kLogBurst),
      read_position_(journal_->begin()),
      saved_position_(journal_->begin()),
      reject_log_(kLogInterval, kLogBurst) {}

MqttSource::~MqttSource() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  drained_.notify_all();
  if (!client_) return;
  try {
    if (client_->is_connected()) client_->disconnect()->wait_for(std::chrono::seconds(5));
  } catch (const std::exception& e) {
    // The session stays on the broker either way; nothing is lost by a failed disconnect.
    logger_->Warning("source '" + spec_.name + "': disconnecting from " +
                     DescribeBroker(spec_.broker) + ": " + PahoError(e));
  }
  client_.reset();
}

std::string MqttSource::SubscriptionTopic() const {
  if (spec_.shared_group) return "$share/" + *spec_.shared_group + "/" + spec_.topic_filter;
  return spec_.topic_filter;
}

Status MqttSource::Connect() {
  const std::string broker = DescribeBroker(spec_.broker);
  RUNNEL_ASSIGN_OR_RETURN(client_, MakeBrokerClient(spec_.broker, spec_.session_dir));
  RUNNEL_ASSIGN_OR_RETURN(mqtt::connect_options options, MakeConnectOptions(spec_.broker));
  callbacks_ = std::make_unique<Callbacks>(this);
  const std::string where = "source '" + spec_.name + "'";
  try {
    client_->set_callback(*callbacks_);
    RepointConnectProperties(&options);
    if (!client_->connect(options)->wait_for(spec_.connect_timeout)) {
      return Status::IoError(where + ": no answer from MQTT broker " + broker + " within " +
                             std::to_string(spec_.connect_timeout.count()) +
                             " ms (is it running and reachable? check broker in [mqtt])");
    }
    auto token = client_->subscribe(SubscriptionTopic(), spec_.qos);
    if (!token->wait_for(spec_.connect_timeout)) {
      return Status::IoError(where + ": MQTT broker " + broker +
                             " did not confirm the subscription to " + SubscriptionTopic());
    }
    const mqtt::subscribe_response response = token->get_subscribe_response();
    for (mqtt::ReasonCode code : response.get_reason_codes()) {
      if (code >= 0x80) {
        return Status::IoError(where + ": MQTT broker " + broker + " refused the subscription to " +
                               SubscriptionTopic() + " (reason code " +
                               std::to_string(static_cast<int>(code)) +
                               "; check the broker's ACLs and shared-subscription support)");
      }
    }
  } catch (const std::exception& e) {
    return Status::IoError(where + ": cannot connect to MQTT broker " + broker + ": " +
                           PahoError(e) +
                           " (is it running? check broker, credentials and tls in [mqtt])");
  }
  logger_->Info(where + ": subscribed to " + SubscriptionTopic() + " at QoS " +
                std::to_string(spec_.qos) + " on " + broker);
  return Status::Ok();
}

void MqttSource::OnMessage(std::string_view topic, std::string_view payload) {
  const Timestamp arrival = clock_->NowMillis();
  // Durable before this callback returns, which is before Paho acknowledges the message.
  Status appended = journal_->Append(arrival, topic, payload);
  std::unique_lock<std::mutex> lock(mu_);
  if (!appended.ok()) {
    if (fatal_.ok()) {
      fatal_ = appended.WithContext("source '" + spec_.name + "'");
      logger_->Error(fatal_.message());
    }
    return;
  }
  ++pending_;
  WakeEngine();
  if (closing_ || pending_ <= static_cast<int64_t>(spec_.queue_limit)) return;
  // Blocking here stops Paho reading the socket: the broker queues for us, nothing is dropped.
  const auto started = std::chrono::steady_clock::now();
  drained_.wait(lock,
                [this] { return closing_ || pending_ <= static_cast<int64_t>(spec_.queue_limit); });
  backpressure_ms_ += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::steady_clock::now() - started)
                                                .count());
}

void MqttSource::OnConnected(const std::string& /*cause*/) {
  if (connects_.fetch_add(1) == 0) return;  // the first connection subscribes in Connect()
  // The broker may have lost the session (restarted without persistence): subscribe again.
  client_->subscribe(SubscriptionTopic(), spec_.qos);
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t suppressed = 0;
  if (connection_log_.Allow(clock_->NowMillis(), &suppressed)) {
    logger_->Info("source '" + spec_.name + "': reconnected to " + DescribeBroker(spec_.broker) +
                  (suppressed
                       ? " (" + std::to_string(suppressed) + " messages like this not logged)"
                       : std::string()));
  }
}

void MqttSource::OnConnectionLost(const std::string& cause) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t suppressed = 0;
  if (connection_log_.Allow(clock_->NowMillis(), &suppressed)) {
    logger_->Warning("source '" + spec_.name + "': lost the connection to " +
                     DescribeBroker(spec_.broker) + (cause.empty() ? std::string() : ": " + cause) +
                     "; reconnecting with backoff (the broker keeps the session's messages)" +
                     (suppressed
                          ? " (" + std::to_string(suppressed) + " messages like this not logged)"
                          : std::string()));
  }
}

Result<PollStatus> MqttSource::Poll(size_t max_records) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fatal_.ok()) return fatal_;
  }
  const uint64_t end = journal_->end();
  size_t consumed = 0;
  while (consumed < max_records && read_position_ < end) {
    uint64_t next = 0;
    RUNNEL_RETURN_IF_ERROR(journal_->Read(read_position_, &record_, &next));
    read_position_ = next;
    ++consumed;
    Timestamp time = 0;
    std::string reason;
    Status decoded =
        decoder_->Decode(record_.topic, record_.payload, record_.arrival, &row_, &time, &reason);
    if (!decoded.ok()) {
      RUNNEL_RETURN_IF_ERROR(RecordReject(record_, reason, decoded.message()));
      continue;
    }
    ++records_read_;
    max_time_ = std::max(max_time_, time);
    output().Emit(row_, time, 1);
  }
  if (consumed == 0) return PollStatus::kIdle;
  if (max_time_ != kMinTime) {
    watermark_ = max_time_ < kMinTime + spec_.max_delay ? kMinTime : max_time_ - spec_.max_delay;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ -= static_cast<int64_t>(consumed);
  }
  drained_.notify_all();
  return PollStatus::kProgress;
}

Status MqttSource::RecordReject(const JournalRecord& record, const std::string& reason,
                                const std::string& message) {
  ++records_rejected_;
  ++rejects_by_reason_[reason];
  if (rejects_) {
    RUNNEL_RETURN_IF_ERROR(
        rejects_->Keep({spec_.name, record.topic, record.arrival, reason, record.payload}));
  }
  uint64_t suppressed = 0;
  if (reject_log_.Allow(clock_->NowMillis(), &suppressed)) {
    logger_->Warning("source '" + spec_.name + "': rejected a message on " + record.topic + ": " +
                     message +
                     (suppressed ? " (" + std::to_string(suppressed) +
                                       " rejects not logged; all are counted and the newest "
                                       "kept in runnel_rejects)"
                                 : std::string()));
  }
  return Status::Ok();
}

SourceStats MqttSource::stats() const {
  SourceStats stats;
  stats.records_read = records_read_;
  stats.records_rejected = records_rejected_;
  const uint64_t connects = connects_.load();
  stats.reconnects = connects > 0 ? connects - 1 : 0;
  stats.backpressure_ms = backpressure_ms_.load();
  return stats;
}

std::vector<std::pair<std::string, uint64_t>> MqttSource::rejects_by_reason() const {
  return {rejects_by_reason_.begin(), rejects_by_reason_.end()};
}

std::string MqttSource::SavePosition() const {
  saved_position_ = read_position_;
  return std::to_string(read_position_);
}

Status MqttSource::RestorePosition(std::string_view position) {
  uint64_t value = 0;
  const auto [end, error] =
      std::from_chars(position.data(), position.data() + position.size(), value);
  if (error != std::errc() || end != position.data() + position.size()) {
    return Status::Corruption("source '" + spec_.name + "': saved position '" +
                              std::string(position) +
                              "' is not a journal position (start over with --reset-state)");
  }
  RUNNEL_ASSIGN_OR_RETURN(const uint64_t skipped, journal_->RecordsBefore(value));
  read_position_ = value;
  saved_position_ = value;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ -= static_cast<int64_t>(skipped);
  }
  drained_.notify_all();
  return Status::Ok();
}

void MqttSource::OnCommitted() {
  Status compacted = journal_->Compact(saved_position_);
  if (!compacted.ok()) {
    // The journal only keeps more than it needs: the next commit tries again.
    logger_->Warning("source '" + spec_.name + "': " + compacted.message());
  }
}

}  // namespace runnel
