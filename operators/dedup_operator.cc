#include "operators/dedup_operator.h"

#include <algorithm>
#include <cassert>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <utility>

#include "operators/keyed_buffers.h"
#include "operators/state_fingerprint.h"

namespace runnel {
namespace {

using keyed::ChangeArena;
using keyed::Distance;

constexpr size_t kNone = static_cast<size_t>(-1);

// True when no change at a time <= t can still arrive (the watermark itself is still open).
bool Passed(Timestamp watermark, Timestamp t) { return watermark == kMaxTime || watermark > t; }

bool ByTime(const auto& a, const auto& b) { return a.time < b.time; }
bool ByTimeSeq(const auto& a, const auto& b) {
  return a.time != b.time ? a.time < b.time : a.seq < b.seq;
}

using TimeHeap = std::priority_queue<std::pair<Timestamp, uint32_t>,
                                     std::vector<std::pair<Timestamp, uint32_t>>, std::greater<>>;

}  // namespace

class DedupOperator::Impl {
 public:
  Impl(DedupOperatorSpec spec, std::string fingerprint, Output* results, Output* late)
      : spec_(std::move(spec)),
        fingerprint_(std::move(fingerprint)),
        updates_(spec_.emit == EmitMode::kUpdates),
        late_(late),
        step_(results) {}

  void OnChange(const Row& row, Timestamp time, Diff diff);
  Status Advance(std::span<const Timestamp> input_watermarks, Timestamp* output_watermark);
  OperatorStats stats() const;
  void SaveState(SnapshotWriter* out) const;
  Status LoadState(SnapshotReader* in);
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  struct Record {
    Timestamp time;
    uint64_t seq;  // arrival order: breaks ties between equal times
    Row row;
    bool kept = false;     // current status
    bool emitted = false;  // whether the output holds this record
  };

  struct PendingChange {
    Timestamp time;
    uint64_t seq;
    Diff diff;
    Row row;
  };

  struct KeyState {
    Row key;
    size_t key_hash = 0;
    bool live = false;
    bool dirty = false;
    // This step, when the key held nothing before it and gets only insertions in time order
    // (a static run, or a key seen again after its state was forgotten): its statuses are
    // computed while streaming through the arena, and only what must be held is unpacked.
    bool fast = false;
    std::optional<Timestamp> last_time;    // of this step's entries, to check their order
    std::optional<Timestamp> fast_anchor;  // time of the last kept record so far
    const char* fast_candidate = nullptr;  // last kept entry below the horizon
    uint64_t fast_candidate_seq = 0;
    std::vector<Record> records;  // sorted by (time, seq), one per unit of multiplicity
    std::vector<PendingChange> pending;
    std::vector<Record> waiting;  // retractions that came before their insertion
    std::vector<Record> removed;  // emitted records retracted in this step
    std::optional<Timestamp> queued_due, queued_eviction;
  };

  uint32_t KeyFor(const Row& row);
  void FastInsert(KeyState& k, const char* entry);
  void HoldFastCandidate(KeyState& k);
  bool Apply(KeyState& k);
  void Remove(KeyState& k, PendingChange& change);
  void Settle(uint32_t id);
  void Evict(uint32_t id);
  void MaybeForget(uint32_t id);

  const DedupOperatorSpec spec_;
  const std::string fingerprint_;
  const bool updates_;
  Output* late_;
  keyed::StepOutput step_;
  ChangeArena changes_;  // this step's changes, in arrival order
  Row scratch_;

  keyed::KeyIndex key_ids_;
  std::vector<KeyState> keys_;
  std::vector<uint32_t> free_ids_;
  std::vector<uint32_t> dirty_;
  TimeHeap due_heap_;       // final mode: keys by their earliest kept record not yet emitted
  TimeHeap eviction_heap_;  // keys by the horizon at which records can be forgotten

