#include "runtime/telemetry.h"

#include <algorithm>

namespace runnel {

ChangeFeed::ChangeFeed(Limits limits, bool consolidate)
    : limits_(limits), consolidate_(consolidate) {}

void ChangeFeed::Append(const Row& row, Timestamp time, Diff diff) {
  std::lock_guard lock(mu_);
  FeedChange& change = ring_.emplace_back(FeedChange{++last_sequence_, time, diff, row});
  if (consolidate_) Consolidate(change);
  if (ring_.size() > limits_.ring) ring_.pop_front();
}

void ChangeFeed::Consolidate(const FeedChange& change) {
  auto it = table_.find(change.row);
  if (it == table_.end()) {
    // A retraction of a row the bounded table already evicted has nothing left to cancel.
    if (change.diff <= 0) return;
    it = table_.emplace(change.row, FeedRow{change.row, change.time, 0, 0}).first;
  } else {
    by_sequence_.erase(it->second.sequence);
  }
  FeedRow& entry = it->second;
  entry.count += change.diff;
  entry.time = change.time;
  entry.sequence = change.sequence;
  if (entry.count <= 0) {
    table_.erase(it);
    return;
  }
  by_sequence_.emplace(entry.sequence, &it->first);
  if (table_.size() > limits_.rows) {
    auto oldest = by_sequence_.begin();
    table_.erase(*oldest->second);
    by_sequence_.erase(oldest);
    ++evicted_;
  }
}

ChangeFeed::Page ChangeFeed::ReadSince(uint64_t since, size_t limit) const {
  std::lock_guard lock(mu_);
  Page page;
  page.next = std::min(since, last_sequence_);
  if (ring_.empty()) return page;
  const uint64_t first = ring_.front().sequence;
  page.gap = page.next + 1 < first;
  for (uint64_t seq = std::max(page.next + 1, first);
       seq <= last_sequence_ && page.changes.size() < limit; ++seq) {
    page.changes.push_back(ring_[seq - first]);
  }
  if (!page.changes.empty()) page.next = page.changes.back().sequence;
  return page;
}

ChangeFeed::Rows ChangeFeed::CurrentRows(size_t limit) const {
  std::lock_guard lock(mu_);
  Rows rows;
  rows.sequence = last_sequence_;
  if (!consolidate_) {
    rows.total = ring_.size();
    rows.evicted = last_sequence_ - ring_.size();
    for (auto it = ring_.rbegin(); it != ring_.rend() && rows.rows.size() < limit; ++it) {
      rows.rows.push_back({it->row, it->time, 1, it->sequence});
    }
    return rows;
  }
  rows.total = table_.size();
  rows.evicted = evicted_;
  for (auto it = by_sequence_.rbegin(); it != by_sequence_.rend() && rows.rows.size() < limit;
       ++it) {
    rows.rows.push_back(table_.at(*it->second));
  }
  return rows;
}

uint64_t ChangeFeed::last_sequence() const {
  std::lock_guard lock(mu_);
  return last_sequence_;
}

Telemetry::Telemetry(std::vector<StreamShape> streams, std::vector<SinkShape> sinks,
                     ChangeFeed::Limits limits)
    : streams_(std::move(streams)), sinks_(std::move(sinks)) {
  for (const StreamShape& s : streams_) {
    feeds_.emplace(s.name, std::make_unique<ChangeFeed>(limits, s.kind != "source"));
  }
}

const StreamShape* Telemetry::FindStream(const std::string& name) const {
  for (const StreamShape& s : streams_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

ChangeFeed* Telemetry::feed(const std::string& name) const {
  auto it = feeds_.find(name);
  return it == feeds_.end() ? nullptr : it->second.get();
}

void Telemetry::Publish(TelemetrySnapshot snapshot) {
  // Built outside the lock, so readers wait at most for a pointer swap.
  auto shared = std::make_shared<TelemetrySnapshot>(std::move(snapshot));
  std::lock_guard lock(mu_);
  shared->sequence = ++published_;
  latest_ = std::move(shared);
}

std::shared_ptr<const TelemetrySnapshot> Telemetry::Latest() const {
  std::lock_guard lock(mu_);
  return latest_;
}

}  // namespace runnel
