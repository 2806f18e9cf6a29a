// Session windows. Each group keeps its live sessions as arena slots in a vector sorted by start
// (sessions of a group are disjoint, and a record touches at most the two around it). A session
// closes when the watermark reaches last + gap and is freed at last + gap + lateness; a min-heap
// of timers finds those without scanning, re-armed lazily when a session grows.
//
// Insert-only input: a session holds insert-only aggregate states, merged when a record bridges
// two sessions. Retracting input: a retraction may split a session, and only the records can say
// how to split the aggregates, so each session keeps a log of its records (time, arrival,
// multiplicity, argument values) and its row is computed by replaying the log.

#include <algorithm>
#include <new>
#include <set>

#include "operators/window_engine.h"

namespace runnel {

namespace {

// The records of one session, sorted by (time, arrival).
class SessionLog {
 public:
  explicit SessionLog(size_t num_args) : num_args_(num_args) {}

  void Insert(Timestamp time, uint64_t seq, Diff count, const Value* const* args) {
    const auto pos = std::upper_bound(entries_.begin(), entries_.end(), time,
                                      [](Timestamp t, const Entry& e) { return t < e.time; });
    const size_t index = pos - entries_.begin();
    entries_.insert(pos, Entry{time, seq, count});
    args_.insert(args_.begin() + index * num_args_, num_args_, Value());
    for (size_t a = 0; a < num_args_; ++a) args_[index * num_args_ + a] = *args[a];
    records_ += count;
  }

  // Removes up to `count` records at `time` whose arguments equal `args`, latest arrival first
  // (an upstream retracting what it just sent undoes exactly that). Returns how many went.
  int64_t Remove(Timestamp time, const Value* const* args, int64_t count) {
    int64_t removed = 0;
    auto [lo, hi] = Range(time);
    for (size_t i = hi; i > lo && removed < count;) {
      --i;
      bool same = true;
      for (size_t a = 0; a < num_args_ && same; ++a) same = args_[i * num_args_ + a] == *args[a];
      if (!same) continue;
      const int64_t take = std::min(count - removed, entries_[i].count);
      entries_[i].count -= take;
      removed += take;
      if (entries_[i].count == 0) {
        entries_.erase(entries_.begin() + i);
        args_.erase(args_.begin() + i * num_args_, args_.begin() + (i + 1) * num_args_);
      }
    }
    records_ -= removed;
    return removed;
  }

  bool empty() const { return entries_.empty(); }
  int64_t records() const { return records_; }
  Timestamp first_time() const { return entries_.front().time; }
  Timestamp last_time() const { return entries_.back().time; }
  bool HasTime(Timestamp t) const {
    auto [lo, hi] = Range(t);
    return lo != hi;
  }
  // REQUIRES: some entry is earlier (later) than t.
  Timestamp TimeBefore(Timestamp t) const { return entries_[Range(t).first - 1].time; }
  Timestamp TimeAfter(Timestamp t) const { return entries_[Range(t).second].time; }

  // Moves the entries at or after `t` into a new log.
  std::unique_ptr<SessionLog> SplitFrom(Timestamp t) {
    const size_t at = Range(t).first;
    auto tail = std::make_unique<SessionLog>(num_args_);
    tail->entries_.assign(entries_.begin() + at, entries_.end());
    tail->args_.assign(std::make_move_iterator(args_.begin() + at * num_args_),
                       std::make_move_iterator(args_.end()));
    for (const Entry& e : tail->entries_) tail->records_ += e.count;
    entries_.resize(at);
    args_.resize(at * num_args_);
    records_ -= tail->records_;
    return tail;
  }

  // REQUIRES: every entry of `later` comes after every entry of this log.
  void Append(SessionLog&& later) {
    entries_.insert(entries_.end(), later.entries_.begin(), later.entries_.end());
    args_.insert(args_.end(), std::make_move_iterator(later.args_.begin()),
                 std::make_move_iterator(later.args_.end()));
    records_ += later.records_;
  }