  uint64_t seq_ = 0;
  Timestamp watermark_ = kMinTime;
  Timestamp horizon_ = kMinTime;  // watermark - allowed_lateness: records below are late
  uint64_t late_records_ = 0;
  uint64_t duplicates_ = 0;
};

uint32_t DedupOperator::Impl::KeyFor(const Row& row) {
  const size_t hash = keyed::HashKey(row, spec_.by);
  const uint32_t found = key_ids_.Find(hash, [&](uint32_t id) {
    const Row& key = keys_[id].key;
    for (size_t i = 0; i < spec_.by.size(); ++i) {
      if (!(row[spec_.by[i]] == key[i])) return false;
    }
    return true;
  });
  if (found != keyed::KeyIndex::kNotFound) return found;
  uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<uint32_t>(keys_.size());
    keys_.emplace_back();
  }
  KeyState& k = keys_[id];
  k.live = true;
  for (size_t c : spec_.by) k.key.push_back(row[c]);
  k.key_hash = hash;
  key_ids_.Insert(hash, id);
  return id;
}

void DedupOperator::Impl::OnChange(const Row& row, Timestamp time, Diff diff) {
  if (diff == 0) return;
  if (time < horizon_) {
    ++late_records_;
    late_->Emit(row, time, diff);
    return;
  }
  const uint32_t id = KeyFor(row);
  KeyState& k = keys_[id];
  if (!k.dirty) {
    k.dirty = true;
    dirty_.push_back(id);
    k.fast = k.records.empty() && k.waiting.empty();
    k.last_time.reset();
  }
  if (diff < 0 || (k.last_time && time < *k.last_time)) k.fast = false;
  k.last_time = time;
  changes_.Append(time, diff, id, row);
}

// One entry of a fast key (see KeyState::fast), in time order: decided at once against the
// last kept record. What is final is emitted and forgotten straight from the arena; what can
// still change (at or after the horizon), and the last kept record below the horizon while
// its window reaches it, is held as a Record.
void DedupOperator::Impl::FastInsert(KeyState& k, const char* entry) {
  const Timestamp time = ChangeArena::TimeOf(entry);
  for (Diff n = 0; n < ChangeArena::DiffOf(entry); ++n) {
    const bool kept = !k.fast_anchor || Distance(time, *k.fast_anchor) >= spec_.within;
    if (kept) k.fast_anchor = time;
    const bool emit = kept && (updates_ || Passed(watermark_, time));
    if (emit) {
      scratch_ = ChangeArena::Unpack(entry);
      step_.Add(scratch_, time, 1);
    }
    const uint64_t seq = seq_++;
    if (time < horizon_) {
      if (kept) {
        k.fast_candidate = entry;
        k.fast_candidate_seq = seq;
      } else {
        ++duplicates_;
      }
      continue;
    }
    HoldFastCandidate(k);
    k.records.push_back({time, seq, ChangeArena::Unpack(entry), kept, emit});
  }
}

void DedupOperator::Impl::HoldFastCandidate(KeyState& k) {
  if (!k.fast_candidate) return;
  const Timestamp time = ChangeArena::TimeOf(k.fast_candidate);
  if (horizon_ != kMaxTime && Distance(horizon_, time) < spec_.within) {
    k.records.insert(k.records.begin(), {time, k.fast_candidate_seq,
                                         ChangeArena::Unpack(k.fast_candidate), true, true});
  }
  k.fast_candidate = nullptr;
}

void DedupOperator::Impl::Remove(KeyState& k, PendingChange& change) {
  std::vector<Record>& rs = k.records;
  const Timestamp time = change.time;
  const auto first =
      std::partition_point(rs.begin(), rs.end(), [time](const Record& r) { return r.time < time; });
  const auto last =
      std::partition_point(first, rs.end(), [time](const Record& r) { return r.time <= time; });
  // The most recent identical record: a retraction undoes the latest matching insertion.
  for (auto it = last; it != first;) {
    --it;
    if (!(it->row == change.row)) continue;
    if (it->emitted) k.removed.push_back(std::move(*it));
    rs.erase(it);
    return;
  }
  k.waiting.push_back({change.time, change.seq, change.row});
}

