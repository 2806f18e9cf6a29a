#include "mqtt/uplink.h"

#include <algorithm>
#include <thread>
#include <utility>

namespace runnel {

namespace {

Timestamp Millis(std::chrono::seconds s) { return static_cast<Timestamp>(s.count()) * 1000; }

}  // namespace

Uplink::Uplink(PrivateTag, BrokerOptions broker, std::string name, const Clock* clock,
               Logger* logger, UplinkOptions options)
    : broker_(std::move(broker)),
      name_(std::move(name)),
      clock_(clock),
      logger_(logger),
      options_(options) {}

Result<std::unique_ptr<Uplink>> Uplink::Create(BrokerOptions broker, std::string name,
                                               const Clock* clock, Logger* logger,
                                               UplinkOptions options) {
  broker.clean_start = true;
  RUNNEL_ASSIGN_OR_RETURN(mqtt::connect_options connect, MakeConnectOptions(broker));
  // Reconnecting is ours (Pump), so that a first connection that fails is retried too.
  connect.set_automatic_reconnect(false);
  connect.set_connect_timeout(options.connect_timeout);
  RUNNEL_ASSIGN_OR_RETURN(std::unique_ptr<mqtt::async_client> client,
                          MakeBrokerClient(broker, /*persistence_dir=*/""));
  auto uplink = std::make_unique<Uplink>(PrivateTag(), std::move(broker), std::move(name), clock,
                                         logger, options);
  uplink->client_ = std::move(client);
  uplink->connect_options_ = std::move(connect);
  return uplink;
}

Uplink::~Uplink() {
  if (client_ == nullptr) return;
  try {
    if (client_->is_connected()) client_->disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const mqtt::exception&) {
    // Closing anyway: the broker drops the connection when the socket closes.
  }
}

void Uplink::Enqueue(OutboxMessage message) { queue_.push_back(std::move(message)); }

void Uplink::Pump(std::vector<int64_t>* delivered) {
  switch (state_) {
    case State::kIdle:
      StartConnect();
      break;
    case State::kWaiting:
      if (clock_->NowMillis() >= retry_at_) StartConnect();
      break;
    case State::kConnecting:
      CheckConnect();
      break;
    case State::kConnected:
      break;
  }
  if (state_ != State::kConnected) return;
  CollectDelivered(delivered);
  if (state_ != State::kConnected) return;
  if (!client_->is_connected()) {
    LoseConnection("the connection was lost");
    return;
  }
  SendWindow();
}

void Uplink::StartConnect() {
  try {
    connect_token_ = client_->connect(connect_options_);
    state_ = State::kConnecting;
  } catch (const mqtt::exception& e) {
    state_ = State::kConnecting;
    connect_token_.reset();
    ReportUnreachable(e.what());
  }
}

void Uplink::CheckConnect() {
  std::string error;
  try {
    if (connect_token_ && !connect_token_->try_wait()) return;
  } catch (const mqtt::exception& e) {
    error = e.what();
  }
  if (!connect_token_ || !error.empty()) {
    backoff_ = backoff_.count() == 0 ? broker_.min_reconnect_delay
                                     : std::min(backoff_ * 2, broker_.max_reconnect_delay);
    retry_at_ = clock_->NowMillis() + Millis(backoff_);
    state_ = State::kWaiting;
    if (!error.empty()) ReportUnreachable(error);
    return;
  }
  connect_token_.reset();
  state_ = State::kConnected;
  backoff_ = std::chrono::seconds(0);
  last_report_ = kMinTime;
  logger_->Info(name_ + ": connected to " + DescribeBroker(broker_) +
                (queue_.empty() ? ""
                                : "; sending " + std::to_string(queue_.size()) +
                                      " waiting messages in order"));
}

void Uplink::ReportUnreachable(const std::string& why) {
  const Timestamp now = clock_->NowMillis();
  if (last_report_ != kMinTime && now - last_report_ < Millis(options_.report_interval)) return;
  last_report_ = now;
  logger_->Warning(name_ + ": cannot reach " + DescribeBroker(broker_) + ": " + why + "; " +
                   std::to_string(queue_.size()) +
                   " messages wait in the outbox and go out in order once it is back (retrying "
                   "every " +
                   std::to_string(broker_.min_reconnect_delay.count()) + " to " +
                   std::to_string(broker_.max_reconnect_delay.count()) + " s)");
}

void Uplink::LoseConnection(const std::string& why) {
  // What Paho still holds is sent again, from the oldest, on the next connection.
  in_flight_.clear();
  state_ = State::kWaiting;
  backoff_ = std::chrono::seconds(0);
  retry_at_ = clock_->NowMillis();
  last_report_ = kMinTime;
  ReportUnreachable(why);
}

void Uplink::CollectDelivered(std::vector<int64_t>* delivered) {
  while (!in_flight_.empty()) {
    std::string error;
    try {
      if (!in_flight_.front()->try_wait()) return;
    } catch (const mqtt::exception& e) {
      error = e.what();
    }
    if (!error.empty()) {
      if (!client_->is_connected()) {
        LoseConnection(error);
        return;
      }
      // Connected, yet this message failed: the broker refused it (e.g. not authorized for
      // the topic). Sending it again would block every later message behind it.
      logger_->Warning(name_ + ": " + DescribeBroker(broker_) + " refused a message to topic " +
                       queue_.front().topic + ": " + error + "; it is dropped");
    }
    delivered->push_back(queue_.front().id);
    queue_.pop_front();
    in_flight_.pop_front();
  }
}

void Uplink::SendWindow() {
  while (in_flight_.size() < queue_.size() && in_flight_.size() < options_.window) {
    const OutboxMessage& m = queue_[in_flight_.size()];
    try {
      in_flight_.push_back(
          client_->publish(mqtt::make_message(m.topic, m.payload, m.qos, m.retain)));
    } catch (const mqtt::exception& e) {
      LoseConnection(e.what());
      return;
    }
  }
}

size_t Uplink::DropOldest(size_t n, std::vector<int64_t>* dropped) {
  const size_t first = in_flight_.size();
  const size_t count = std::min(n, queue_.size() - first);
  for (size_t i = 0; i < count; ++i) dropped->push_back(queue_[first + i].id);
  const auto begin = queue_.begin() + static_cast<std::ptrdiff_t>(first);
  queue_.erase(begin, begin + static_cast<std::ptrdiff_t>(count));
  return count;
}

void Uplink::Close(std::chrono::milliseconds timeout, std::vector<int64_t>* delivered) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!queue_.empty() && state_ != State::kWaiting &&
         std::chrono::steady_clock::now() < deadline) {
    Pump(delivered);
    if (!queue_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (state_ == State::kConnected) {
    try {
      client_->disconnect()->wait_for(std::chrono::seconds(2));
    } catch (const mqtt::exception&) {
      // The broker drops the connection with the socket anyway.
    }
  }
  in_flight_.clear();
  state_ = State::kIdle;
}

}  // namespace runnel