  void Save(SnapshotWriter* out) const {
    out->WriteVarint(entries_.size());
    for (size_t i = 0; i < entries_.size(); ++i) {
      out->WriteTimestamp(entries_[i].time);
      out->WriteVarint(entries_[i].seq);
      out->WriteSigned(entries_[i].count);
      for (size_t a = 0; a < num_args_; ++a) out->WriteValue(args_[i * num_args_ + a]);
    }
  }
  // REQUIRES: an empty log.
  Status Load(SnapshotReader* in) {
    size_t n = 0;
    RUNNEL_RETURN_IF_ERROR(in->ReadCount("session record count", 3, &n));
    if (n == 0) return in->Corrupt("session record count", "is zero");
    entries_.resize(n);
    args_.resize(n * num_args_);
    for (size_t i = 0; i < n; ++i) {
      Entry& e = entries_[i];
      RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("session record time", &e.time));
      RUNNEL_RETURN_IF_ERROR(in->ReadVarint("session record arrival", &e.seq));
      RUNNEL_RETURN_IF_ERROR(in->ReadSigned("session record multiplicity", &e.count));
      if (e.count <= 0) return in->Corrupt("session record multiplicity", "is not positive");
      if (i > 0 && e.time < entries_[i - 1].time) {
        return in->Corrupt("session records", "are out of time order");
      }
      for (size_t a = 0; a < num_args_; ++a) {
        RUNNEL_RETURN_IF_ERROR(in->ReadValue("session record argument", &args_[i * num_args_ + a]));
      }
      records_ += e.count;
    }
    return Status::Ok();
  }

  void Replay(const AggregateStates& states, std::byte* state,
              std::vector<const Value*>& args) const {
    for (size_t i = 0; i < entries_.size(); ++i) {
      for (size_t a = 0; a < num_args_; ++a) args[a] = &args_[i * num_args_ + a];
      states.Update(state, args.data(), entries_[i].time, entries_[i].seq, entries_[i].count);
    }
  }

 private:
  struct Entry {
    Timestamp time;
    uint64_t seq;
    int64_t count;  // > 0
  };

  std::pair<size_t, size_t> Range(Timestamp t) const {
    const auto lo = std::lower_bound(entries_.begin(), entries_.end(), t,
                                     [](const Entry& e, Timestamp x) { return e.time < x; });
    const auto hi = std::upper_bound(lo, entries_.end(), t,
                                     [](Timestamp x, const Entry& e) { return x < e.time; });
    return {static_cast<size_t>(lo - entries_.begin()), static_cast<size_t>(hi - entries_.begin())};
  }

  size_t num_args_;
  std::vector<Entry> entries_;
  std::vector<Value> args_;  // num_args_ per entry
  int64_t records_ = 0;
};

class SessionWindowEngine final : public WindowEngine {
 public:
  SessionWindowEngine(WindowOperatorSpec spec, Output* results, Output* late);
  ~SessionWindowEngine() override;

  void OnChange(const Row& row, Timestamp time, Diff diff) override;
  Status Advance(Timestamp watermark, Timestamp* output_watermark) override;
  size_t live_windows() const override { return arena_.live(); }
  void SaveState(SnapshotWriter* out) const override;
  Status LoadState(SnapshotReader* in) override;

 private:
  static constexpr uint8_t kTimerSet = 4;
  static constexpr uint8_t kCandidate = 8;  // queued for output in this Advance
  static constexpr uint8_t kExpiring = 16;  // freed at the end of this Advance

  struct Header {
    Timestamp first;
    Timestamp last;
    Timestamp timer;       // key of the timer entry that counts
    uint32_t timer_stamp;  // and its stamp: older entries, even with an equal key, are stale
    uint32_t group;
    uint8_t flags;
    std::unique_ptr<SessionLog> log;  // retracting input only
  };
  static constexpr size_t kHeaderSize = (sizeof(Header) + 7) / 8 * 8;