// Applies a key's pending changes and recomputes the statuses they can affect. Returns
// whether the step's output may contain retractions.
bool DedupOperator::Impl::Apply(KeyState& k) {
  std::vector<PendingChange>& pending = k.pending;
  const auto less = [](const PendingChange& a, const PendingChange& b) { return ByTime(a, b); };
  if (!std::is_sorted(pending.begin(), pending.end(), less)) {
    std::stable_sort(pending.begin(), pending.end(), less);
  }
  const Timestamp lowest = pending.front().time;
  const Timestamp highest = pending.back().time;

  // Insertions first, so that a retraction cancels an insertion of the same step whichever
  // came first.
  std::vector<Record> added;
  for (PendingChange& c : pending) {
    for (Diff n = 0; n < c.diff; ++n) {
      const auto waiting = std::find_if(k.waiting.begin(), k.waiting.end(), [&](const Record& w) {
        return w.time == c.time && w.row == c.row;
      });
      if (waiting != k.waiting.end()) {
        k.waiting.erase(waiting);
        continue;
      }
      const uint64_t seq = c.seq + static_cast<uint64_t>(n);
      added.push_back({c.time, seq, n + 1 == c.diff ? std::move(c.row) : c.row});
    }
  }
  std::vector<Record>& rs = k.records;
  if (!added.empty()) {
    const size_t middle = rs.size();
    const bool in_order = rs.empty() || !ByTimeSeq(added.front(), rs.back());
    rs.insert(rs.end(), std::make_move_iterator(added.begin()),
              std::make_move_iterator(added.end()));
    if (!in_order) {
      std::inplace_merge(rs.begin(), rs.begin() + static_cast<std::ptrdiff_t>(middle), rs.end(),
                         [](const Record& a, const Record& b) { return ByTimeSeq(a, b); });
    }
  }
  for (PendingChange& c : pending) {
    for (Diff n = 0; n < -c.diff; ++n) Remove(k, c);
  }
  pending.clear();
  if (pending.capacity() > 1024) pending.shrink_to_fit();

  // Statuses before `lowest` do not depend on this step's changes; from there on the chain of
  // kept records is recomputed until it is back on its old course past the last change.
  bool retracts = !k.removed.empty();
  size_t start = static_cast<size_t>(
      std::partition_point(rs.begin(), rs.end(),
                           [lowest](const Record& r) { return r.time < lowest; }) -
      rs.begin());
  std::optional<Timestamp> anchor;
  for (size_t i = start; i-- > 0;) {
    if (rs[i].kept) {
      anchor = rs[i].time;
      break;
    }
  }
  for (size_t i = start; i < rs.size(); ++i) {
    Record& r = rs[i];
    const bool kept = !anchor || Distance(r.time, *anchor) >= spec_.within;
    if (r.time > highest && r.kept && kept) break;
    r.kept = kept;
    if (kept) anchor = r.time;
    if (r.emitted && !kept) retracts = true;
  }
  return retracts;
}

// Brings the output up to date with a key's statuses (final mode: for records whose status
// is final), then forgets what is below the horizon.
void DedupOperator::Impl::Settle(uint32_t id) {
  KeyState& k = keys_[id];
  for (const Record& r : k.removed) step_.Add(r.row, r.time, -1);
  k.removed.clear();
  std::optional<Timestamp> due;
  for (Record& r : k.records) {
    const bool wants = r.kept && (updates_ || Passed(watermark_, r.time));
    if (wants != r.emitted) {
      step_.Add(r.row, r.time, wants ? 1 : -1);
      r.emitted = wants;
    }
    if (r.kept && !r.emitted && !due) due = r.time;
  }
  if (due != k.queued_due) {
    k.queued_due = due;
    if (due) due_heap_.push({*due, id});
  }
  Evict(id);
}

void DedupOperator::Impl::Evict(uint32_t id) {
  KeyState& k = keys_[id];
  std::vector<Record>& rs = k.records;
  const Timestamp horizon = horizon_;
  const size_t below = static_cast<size_t>(
      std::partition_point(rs.begin(), rs.end(),
                           [horizon](const Record& r) { return r.time < horizon; }) -
      rs.begin());
  if (below > 0) {
    // The last kept record below the horizon decides the records after it while its window
    // still reaches the horizon.
    size_t anchor = kNone;
    for (size_t i = below; i-- > 0;) {
      if (rs[i].kept) {
        if (horizon != kMaxTime && Distance(horizon, rs[i].time) < spec_.within) anchor = i;
        break;
      }
    }
    for (size_t i = 0; i < below; ++i) {
      if (!rs[i].kept) ++duplicates_;
    }
    if (anchor != kNone) std::swap(rs[0], rs[anchor]);
    rs.erase(rs.begin() + (anchor != kNone ? 1 : 0),
             rs.begin() + static_cast<std::ptrdiff_t>(below));
    if (rs.capacity() > 2 * rs.size() + 64) rs.shrink_to_fit();
  }
  std::erase_if(k.waiting, [horizon](const Record& w) { return w.time < horizon; });

  // The least horizon at which something more can be forgotten.
  std::optional<Timestamp> next;
  const auto consider = [&next](Timestamp t) {
    if (!next || t < *next) next = t;
  };
  if (!rs.empty()) {
    if (!rs[0].kept) {
      consider(AddSaturating(rs[0].time, 1));
    } else {
      consider(AddSaturating(rs[0].time, spec_.within));
      if (rs.size() > 1) consider(AddSaturating(rs[1].time, 1));
    }
  }
  for (const Record& w : k.waiting) consider(AddSaturating(w.time, 1));
  if (next != k.queued_eviction) {
    k.queued_eviction = next;
    if (next) eviction_heap_.push({*next, id});
  }
}

