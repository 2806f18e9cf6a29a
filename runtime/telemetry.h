// Telemetry: what the engine publishes for readers on other threads (the web dashboard, the
// API, /metrics). Two parts: a TelemetrySnapshot of every counter, published whole at most every
// ~250 ms, and per stream a ChangeFeed (a bounded ring of recent changes plus a bounded table of
// current rows). Threading: the engine thread writes; any thread reads. The engine never waits
// for a reader beyond a short mutex that readers hold only to copy a bounded amount of data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/operator.h"
#include "runtime/schema.h"
#include "runtime/time.h"
#include "runtime/value.h"

namespace runnel {

// The pipeline's shape: fixed before the run starts, so readers share it without locking.
struct StreamShape {
  std::string name;
  std::string kind;  // "source", "view", "late view", "status view"
  std::string description;
  std::vector<std::string> inputs;
  Schema schema;
};

struct SinkShape {
  std::string from;
  std::string description;
};

struct SourceTelemetry {
  std::string name;
  uint64_t records = 0;
  uint64_t rejects = 0;
  Timestamp watermark = kMinTime;
  std::optional<Duration> lag;  // wall clock minus watermark, when the watermark is finite
  double rate = 0;              // records per second since the previous snapshot
};

struct ViewTelemetry {
  std::string name;
  std::string kind;
  uint64_t rows_emitted = 0;  // changes emitted (inserts and retractions)
  uint64_t late_records = 0;
  uint64_t state_entries = 0;
  uint64_t duplicates = 0;
  Timestamp watermark = kMinTime;
};

struct SinkTelemetry {
  std::string from;
  std::string description;
  uint64_t rows_written = 0;
  std::optional<uint64_t> outbox_depth;     // MQTT sinks: messages waiting for the broker
  std::optional<uint64_t> outbox_overflow;  // MQTT sinks: messages dropped from a full outbox
};

struct ProcessTelemetry {
  uint64_t rss_bytes = 0;
  double cpu_seconds = 0;  // user + system
  double uptime_seconds = 0;
};

struct TelemetrySnapshot {
  uint64_t sequence = 0;   // 1 for the first published snapshot, then +1 each
  Timestamp taken_at = 0;  // wall clock, epoch ms
  uint64_t steps = 0;      // engine steps run so far
  std::vector<SourceTelemetry> sources;
  std::vector<ViewTelemetry> views;
  std::vector<SinkTelemetry> sinks;
  ProcessTelemetry process;
  std::optional<Duration> checkpoint_age;  // since the last checkpoint, once checkpoints exist
};

// One change of a stream as readers see it. `sequence` numbers a feed's changes from 1.
struct FeedChange {
  uint64_t sequence = 0;
  Timestamp time = 0;
  Diff diff = 0;
  Row row;
};

struct FeedRow {
  Row row;
  Timestamp time = 0;
  int64_t count = 0;      // multiplicity after consolidation (1 unless duplicates)
  uint64_t sequence = 0;  // the change that last touched the row
};

class ChangeFeed {
 public:
  struct Limits {
    size_t ring = 4096;   // recent changes kept for readers that follow the feed
    size_t rows = 10000;  // current rows kept; beyond it the least recently changed go
  };
  // `consolidate` false: the stream only inserts (a source), so its current rows are simply
  // its most recent changes and the feed keeps no table.
  ChangeFeed(Limits limits, bool consolidate);
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // Engine thread.
  void Append(const Row& row, Timestamp time, Diff diff);

  struct Page {
    std::vector<FeedChange> changes;  // oldest first
    uint64_t next = 0;                // pass as `since` to continue after these changes
    bool gap = false;  // changes after `since` were already dropped from the ring: resync
  };
  // Up to `limit` changes with sequence > since.
  Page ReadSince(uint64_t since, size_t limit) const;

  struct Rows {
    std::vector<FeedRow> rows;  // most recently changed first
    uint64_t sequence = 0;      // the last change they include: follow with ReadSince from it
    size_t total = 0;           // rows held (the table is bounded, see `evicted`)
    uint64_t evicted = 0;       // rows dropped from the bounded table so far
  };
  Rows CurrentRows(size_t limit) const;

  uint64_t last_sequence() const;

 private:
  void Consolidate(const FeedChange& change);

  const Limits limits_;
  const bool consolidate_;
  mutable std::mutex mu_;
  uint64_t last_sequence_ = 0;
  std::deque<FeedChange> ring_;
  std::unordered_map<Row, FeedRow, RowHash> table_;
  std::map<uint64_t, const Row*> by_sequence_;  // table_ rows by last change, for eviction
  uint64_t evicted_ = 0;
};

class Telemetry {
 public:
  Telemetry(std::vector<StreamShape> streams, std::vector<SinkShape> sinks,
            ChangeFeed::Limits limits);
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;

  const std::vector<StreamShape>& streams() const { return streams_; }
  const std::vector<SinkShape>& sinks() const { return sinks_; }
  const StreamShape* FindStream(const std::string& name) const;
  // The feed of a stream; nullptr for an unknown name. Feeds live as long as the Telemetry.
  ChangeFeed* feed(const std::string& name) const;

  // Engine thread: replaces the latest snapshot (its sequence is set here).
  void Publish(TelemetrySnapshot snapshot);
  // Any thread: the latest snapshot, or nullptr before the first Publish.
  std::shared_ptr<const TelemetrySnapshot> Latest() const;

 private:
  const std::vector<StreamShape> streams_;
  const std::vector<SinkShape> sinks_;
  std::map<std::string, std::unique_ptr<ChangeFeed>> feeds_;
  mutable std::mutex mu_;
  std::shared_ptr<const TelemetrySnapshot> latest_;
  uint64_t published_ = 0;
};

}  // namespace runnel