  struct Timer {
    Timestamp key;
    uint32_t slot;
    uint32_t gen;
    uint32_t stamp;
    bool operator>(const Timer& o) const { return key > o.key; }
  };
  struct SlotRef {
    uint32_t slot;
    uint32_t gen;
  };
  struct Retraction {
    Row row;
    uint32_t group;  // referenced until emitted
  };
  // Every row, retraction or insertion, sorts by its own (window_end, window_start, group); an
  // old row and its replacement differ in key once a session grew.
  struct OutputItem {
    Timestamp end;
    Timestamp start;
    uint32_t group;
    uint32_t index;  // slot for an insertion, pending_ index for a retraction
    bool retraction;
  };

  Header& header(uint32_t slot) const {
    return *std::launder(reinterpret_cast<Header*>(arena_.at(slot)));
  }
  std::byte* state(uint32_t slot) const { return arena_.at(slot) + kHeaderSize; }
  Timestamp CloseTime(const Header& h) const { return AddSaturating(h.last, gap_); }
  Timestamp ExpireTime(const Header& h) const {
    return AddSaturating(AddSaturating(h.last, gap_), lateness_);
  }
  bool PastHorizon(Timestamp time) const {
    return AddSaturating(AddSaturating(time, gap_), lateness_) <= watermark_;
  }

  std::vector<uint32_t>& SessionsOf(uint32_t group) {
    if (group >= sessions_.size()) sessions_.resize(group + 1);
    return sessions_[group];
  }
  uint32_t NewSession(uint32_t group, Timestamp time, std::unique_ptr<SessionLog> log);
  // Frees the slot (the caller has taken it out of its group's list).
  void FreeSession(uint32_t slot);
  // Moves the session's output row, if any, to the retractions of the next Advance.
  void RetractEmitted(uint32_t slot);
  // Remembers row_ as the session's output row / forgets it.
  void KeepEmitted(uint32_t slot);
  Row TakeEmitted(uint32_t slot);
  void MarkDirty(uint32_t slot);
  void Schedule(uint32_t slot);
  void PushTimer(Timestamp key, uint32_t slot);
  void Insert(const Row& row, Timestamp time, Diff diff, uint32_t group);
  void Retract(const Row& row, Timestamp time, Diff diff, uint32_t group);
  // Computes the session's current row into row_; false when it has no records.
  bool BuildRow(uint32_t slot);
  void AddCandidate(uint32_t slot);