void DedupOperator::Impl::MaybeForget(uint32_t id) {
  KeyState& k = keys_[id];
  if (!k.live || k.dirty || !k.records.empty() || !k.waiting.empty()) return;
  key_ids_.Erase(k.key_hash, id);
  k = KeyState();
  free_ids_.push_back(id);
}

Status DedupOperator::Impl::Advance(std::span<const Timestamp> input_watermarks,
                                    Timestamp* output_watermark) {
  if (input_watermarks.size() != 1) {
    return Status::Invalid("dedup: expected 1 input watermark, got " +
                           std::to_string(input_watermarks.size()));
  }
  watermark_ = std::max(watermark_, input_watermarks[0]);
  // This step's records were accepted under the previous horizon; the new one judges the next
  // step's records and bounds what must be kept.
  horizon_ = SubtractSaturating(watermark_, spec_.allowed_lateness);

  // Keys on the slow path get their changes as Rows and go through Apply; fast keys stream.
  changes_.ForEach([this](const char* entry) {
    KeyState& k = keys_[ChangeArena::KeyOf(entry)];
    if (k.fast) return;
    const Diff diff = ChangeArena::DiffOf(entry);
    k.pending.push_back({ChangeArena::TimeOf(entry), seq_, diff, ChangeArena::Unpack(entry)});
    seq_ += static_cast<uint64_t>(diff > 0 ? diff : 1);
  });
  bool retracts = false;
  for (uint32_t id : dirty_) {
    if (!keys_[id].fast) retracts = Apply(keys_[id]) || retracts;
  }
  step_.Begin(retracts);
  changes_.ForEach([this](const char* entry) {
    KeyState& k = keys_[ChangeArena::KeyOf(entry)];
    if (k.fast) FastInsert(k, entry);
  });
  std::vector<uint32_t> touched;
  touched.swap(dirty_);
  for (uint32_t id : touched) {
    KeyState& k = keys_[id];
    if (k.fast) {
      HoldFastCandidate(k);
      k.fast = false;
      k.fast_anchor.reset();
    }
    k.dirty = false;
    Settle(id);
  }
  changes_.Clear();
  while (!due_heap_.empty() && Passed(watermark_, due_heap_.top().first)) {
    const auto [due, id] = due_heap_.top();
    due_heap_.pop();
    KeyState& k = keys_[id];
    if (!k.live || k.queued_due != due) continue;
    k.queued_due.reset();
    Settle(id);
    touched.push_back(id);
  }
  while (!eviction_heap_.empty() && eviction_heap_.top().first <= horizon_) {
    const auto [at, id] = eviction_heap_.top();
    eviction_heap_.pop();
    KeyState& k = keys_[id];
    if (!k.live || k.queued_eviction != at) continue;
    k.queued_eviction.reset();
    Evict(id);
    touched.push_back(id);
  }
  for (uint32_t id : touched) MaybeForget(id);
  step_.Finish();
  // New records come at or after the horizon, and only records at or after it can change.
  *output_watermark = horizon_;
  return Status::Ok();
}

OperatorStats DedupOperator::Impl::stats() const {
  OperatorStats s;
  s.late_records = late_records_;
  s.duplicates = duplicates_;
  for (const KeyState& k : keys_) s.state_entries += k.records.size();
  return s;
}

namespace {

void SaveOptionalTime(SnapshotWriter* out, const std::optional<Timestamp>& t) {
  out->WriteBool(t.has_value());
  if (t) out->WriteTimestamp(*t);
}

Status LoadOptionalTime(SnapshotReader* in, std::string_view what, std::optional<Timestamp>* t) {
  bool present = false;
  RUNNEL_RETURN_IF_ERROR(in->ReadBool(what, &present));
  t->reset();
  if (!present) return Status::Ok();
  Timestamp value = 0;
  RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp(what, &value));
  *t = value;
  return Status::Ok();
}

}  // namespace

