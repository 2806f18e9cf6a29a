// MqttSource: a Source fed by one MQTT subscription (SPEC §2). Paho's callback thread does no
// decoding: it appends (arrival time, topic, payload) to the source's IngestJournal before
// Paho acknowledges the message, and blocks while the engine lags more than queue_limit
// messages (counted as backpressure). Poll() reads the journal on the engine thread, decodes
// with the injected MessageDecoder, emits rows and keeps rejects. See docs/mqtt.md.
// Threading: Paho callbacks on Paho's threads; everything else on the engine thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mqtt/broker_options.h"
#include "mqtt/ingest_journal.h"
#include "runtime/clock.h"
#include "runtime/log_rate_limiter.h"
#include "runtime/logger.h"
#include "runtime/reject_sink.h"
#include "runtime/schema.h"
#include "runtime/source.h"

namespace runnel {

// Turns one message into a row of schema(). Implemented by the composition root (a device
// profile or an inline source's fields), so that this module knows no payload formats.
// Used by the engine thread only.
class MessageDecoder {
 public:
  virtual ~MessageDecoder() = default;
  virtual const Schema& schema() const = 0;
  // OK: *row and *time hold the record. Otherwise Invalid with a message for people, and
  // *reason holds the machine-readable reject code ("invalid_json", "missing:temp").
  virtual Status Decode(std::string_view topic, std::string_view payload, Timestamp arrival,
                        Row* row, Timestamp* time, std::string* reason) = 0;
};

struct MqttSourceSpec {
  std::string name;
  BrokerOptions broker;                     // client_id unique to this source
  std::string topic_filter;                 // "sensors/+/env"
  std::optional<std::string> shared_group;  // MQTT 5: subscribe to $share/GROUP/filter
  int qos = 1;
  size_t queue_limit = 100'000;  // journaled but unconsumed messages before blocking
  std::string journal_path;      // <state_dir>/mqtt/<source>.journal
  std::string session_dir;       // Paho file persistence, <state_dir>/mqtt/session-<id>
  JournalOptions journal;
  Duration max_delay = 0;
  std::chrono::milliseconds connect_timeout{10'000};
};

class MqttSource final : public Source {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // Opens the journal, connects and subscribes; errors name the broker (never credentials)
  // and say what to check. `clock`, `logger` and `rejects` must outlive the source;
  // `rejects` may be null (rejects are then only counted).
  static Result<std::unique_ptr<MqttSource>> Open(MqttSourceSpec spec,
                                                  std::unique_ptr<MessageDecoder> decoder,
                                                  const Clock* clock, Logger* logger,
                                                  RejectSink* rejects);

  MqttSource(PrivateTag, MqttSourceSpec spec, std::unique_ptr<MessageDecoder> decoder,
             std::unique_ptr<IngestJournal> journal, const Clock* clock, Logger* logger,
             RejectSink* rejects);
  // Releases a blocked callback, then disconnects (the session stays on the broker).
  ~MqttSource() override;

  Result<PollStatus> Poll(size_t max_records) override;
  Timestamp watermark() const override { return watermark_; }
  bool bounded() const override { return false; }
  SourceStats stats() const override;
  std::vector<std::pair<std::string, uint64_t>> rejects_by_reason() const override;

  // Position: the journal position after the last record emitted, as decimal text.
  std::string SavePosition() const override;
  Status RestorePosition(std::string_view position) override;
  // Lets the journal drop what the last saved position covers.
  void OnCommitted() override;

  // The subscription as sent to the broker ("$share/g/sensors/+/env").
  std::string SubscriptionTopic() const;

 private:
  class Callbacks;

  Status Connect();
  // Paho's thread: journal the message, then wait while the engine lags too far behind.
  void OnMessage(std::string_view topic, std::string_view payload);
  void OnConnected(const std::string& cause);
  void OnConnectionLost(const std::string& cause);
  Status RecordReject(const JournalRecord& record, const std::string& reason,
                      const std::string& message);

  const MqttSourceSpec spec_;
  std::unique_ptr<MessageDecoder> decoder_;
  std::unique_ptr<IngestJournal> journal_;
  const Clock* clock_;
  Logger* logger_;
  RejectSink* rejects_;
  std::unique_ptr<Callbacks> callbacks_;
  std::unique_ptr<mqtt::async_client> client_;

  // Shared between Paho's thread and the engine thread.
  std::mutex mu_;
  std::condition_variable drained_;  // signalled when the engine consumed records
  bool closing_ = false;
  int64_t pending_ = 0;  // journaled records not yet consumed
  Status fatal_;         // a journal write failed on Paho's thread: the run must stop
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> backpressure_ms_{0};
  LogRateLimiter connection_log_;  // Paho's thread only

  // Engine thread only.
  uint64_t read_position_;
  mutable uint64_t saved_position_;
  Timestamp watermark_ = kMinTime;
  Timestamp max_time_ = kMinTime;
  uint64_t records_read_ = 0;
  uint64_t records_rejected_ = 0;
  std::map<std::string, uint64_t> rejects_by_reason_;
  LogRateLimiter reject_log_;
  JournalRecord record_;  // reused buffers
  Row row_;
};

}  // namespace runnel
