// LiveUpdates: the WebSocket clients of /api/v1/live and the broadcaster thread that feeds
// them (docs/api.md). About every 250 ms the broadcaster builds each client's next messages
// (metrics when a new snapshot was published; the changes of the client's view after its
// cursor) and queues them; a sender thread per client writes its queue to the socket, so a
// slow socket stalls only its own client. Backpressure: a client whose queue is full is
// skipped (counted) and its cursor stays put, so it later gets what it missed, or a "resync"
// message once the feed's ring moved past it; a client skipped kMaxSkips times in a row is
// disconnected. The engine is never involved: the broadcaster reads telemetry only.
// Threading: Add/Remove from any thread (CivetWeb's); internal mutex.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "runtime/telemetry.h"

namespace runnel {

struct LiveUpdateStats {
  uint64_t clients = 0;
  uint64_t skipped = 0;       // times a client's full queue made the broadcaster skip it
  uint64_t disconnected = 0;  // clients dropped for being too slow
};

class LiveUpdates {
 public:
  static constexpr size_t kMaxClients = 32;
  static constexpr size_t kQueueLimit = 4;  // messages waiting per client
  static constexpr int kMaxSkips = 120;     // ~30 s of a stalled client
  static constexpr size_t kMaxChangesPerMessage = 2000;

  // Writes one text message to the client's socket; false when the connection failed.
  using Writer = std::function<bool(std::string_view message)>;
  // Asks the connection to close (a slow client).
  using Closer = std::function<void()>;

  explicit LiveUpdates(const Telemetry& telemetry,
                       std::chrono::milliseconds period = std::chrono::milliseconds(250));
  ~LiveUpdates();
  LiveUpdates(const LiveUpdates&) = delete;
  LiveUpdates& operator=(const LiveUpdates&) = delete;

  // A new client that follows `view` (null: metrics only) from change `since` on. Returns its
  // id, or 0 when kMaxClients are connected already.
  uint64_t Add(const StreamShape* view, uint64_t since, Writer writer, Closer closer);
  // Stops the client's sender thread; after it returns the writer is never called again.
  void Remove(uint64_t id);

  LiveUpdateStats stats() const;

 private:
  struct Client {
    const StreamShape* view = nullptr;
    uint64_t cursor = 0;
    uint64_t last_snapshot = 0;
    int skips = 0;
    bool closing = false;
    std::deque<std::string> queue;
    Writer writer;
    Closer closer;
    std::condition_variable wake;
    std::thread sender;
  };

  void Broadcast();
  void Offer(Client& client, const TelemetrySnapshot* snapshot, const std::string& metrics);
  void Send(Client* client);

  const Telemetry& telemetry_;
  const std::chrono::milliseconds period_;
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Client>> clients_;
  uint64_t skipped_ = 0;
  uint64_t disconnected_ = 0;
  std::thread broadcaster_;
};

}  // namespace runnel