void DedupOperator::Impl::SaveState(SnapshotWriter* out) const {
  assert(dirty_.empty() && changes_.empty() && "SaveState between steps only");
  out->WriteString("dedup");
  out->WriteVarint(spec_.by.size());
  out->WriteVarint(seq_);
  out->WriteTimestamp(watermark_);
  out->WriteTimestamp(horizon_);
  out->WriteVarint(late_records_);
  out->WriteVarint(duplicates_);
  out->WriteVarint(keys_.size());
  for (const KeyState& k : keys_) {
    out->WriteBool(k.live);
    if (!k.live) continue;
    out->WriteRow(k.key);
    out->WriteVarint(k.records.size());
    for (const Record& r : k.records) {
      out->WriteTimestamp(r.time);
      out->WriteVarint(r.seq);
      out->WriteRow(r.row);
      out->WriteU8(static_cast<uint8_t>((r.kept ? 1 : 0) | (r.emitted ? 2 : 0)));
    }
    out->WriteVarint(k.waiting.size());
    for (const Record& w : k.waiting) {
      out->WriteTimestamp(w.time);
      out->WriteVarint(w.seq);
      out->WriteRow(w.row);
    }
    SaveOptionalTime(out, k.queued_due);
    SaveOptionalTime(out, k.queued_eviction);
  }
  out->WriteVarint(free_ids_.size());
  for (uint32_t id : free_ids_) out->WriteVarint(id);
}

Status DedupOperator::Impl::LoadState(SnapshotReader* in) {
  std::string kind;
  uint64_t width = 0;
  RUNNEL_RETURN_IF_ERROR(in->ReadString("operator kind", &kind));
  RUNNEL_RETURN_IF_ERROR(in->ReadVarint("dedup `by` width", &width));
  if (kind != "dedup" || width != spec_.by.size()) {
    return Status::Invalid("dedup state was saved by a different definition (" + kind + " with " +
                           std::to_string(width) + " key columns; this view has " +
                           std::to_string(spec_.by.size()) +
                           "): restart with --reset-state or replay the log");
  }
  RUNNEL_RETURN_IF_ERROR(in->ReadVarint("dedup arrival counter", &seq_));
  RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("dedup watermark", &watermark_));
  RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("dedup horizon", &horizon_));
  RUNNEL_RETURN_IF_ERROR(in->ReadVarint("dedup late record counter", &late_records_));
  RUNNEL_RETURN_IF_ERROR(in->ReadVarint("dedup duplicate counter", &duplicates_));
  size_t num_keys = 0;
  RUNNEL_RETURN_IF_ERROR(in->ReadCount("dedup key count", 1, &num_keys));
  std::vector<size_t> key_columns(spec_.by.size());
  for (size_t i = 0; i < key_columns.size(); ++i) key_columns[i] = i;
  keys_.resize(num_keys);
  for (uint32_t id = 0; id < num_keys; ++id) {
    KeyState& k = keys_[id];
    RUNNEL_RETURN_IF_ERROR(in->ReadBool("dedup key liveness", &k.live));
    if (!k.live) continue;
    RUNNEL_RETURN_IF_ERROR(in->ReadRow("dedup key", &k.key));
    if (k.key.size() != spec_.by.size()) return in->Corrupt("dedup key", "has the wrong width");
    k.key_hash = keyed::HashKey(k.key, key_columns);
    const uint32_t existing =
        key_ids_.Find(k.key_hash, [&](uint32_t other) { return keys_[other].key == k.key; });
    if (existing != keyed::KeyIndex::kNotFound) return in->Corrupt("dedup key", "appears twice");
    key_ids_.Insert(k.key_hash, id);
    size_t n = 0;
    RUNNEL_RETURN_IF_ERROR(in->ReadCount("dedup record count", 4, &n));
    k.records.resize(n);
    for (size_t i = 0; i < n; ++i) {
      Record& r = k.records[i];
      uint8_t flags = 0;
      RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("dedup record time", &r.time));
      RUNNEL_RETURN_IF_ERROR(in->ReadVarint("dedup record arrival", &r.seq));
      RUNNEL_RETURN_IF_ERROR(in->ReadRow("dedup record", &r.row));
      RUNNEL_RETURN_IF_ERROR(in->ReadU8("dedup record status", &flags));
      if (flags > 3) return in->Corrupt("dedup record status", "is unknown");
      r.kept = (flags & 1) != 0;
      r.emitted = (flags & 2) != 0;
      if (i > 0 && ByTimeSeq(r, k.records[i - 1])) {
        return in->Corrupt("dedup records", "are out of (time, arrival) order");
      }
    }
    RUNNEL_RETURN_IF_ERROR(in->ReadCount("dedup waiting retraction count", 3, &n));
    k.waiting.resize(n);
    for (Record& w : k.waiting) {
      RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("dedup waiting retraction time", &w.time));
      RUNNEL_RETURN_IF_ERROR(in->ReadVarint("dedup waiting retraction arrival", &w.seq));
      RUNNEL_RETURN_IF_ERROR(in->ReadRow("dedup waiting retraction", &w.row));
    }
    RUNNEL_RETURN_IF_ERROR(LoadOptionalTime(in, "dedup due time", &k.queued_due));
    RUNNEL_RETURN_IF_ERROR(LoadOptionalTime(in, "dedup eviction time", &k.queued_eviction));
    if (k.queued_due) due_heap_.push({*k.queued_due, id});
    if (k.queued_eviction) eviction_heap_.push({*k.queued_eviction, id});
  }
  size_t num_free = 0;
  RUNNEL_RETURN_IF_ERROR(in->ReadCount("dedup free key count", 1, &num_free));
  std::vector<bool> freed(keys_.size(), false);
  for (size_t i = 0; i < num_free; ++i) {
    uint64_t id = 0;
    RUNNEL_RETURN_IF_ERROR(in->ReadVarint("dedup free key", &id));
    if (id >= keys_.size() || keys_[id].live || freed[id]) {
      return in->Corrupt("dedup free key", "is not a free key id");
    }
    freed[id] = true;
    free_ids_.push_back(static_cast<uint32_t>(id));
  }
  return Status::Ok();
}

