// Uplink: one MQTT connection that delivers a queue of messages in order, for MQTT sinks and
// `runnel simulate`. Pump() connects (and reconnects, with backoff), hands the oldest messages
// to Paho's asynchronous client up to a window, and takes back, in queue order, those the
// broker acknowledged (QoS 1/2) or that were sent (QoS 0). After a lost connection the
// unacknowledged ones are sent again from the oldest: delivery is in order, at least once.
// Nothing blocks except Close(). Threading: one owner thread calls everything; Paho's threads
// only complete tokens, which the owner polls (so no work and no exception is in a callback).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "mqtt/broker_options.h"
#include "runtime/clock.h"
#include "runtime/logger.h"
#include "runtime/message_outbox.h"
#include "runtime/status.h"

namespace runnel {

struct UplinkOptions {
  size_t window = 256;  // messages handed to Paho at a time: bounds Paho's memory
  std::chrono::seconds connect_timeout{10};
  // How often a broker that stays unreachable is reported in the log.
  std::chrono::seconds report_interval{60};
};

class Uplink {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // `broker.clean_start` is forced on: the queue, not the broker session, holds what is
  // undelivered. `name` says whose uplink this is in log lines ("sink from 'alerts'").
  // `clock` (backoff timing) and `logger` must outlive the uplink. Does not connect yet.
  static Result<std::unique_ptr<Uplink>> Create(BrokerOptions broker, std::string name,
                                                const Clock* clock, Logger* logger,
                                                UplinkOptions options = {});
  Uplink(PrivateTag, BrokerOptions broker, std::string name, const Clock* clock, Logger* logger,
         UplinkOptions options);
  ~Uplink();
  Uplink(const Uplink&) = delete;
  Uplink& operator=(const Uplink&) = delete;

  // Queues a message behind the others. REQUIRES: ids increase.
  void Enqueue(OutboxMessage message);
  // Drives the connection and delivery; appends the ids of messages now delivered.
  void Pump(std::vector<int64_t>* delivered);
  // Drops up to `n` of the oldest queued messages not yet handed to the broker (those may
  // already be there); appends their ids and returns how many.
  size_t DropOldest(size_t n, std::vector<int64_t>* dropped);
  // Pumps until the queue is empty, `timeout` passed, or the broker proved unreachable (a
  // connection attempt failed), then disconnects. Appends the ids delivered meanwhile.
  void Close(std::chrono::milliseconds timeout, std::vector<int64_t>* delivered);

  size_t depth() const { return queue_.size(); }  // queued, including those in flight
  bool connected() const { return state_ == State::kConnected; }
  // Whether the last connection attempt failed (the broker is unreachable right now).
  bool unreachable() const { return state_ == State::kWaiting; }
  const BrokerOptions& broker() const { return broker_; }

 private:
  enum class State { kIdle, kConnecting, kConnected, kWaiting };

  void StartConnect();
  void CheckConnect();
  void CollectDelivered(std::vector<int64_t>* delivered);
  void LoseConnection(const std::string& why);
  void SendWindow();
  void ReportUnreachable(const std::string& why);

  BrokerOptions broker_;
  std::string name_;
  const Clock* clock_;
  Logger* logger_;
  UplinkOptions options_;
  std::unique_ptr<mqtt::async_client> client_;
  mqtt::connect_options connect_options_;

  State state_ = State::kIdle;
  mqtt::token_ptr connect_token_;
  Timestamp retry_at_ = 0;
  std::chrono::seconds backoff_{0};
  Timestamp last_report_ = kMinTime;

  std::deque<OutboxMessage> queue_;
  // Tokens of queue_[0 .. in_flight_.size()), the messages handed to Paho, in order.
  std::deque<mqtt::delivery_token_ptr> in_flight_;
};

}  // namespace runnel
