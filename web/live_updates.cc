#include "web/live_updates.h"

#include "web/api_documents.h"

namespace runnel {

LiveUpdates::LiveUpdates(const Telemetry& telemetry, std::chrono::milliseconds period)
    : telemetry_(telemetry), period_(period), broadcaster_([this] { Broadcast(); }) {}

LiveUpdates::~LiveUpdates() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  broadcaster_.join();
  std::vector<uint64_t> ids;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, client] : clients_) ids.push_back(id);
  }
  for (uint64_t id : ids) Remove(id);
}

uint64_t LiveUpdates::Add(const StreamShape* view, uint64_t since, Writer writer, Closer closer) {
  std::lock_guard lock(mu_);
  if (clients_.size() >= kMaxClients || stopping_) return 0;
  auto client = std::make_unique<Client>();
  client->view = view;
  client->cursor = since;
  client->writer = std::move(writer);
  client->closer = std::move(closer);
  Client* raw = client.get();
  client->sender = std::thread([this, raw] { Send(raw); });
  const uint64_t id = next_id_++;
  clients_.emplace(id, std::move(client));
  return id;
}

void LiveUpdates::Remove(uint64_t id) {
  std::unique_ptr<Client> client;
  {
    std::lock_guard lock(mu_);
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    client = std::move(it->second);
    clients_.erase(it);
    client->closing = true;
  }
  client->wake.notify_all();
  client->sender.join();
}

LiveUpdateStats LiveUpdates::stats() const {
  std::lock_guard lock(mu_);
  return {clients_.size(), skipped_, disconnected_};
}

void LiveUpdates::Broadcast() {
  std::unique_lock lock(mu_);
  while (true) {
    stop_cv_.wait_for(lock, period_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    const std::shared_ptr<const TelemetrySnapshot> snapshot = telemetry_.Latest();
    const std::string metrics = snapshot ? MetricsMessage(telemetry_, snapshot.get()) : "";
    lock.lock();
    if (stopping_) break;
    for (auto& [id, client] : clients_) Offer(*client, snapshot.get(), metrics);
  }
}

void LiveUpdates::Offer(Client& client, const TelemetrySnapshot* snapshot,
                        const std::string& metrics) {
  if (client.closing) return;
  if (client.queue.size() >= kQueueLimit) {
    ++skipped_;
    if (++client.skips >= kMaxSkips) {
      ++disconnected_;
      client.closing = true;
      client.queue.clear();
      client.wake.notify_all();
    }
    return;
  }
  client.skips = 0;
  if (snapshot && snapshot->sequence != client.last_snapshot) {
    client.queue.push_back(metrics);
    client.last_snapshot = snapshot->sequence;
  }
  if (client.view) {
    const ChangeFeed* feed = telemetry_.feed(client.view->name);
    ChangeFeed::Page page = feed->ReadSince(client.cursor, kMaxChangesPerMessage);
    if (page.gap) {
      client.queue.push_back(ResyncMessage(*client.view, "gap"));
      client.cursor = feed->last_sequence();
    } else if (!page.changes.empty()) {
      client.queue.push_back(ChangesMessage(*client.view, page));
      client.cursor = page.next;
    }
  }
  if (!client.queue.empty()) client.wake.notify_all();
}

void LiveUpdates::Send(Client* client) {
  std::unique_lock lock(mu_);
  while (true) {
    client->wake.wait(lock, [client] { return client->closing || !client->queue.empty(); });
    if (client->closing) break;
    std::string message = std::move(client->queue.front());
    client->queue.pop_front();
    lock.unlock();
    const bool ok = client->writer(message);
    lock.lock();
    if (!ok) break;
  }
  const bool slow = client->closing && client->skips >= kMaxSkips;
  lock.unlock();
  if (slow) client->closer();
}

}  // namespace runnel