namespace {

std::string DedupFingerprint(const DedupOperatorSpec& spec, const Schema& input_schema) {
  FingerprintBuilder f("dedup");
  f.AddColumns("by", spec.by, input_schema);
  f.Add("within", spec.within);
  f.Add("emit", spec.emit == EmitMode::kFinal ? "final" : "updates");
  f.Add("allowed_lateness", spec.allowed_lateness);
  f.AddSchema("input", input_schema);
  return f.Release();
}

}  // namespace

DedupOperator::DedupOperator(DedupOperatorSpec spec, const Schema& input_schema) : Operator(2) {
  assert(Validate(spec, input_schema).ok());
  std::string fingerprint = DedupFingerprint(spec, input_schema);
  impl_ = std::make_unique<Impl>(std::move(spec), std::move(fingerprint), &output(kResultsPort),
                                 &output(kLatePort));
}

DedupOperator::~DedupOperator() = default;

Status DedupOperator::Validate(const DedupOperatorSpec& spec, const Schema& input_schema) {
  for (size_t c : spec.by) {
    if (c >= input_schema.size()) return Status::Invalid("dedup: `by` column out of range");
  }
  if (spec.within <= 0) {
    return Status::Invalid(
        "dedup: `within` must be positive (\"1ms\" drops records with the same key and time)");
  }
  if (spec.allowed_lateness < 0) {
    return Status::Invalid("dedup: allowed_lateness must not be negative");
  }
  return Status::Ok();
}

void DedupOperator::OnChange(int port, const Row& row, Timestamp time, Diff diff) {
  assert(port == 0);
  (void)port;
  impl_->OnChange(row, time, diff);
}

Status DedupOperator::Advance(std::span<const Timestamp> input_watermarks,
                              Timestamp* output_watermark) {
  return impl_->Advance(input_watermarks, output_watermark);
}

OperatorStats DedupOperator::stats() const { return impl_->stats(); }

void DedupOperator::SaveState(SnapshotWriter* out) const { impl_->SaveState(out); }

Status DedupOperator::LoadState(SnapshotReader* in) { return impl_->LoadState(in); }

std::string DedupOperator::StateFingerprint() const { return impl_->fingerprint(); }

}  // namespace runnel