  const Duration gap_;
  const Duration lateness_;
  const bool retracting_;
  SlotArena arena_;
  std::vector<uint32_t> gen_;  // by slot: bumped when freed, invalidating timers and refs
  std::vector<std::vector<uint32_t>> sessions_;  // by group: slots sorted by first
  std::vector<Timer> timers_;                    // min-heap on key
  uint32_t next_stamp_ = 0;
  std::vector<SlotRef> dirty_;
  std::vector<Retraction> pending_;
  // Times of the rows in emitted_. A session that grew after its row went out retracts that row
  // at the row's own time (a downstream window must cancel it in the window it was added to),
  // which may be earlier than watermark - gap - lateness: the output watermark waits for it.
  std::multiset<Timestamp> emitted_times_;
  std::vector<uint32_t> candidates_;
  std::vector<uint32_t> expiring_;
  std::vector<OutputItem> items_;
  std::unique_ptr<std::byte[]> replay_state_;
  std::vector<const Value*> replay_args_;
};

SessionWindowEngine::SessionWindowEngine(WindowOperatorSpec spec, Output* results, Output* late)
    : WindowEngine(std::move(spec), results, late),
      gap_(std::max<Duration>(spec_.window.gap, 1)),
      lateness_(std::max<Duration>(spec_.allowed_lateness, 0)),
      retracting_(!spec_.insert_only_input),
      arena_(kHeaderSize + (retracting_ ? 0 : states_.state_size())),
      replay_args_(states_.num_arguments()) {
  if (retracting_) replay_state_ = std::make_unique<std::byte[]>(states_.state_size());
}

SessionWindowEngine::~SessionWindowEngine() {
  for (std::vector<uint32_t>& list : sessions_) {
    for (uint32_t slot : list) FreeSession(slot);
    list.clear();
  }
  for (Retraction& r : pending_) groups_.Unref(r.group);
}

uint32_t SessionWindowEngine::NewSession(uint32_t group, Timestamp time,
                                         std::unique_ptr<SessionLog> log) {
  const uint32_t slot = arena_.Allocate();
  if (slot >= gen_.size()) gen_.resize(slot + 1, 0);
  if (retracting_ && log == nullptr) log = std::make_unique<SessionLog>(states_.num_arguments());
  new (arena_.at(slot)) Header{time, time, kMaxTime, 0, group, 0, std::move(log)};
  if (!retracting_) states_.Initialize(state(slot));
  groups_.Ref(group);
  return slot;
}

void SessionWindowEngine::FreeSession(uint32_t slot) {
  Header& h = header(slot);
  if (h.flags & kHasEmitted) TakeEmitted(slot);
  if (!retracting_) states_.Destroy(state(slot));
  const uint32_t group = h.group;
  h.~Header();
  ++gen_[slot];
  arena_.Free(slot);
  groups_.Unref(group);
}

void SessionWindowEngine::RetractEmitted(uint32_t slot) {
  Header& h = header(slot);
  if (!(h.flags & kHasEmitted)) return;
  groups_.Ref(h.group);
  pending_.push_back(Retraction{TakeEmitted(slot), h.group});
}

void SessionWindowEngine::KeepEmitted(uint32_t slot) {
  emitted_.emplace(slot, row_);
  emitted_times_.insert(row_[1].AsInt());
  header(slot).flags |= kHasEmitted;
}

Row SessionWindowEngine::TakeEmitted(uint32_t slot) {
  auto it = emitted_.find(slot);
  Row row = std::move(it->second);
  emitted_.erase(it);
  emitted_times_.erase(emitted_times_.find(row[1].AsInt()));
  header(slot).flags &= ~kHasEmitted;
  return row;
}

void SessionWindowEngine::MarkDirty(uint32_t slot) {
  Header& h = header(slot);
  if (h.flags & kDirty) return;
  h.flags |= kDirty;
  dirty_.push_back(SlotRef{slot, gen_[slot]});
}

void SessionWindowEngine::PushTimer(Timestamp key, uint32_t slot) {
  Header& h = header(slot);
  h.timer = key;
  h.timer_stamp = ++next_stamp_;
  h.flags |= kTimerSet;
  timers_.push_back(Timer{key, slot, gen_[slot], h.timer_stamp});
  std::push_heap(timers_.begin(), timers_.end(), std::greater<>());
}

void SessionWindowEngine::Schedule(uint32_t slot) {
  // The next moment the session needs attention: its close, or once closed its expiry. Only an
  // earlier moment needs a new entry; a later one is found when the current entry fires.
  const Header& h = header(slot);
  const Timestamp close = CloseTime(h);
  const Timestamp next = close > watermark_ ? close : ExpireTime(h);
  if (!(h.flags & kTimerSet) || next < h.timer) PushTimer(next, slot);
}

void SessionWindowEngine::OnChange(const Row& row, Timestamp time, Diff diff) {
  if (diff == 0) return;
  // Held while the record is handled: a late record leaves a new group unreferenced, and a
  // retraction may free the group's last session.
  const uint32_t group = groups_.Intern(row);
  groups_.Ref(group);
  if (diff > 0) {
    Insert(row, time, diff, group);
  } else {
    Retract(row, time, diff, group);
  }
  groups_.Unref(group);
}

void SessionWindowEngine::Insert(const Row& row, Timestamp time, Diff diff, uint32_t group) {
  std::vector<uint32_t>& list = SessionsOf(group);
  // The sessions around `time`: prev starts at or before it, next after it.
  const size_t idx =
      std::upper_bound(list.begin(), list.end(), time,
                       [&](Timestamp t, uint32_t s) { return t < header(s).first; }) -
      list.begin();
  const bool touches_prev = idx > 0 && time < AddSaturating(header(list[idx - 1]).last, gap_);
  const bool touches_next =
      idx < list.size() && header(list[idx]).first < AddSaturating(time, gap_);
  uint32_t slot;
  if (!touches_prev && !touches_next) {
    // A record of its own session: late once even that session would be past its horizon.
    if (PastHorizon(time)) return EmitLate(row, time, diff);
    slot = NewSession(group, time, nullptr);
    list.insert(list.begin() + idx, slot);
  } else if (touches_prev && touches_next) {
    // The record bridges two sessions: the later one folds into the earlier.
    slot = list[idx - 1];
    const uint32_t next = list[idx];
    Header& h = header(slot);
    Header& n = header(next);
    h.last = n.last;
    if (retracting_) {
      h.log->Append(std::move(*n.log));
    } else {
      states_.Merge(state(slot), state(next));
    }
    RetractEmitted(next);
    list.erase(list.begin() + idx);
    FreeSession(next);
  } else {
    slot = touches_prev ? list[idx - 1] : list[idx];
  }
  EvaluateArguments(row);
  const uint64_t seq = next_seq_++;
  Header& h = header(slot);
  if (retracting_) {
    h.log->Insert(time, seq, diff, args_.data());
  } else {
    states_.Update(state(slot), args_.data(), time, seq, diff);
  }
  h.first = std::min(h.first, time);
  h.last = std::max(h.last, time);
  MarkDirty(slot);
  Schedule(slot);
}

void SessionWindowEngine::Retract(const Row& row, Timestamp time, Diff diff, uint32_t group) {
  std::vector<uint32_t>& list = SessionsOf(group);
  const size_t idx =
      std::upper_bound(list.begin(), list.end(), time,
                       [&](Timestamp t, uint32_t s) { return t < header(s).first; }) -
      list.begin();
  const bool inside = idx > 0 && time <= header(list[idx - 1]).last;
  if (!inside && PastHorizon(time)) return EmitLate(row, time, diff);
  if (!retracting_) return RefuseRetraction();
  // No live session holds the record: it never came (inconsistent input), nothing to undo.
  if (!inside) return;

  const uint32_t slot = list[idx - 1];
  Header& h = header(slot);
  EvaluateArguments(row);
  if (h.log->Remove(time, args_.data(), -diff) == 0) return;
  if (h.log->empty()) {
    RetractEmitted(slot);
    list.erase(list.begin() + (idx - 1));
    FreeSession(slot);
    return;
  }
  h.first = h.log->first_time();
  h.last = h.log->last_time();
  // The record may have been the only one bridging two parts that are a gap apart.
  if (time > h.first && time < h.last && !h.log->HasTime(time)) {
    const Timestamp before = h.log->TimeBefore(time);
    const Timestamp after = h.log->TimeAfter(time);
    if (after - before >= gap_) {
      const uint32_t tail = NewSession(group, after, h.log->SplitFrom(after));
      Header& t = header(tail);
      t.last = t.log->last_time();
      h.last = before;
      list.insert(list.begin() + idx, tail);
      MarkDirty(tail);
      Schedule(tail);
    }
  }
  MarkDirty(slot);
  Schedule(slot);
}

bool SessionWindowEngine::BuildRow(uint32_t slot) {
  Header& h = header(slot);
  Value* out = nullptr;
  if (retracting_) {
    if (h.log->records() <= 0) return false;
    out = BeginRow(h.first, h.last, h.group);
    std::byte* st = replay_state_.get();
    states_.Initialize(st);
    h.log->Replay(states_, st, replay_args_);
    states_.Finalize(st, out);
    states_.Destroy(st);
  } else {
    if (states_.Records(state(slot)) <= 0) return false;
    out = BeginRow(h.first, h.last, h.group);
    states_.Finalize(state(slot), out);
  }
  return true;
}

void SessionWindowEngine::AddCandidate(uint32_t slot) {
  Header& h = header(slot);
  if (h.flags & kCandidate) return;
  h.flags |= kCandidate;
  candidates_.push_back(slot);
}

Status SessionWindowEngine::Advance(Timestamp watermark, Timestamp* output_watermark) {
  watermark = std::max(watermark, watermark_);
  candidates_.clear();
  expiring_.clear();

  // Sessions whose close or expiry the watermark has reached.
  while (!timers_.empty() && timers_.front().key <= watermark) {
    std::pop_heap(timers_.begin(), timers_.end(), std::greater<>());
    const Timer timer = timers_.back();
    timers_.pop_back();
    if (gen_[timer.slot] != timer.gen) continue;
    Header& h = header(timer.slot);
    if (timer.stamp != h.timer_stamp) continue;  // superseded by a later entry
    const Timestamp close = CloseTime(h);
    if (close > watermark) {  // grew since the entry was set
      PushTimer(close, timer.slot);
      continue;
    }
    if (!updates_ && (h.flags & kDirty)) AddCandidate(timer.slot);
    if (ExpireTime(h) <= watermark) {
      h.flags |= kExpiring;
      expiring_.push_back(timer.slot);
    } else {
      PushTimer(ExpireTime(h), timer.slot);
    }
  }
  // Sessions changed during the step: in updates mode all of them, in final mode those already
  // closed (late corrections); open ones wait for their close timer.
  for (const SlotRef& ref : dirty_) {
    if (gen_[ref.slot] != ref.gen) continue;
    const Header& h = header(ref.slot);
    if (!(h.flags & kDirty)) continue;
    if (updates_ || CloseTime(h) <= watermark) AddCandidate(ref.slot);
  }
  dirty_.clear();

  // Decide what changes, then emit in (window_end, window_start, key) order. An old row and its
  // replacement have different keys once a session grew, so each sorts on its own.
  items_.clear();
  for (uint32_t slot : candidates_) {
    Header& h = header(slot);
    h.flags &= ~(kDirty | kCandidate);
    const bool keep = !(h.flags & kExpiring);
    const bool has_row = BuildRow(slot);
    if (h.flags & kHasEmitted) {
      if (has_row && emitted_.find(slot)->second == row_) {
        if (!keep) TakeEmitted(slot);
        continue;
      }
      RetractEmitted(slot);
    }
    if (has_row) items_.push_back(OutputItem{h.last, h.first, h.group, slot, false});
  }
  for (size_t i = 0; i < pending_.size(); ++i) {
    const Row& r = pending_[i].row;
    items_.push_back(
        OutputItem{r[1].AsInt(), r[0].AsInt(), pending_[i].group, static_cast<uint32_t>(i), true});
  }
  PrepareGroupOrder(items_.size());
  std::sort(items_.begin(), items_.end(), [&](const OutputItem& a, const OutputItem& b) {
    if (a.end != b.end) return a.end < b.end;
    if (a.start != b.start) return a.start < b.start;
    const std::weak_ordering c = CompareGroups(a.group, b.group);
    if (c != 0) return c < 0;
    return a.retraction && !b.retraction;
  });
  for (const OutputItem& item : items_) {
    if (item.retraction) {
      results_->Emit(pending_[item.index].row, item.end, -1);
      continue;
    }
    Header& h = header(item.index);
    BuildRow(item.index);
    results_->Emit(row_, h.last, +1);
    if (!(h.flags & kExpiring)) KeepEmitted(item.index);
  }
  for (Retraction& r : pending_) groups_.Unref(r.group);
  pending_.clear();

  // Expired sessions leave their groups' lists, then their slots.
  if (!expiring_.empty()) {
    std::vector<uint32_t> touched;
    touched.reserve(expiring_.size());
    for (uint32_t slot : expiring_) touched.push_back(header(slot).group);
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (uint32_t group : touched) {
      std::erase_if(sessions_[group],
                    [&](uint32_t s) { return (header(s).flags & kExpiring) != 0; });
    }
    for (uint32_t slot : expiring_) FreeSession(slot);
  }

  watermark_ = watermark;
  // A live session has last + gap + lateness > watermark, and its new rows carry time `last`;
  // rows already out may still be retracted at their own time.
  Timestamp out = SubtractSaturating(SubtractSaturating(watermark, gap_), lateness_);
  if (!emitted_times_.empty()) out = std::min(out, *emitted_times_.begin());
  *output_watermark = out;
  return TakeDeferredError();
}

// Sessions group by group, each list in start order, with their key, times, flags, armed timer,
// emitted row and aggregate state (insert-only) or record log (retracting); then the
// retractions waiting for the next Advance. Slots, group ids and timer stamps are not saved.
void SessionWindowEngine::SaveState(SnapshotWriter* out) const {
  SaveCommon(retracting_ ? "session with record log" : "session", out);
  std::vector<uint8_t> queued(gen_.size(), 0);  // by slot: in dirty_
  for (const SlotRef& ref : dirty_) {
    if (gen_[ref.slot] == ref.gen) queued[ref.slot] = 1;
  }
  out->WriteVarint(arena_.live());
  for (const std::vector<uint32_t>& list : sessions_) {
    for (uint32_t slot : list) {
      const Header& h = header(slot);
      SaveKey(h.group, out);
      out->WriteTimestamp(h.first);
      out->WriteTimestamp(h.last);
      out->WriteU8(h.flags);
      out->WriteBool(queued[slot] != 0);
      if (h.flags & kTimerSet) out->WriteTimestamp(h.timer);
      if (h.flags & kHasEmitted) out->WriteRow(emitted_.at(slot));
      if (retracting_) {
        h.log->Save(out);
      } else {
        states_.SaveState(state(slot), out);
      }
    }
  }
  out->WriteVarint(pending_.size());
  for (const Retraction& r : pending_) out->WriteRow(r.row);
}

Status SessionWindowEngine::LoadState(SnapshotReader* in) {
  RUNNEL_RETURN_IF_ERROR(LoadCommon(retracting_ ? "session with record log" : "session", in));
  size_t num_sessions = 0;
  RUNNEL_RETURN_IF_ERROR(in->ReadCount("session count", 4, &num_sessions));
  for (size_t i = 0; i < num_sessions; ++i) {
    uint32_t group = 0;
    RUNNEL_RETURN_IF_ERROR(LoadKey(in, &group));
    Timestamp first = 0, last = 0;
    RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("session start", &first));
    RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("session end", &last));
    std::vector<uint32_t>& list = SessionsOf(group);
    if (first > last || (!list.empty() && header(list.back()).last >= first)) {
      return in->Corrupt("session", "overlaps another session of its key or ends before it starts");
    }
    const uint32_t slot = NewSession(group, first, nullptr);
    list.push_back(slot);
    Header& h = header(slot);
    h.last = last;
    uint8_t flags = 0;
    bool queued = false;
    RUNNEL_RETURN_IF_ERROR(in->ReadU8("session flags", &flags));
    RUNNEL_RETURN_IF_ERROR(in->ReadBool("session queue mark", &queued));
    if (flags & ~(kDirty | kHasEmitted | kTimerSet)) {
      return in->Corrupt("session flags", "are unknown");
    }
    h.flags = flags & kDirty;
    if (flags & kTimerSet) {
      Timestamp timer = 0;
      RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("session timer", &timer));
      PushTimer(timer, slot);
    }
    if (flags & kHasEmitted) {
      RUNNEL_RETURN_IF_ERROR(LoadResultRow(in, &row_));
      KeepEmitted(slot);
    }
    if (queued) dirty_.push_back(SlotRef{slot, gen_[slot]});
    if (retracting_) {
      RUNNEL_RETURN_IF_ERROR(h.log->Load(in));
      if (h.log->first_time() != first || h.log->last_time() != last) {
        return in->Corrupt("session", "times differ from its records'");
      }
    } else {
      RUNNEL_RETURN_IF_ERROR(states_.LoadState(state(slot), in));
    }
  }
  size_t num_pending = 0;
  RUNNEL_RETURN_IF_ERROR(in->ReadCount("pending retraction count", 1, &num_pending));
  for (size_t i = 0; i < num_pending; ++i) {
    Row row;
    RUNNEL_RETURN_IF_ERROR(LoadResultRow(in, &row));
    const uint32_t group = InternKey(std::span<const Value>(row).subspan(2, spec_.group_by.size()));
    groups_.Ref(group);
    pending_.push_back(Retraction{std::move(row), group});
  }
  return Status::Ok();
}

}  // namespace

std::unique_ptr<WindowEngine> MakeSessionWindowEngine(WindowOperatorSpec spec, Output* results,
                                                      Output* late) {
  return std::make_unique<SessionWindowEngine>(std::move(spec), results, late);
}

}  // namespace runnel
