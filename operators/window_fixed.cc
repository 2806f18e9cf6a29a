// Tumbling and sliding windows. A window is (window index k, group): window k spans
// [k*hop, k*hop + size) (tumbling: hop = size). Windows of one index share a Bucket: an
// open-addressing table of arena slots keyed by group id, so a window costs its state block plus
// a few bytes of table, and the ordered map of buckets (one node per index, not per window) is
// what closes and frees windows in end order.

#include <algorithm>
#include <map>
#include <new>

#include "operators/window_engine.h"

namespace runnel {

namespace {

__extension__ typedef __int128 Int128;

int64_t Clamp(Int128 v) {
  if (v < static_cast<Int128>(kMinTime)) return kMinTime;
  if (v > static_cast<Int128>(kMaxTime)) return kMaxTime;
  return static_cast<int64_t>(v);
}

Int128 FloorDiv128(Int128 a, int64_t b) {
  Int128 q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --q;
  return q;
}

class FixedWindowEngine final : public WindowEngine {
 public:
  FixedWindowEngine(WindowOperatorSpec spec, Output* results, Output* late);
  ~FixedWindowEngine() override;

  void OnChange(const Row& row, Timestamp time, Diff diff) override;
  Status Advance(Timestamp watermark, Timestamp* output_watermark) override;
  size_t live_windows() const override { return arena_.live(); }
  void SaveState(SnapshotWriter* out) const override;
  Status LoadState(SnapshotReader* in) override;

 private:
  struct Header {
    uint32_t group;
    uint8_t flags;
  };
  static constexpr size_t kHeaderSize = 8;
  static_assert(sizeof(Header) <= kHeaderSize);

  struct Bucket {
    std::vector<uint32_t> table;  // slots, at the hash of their group; kNoSlot = empty
    uint32_t size = 0;
    std::vector<uint32_t> dirty;  // slots to bring up to date at the next Advance
  };
  using BucketMap = std::map<int64_t, Bucket>;

  Header& header(uint32_t slot) const {
    return *std::launder(reinterpret_cast<Header*>(arena_.at(slot)));
  }
  std::byte* state(uint32_t slot) const { return arena_.at(slot) + kHeaderSize; }
  Timestamp StartOf(int64_t k) const { return Clamp(static_cast<Int128>(k) * hop_); }
  Timestamp EndOf(int64_t k) const { return Clamp(static_cast<Int128>(k) * hop_ + size_); }
  static size_t Home(const Bucket& b, uint32_t group) {
    // Group ids are dense (allocated from 0, freed ids reused), so the id itself spreads them
    // without collisions, and the table can run nearly full: 4-5 bytes per window.
    return group & (b.table.size() - 1);
  }

  Bucket& BucketAt(int64_t k);
  uint32_t FindOrCreate(Bucket& b, uint32_t group);
  void Grow(Bucket& b);
  void Remove(Bucket& b, uint32_t slot);
  void Release(uint32_t slot);
  void Process(BucketMap::iterator it, Timestamp watermark);
  void Emit(uint32_t slot, Timestamp start, Timestamp end, bool keep);
  void UpdateLiveBound();

  const Duration size_;
  const Duration hop_;
  const Duration lateness_;
  SlotArena arena_;
  BucketMap buckets_;
  // Consecutive records of one device usually hit the same window.
  int64_t cached_k_ = 0;
  Bucket* cached_bucket_ = nullptr;
  uint32_t cached_group_ = kNoSlot;
  uint32_t cached_slot_ = kNoSlot;
  // Windows with a lower index are past their lateness horizon / closed.
  int64_t min_live_k_ = kMinTime;
  int64_t min_open_k_ = kMinTime;
  std::vector<int64_t> dirty_keys_;  // updates mode: buckets with dirty windows
  std::vector<int64_t> visit_;
  std::vector<uint32_t> candidates_;
};

FixedWindowEngine::FixedWindowEngine(WindowOperatorSpec spec, Output* results, Output* late)
    : WindowEngine(std::move(spec), results, late),
      size_(std::max<Duration>(spec_.window.size, 1)),
      hop_(spec_.window.type == WindowType::kTumbling ? size_
                                                      : std::max<Duration>(spec_.window.hop, 1)),
      lateness_(std::max<Duration>(spec_.allowed_lateness, 0)),
      arena_(kHeaderSize + states_.state_size()) {}

FixedWindowEngine::~FixedWindowEngine() {
  for (auto& [k, bucket] : buckets_) {
    for (uint32_t slot : bucket.table) {
      if (slot != kNoSlot) Release(slot);
    }
  }
}

FixedWindowEngine::Bucket& FixedWindowEngine::BucketAt(int64_t k) {
  if (cached_bucket_ != nullptr && cached_k_ == k) return *cached_bucket_;
  Bucket& b = buckets_.try_emplace(k).first->second;  // map nodes never move
  cached_k_ = k;
  cached_bucket_ = &b;
  cached_slot_ = kNoSlot;
  return b;
}

uint32_t FixedWindowEngine::FindOrCreate(Bucket& b, uint32_t group) {
  if (b.table.empty()) b.table.assign(8, kNoSlot);
  size_t mask = b.table.size() - 1;
  size_t i = Home(b, group);
  size_t probes = 0;
  for (; b.table[i] != kNoSlot; i = (i + 1) & mask, ++probes) {
    if (header(b.table[i]).group == group) return b.table[i];
  }
  // Grow when nearly full, or earlier if ids cluster and probes run long.
  const size_t want = b.size + 1;
  if (want * 64 > b.table.size() * 63 || (probes > 16 && want * 2 > b.table.size())) {
    Grow(b);
    mask = b.table.size() - 1;
    for (i = Home(b, group); b.table[i] != kNoSlot; i = (i + 1) & mask) {
    }
  }
  const uint32_t slot = arena_.Allocate();
  new (arena_.at(slot)) Header{group, 0};
  states_.Initialize(state(slot));
  groups_.Ref(group);
  b.table[i] = slot;
  ++b.size;
  return slot;
}

void FixedWindowEngine::Grow(Bucket& b) {
  std::vector<uint32_t> old = std::move(b.table);
  b.table.assign(old.size() * 2, kNoSlot);
  const size_t mask = b.table.size() - 1;
  for (uint32_t slot : old) {
    if (slot == kNoSlot) continue;
    size_t i = Home(b, header(slot).group);
    while (b.table[i] != kNoSlot) i = (i + 1) & mask;
    b.table[i] = slot;
  }
}

void FixedWindowEngine::Remove(Bucket& b, uint32_t slot) {
  const size_t mask = b.table.size() - 1;
  size_t i = Home(b, header(slot).group);
  while (b.table[i] != slot) i = (i + 1) & mask;
  for (size_t j = (i + 1) & mask; b.table[j] != kNoSlot; j = (j + 1) & mask) {
    const size_t home = Home(b, header(b.table[j]).group);
    const bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!stays) {
      b.table[i] = b.table[j];
      i = j;
    }
  }
  b.table[i] = kNoSlot;
  --b.size;
}

void FixedWindowEngine::Release(uint32_t slot) {
  Header& h = header(slot);
  if (h.flags & kHasEmitted) emitted_.erase(slot);
  states_.Destroy(state(slot));
  groups_.Unref(h.group);
  if (cached_slot_ == slot) cached_slot_ = kNoSlot;
  arena_.Free(slot);
}

void FixedWindowEngine::UpdateLiveBound() {
  // Window k is open while EndOf(k) > watermark and live while EndOf(k) + lateness > watermark.
  if (watermark_ == kMinTime) {
    min_live_k_ = min_open_k_ = kMinTime;
  } else if (watermark_ == kMaxTime) {
    min_live_k_ = min_open_k_ = kMaxTime;
  } else {
    min_open_k_ = Clamp(FloorDiv128(static_cast<Int128>(watermark_) - size_, hop_) + 1);
    min_live_k_ = Clamp(FloorDiv128(static_cast<Int128>(watermark_) - size_ - lateness_, hop_) + 1);
  }
}

void FixedWindowEngine::OnChange(const Row& row, Timestamp time, Diff diff) {
  if (diff == 0) return;
  const int64_t k_hi = FloorDiv(time, hop_);
  const int64_t k_lo =
      hop_ == size_ ? k_hi : Clamp(FloorDiv128(static_cast<Int128>(time) - size_, hop_) + 1);
  // hop > size leaves gaps between windows: such a record has no window to change. It is not
  // late (it never could have counted), so it is dropped without a trace.
  if (k_lo > k_hi) return;
  // A sliding record whose earliest windows are past their horizon still updates the live
  // ones; it is late only when none is left (as in Flink).
  const int64_t k_first = std::max(k_lo, min_live_k_);
  if (k_first > k_hi) return EmitLate(row, time, diff);
  if (diff < 0 && !states_.can_retract()) return RefuseRetraction();

  const uint32_t group = groups_.Intern(row);
  EvaluateArguments(row);
  const uint64_t seq = next_seq_++;
  for (int64_t k = k_first;; ++k) {
    Bucket& b = BucketAt(k);
    uint32_t slot = cached_slot_;
    if (slot == kNoSlot || cached_group_ != group) {
      slot = FindOrCreate(b, group);
      cached_group_ = group;
      cached_slot_ = slot;
    }
    states_.Update(state(slot), args_.data(), time, seq, diff);
    Header& h = header(slot);
    // Final mode emits an open window when it closes anyway; only closed windows (late
    // corrections) and, in updates mode, every window need to be remembered as changed.
    if (!(h.flags & kDirty) && (updates_ || k < min_open_k_)) {
      h.flags |= kDirty;
      if (updates_ && b.dirty.empty()) dirty_keys_.push_back(k);
      b.dirty.push_back(slot);
    }
    if (k == k_hi) break;
  }
}

Status FixedWindowEngine::Advance(Timestamp watermark, Timestamp* output_watermark) {
  watermark = std::max(watermark, watermark_);
  visit_.clear();
  for (auto it = buckets_.begin(); it != buckets_.end() && EndOf(it->first) <= watermark; ++it) {
    visit_.push_back(it->first);
  }
  if (updates_ && !dirty_keys_.empty()) {
    visit_.insert(visit_.end(), dirty_keys_.begin(), dirty_keys_.end());
    std::sort(visit_.begin(), visit_.end());
    visit_.erase(std::unique(visit_.begin(), visit_.end()), visit_.end());
  }
  dirty_keys_.clear();
  // Bucket order is (window_end, window_start) order: both grow with k.
  for (int64_t k : visit_) {
    auto it = buckets_.find(k);
    if (it != buckets_.end()) Process(it, watermark);
  }
  watermark_ = watermark;
  UpdateLiveBound();
  // A live window has end + lateness > watermark, so its row time end - 1 >= this.
  *output_watermark = SubtractSaturating(watermark, lateness_);
  return TakeDeferredError();
}

void FixedWindowEngine::Process(BucketMap::iterator it, Timestamp watermark) {
  const int64_t k = it->first;
  Bucket& b = it->second;
  const Timestamp start = StartOf(k), end = EndOf(k);
  const bool newly_closed = end <= watermark && end > watermark_;
  const bool expire = AddSaturating(end, lateness_) <= watermark;

  candidates_.clear();
  if (!updates_ && newly_closed) {
    for (uint32_t slot : b.table) {
      if (slot != kNoSlot) candidates_.push_back(slot);
    }
  } else {
    candidates_.swap(b.dirty);
  }
  b.dirty.clear();
  if (!candidates_.empty()) {
    PrepareGroupOrder(candidates_.size());
    std::sort(candidates_.begin(), candidates_.end(), [&](uint32_t x, uint32_t y) {
      return CompareGroups(header(x).group, header(y).group) < 0;
    });
    for (uint32_t slot : candidates_) {
      header(slot).flags &= ~kDirty;
      Emit(slot, start, end, !expire);
    }
  }

  if (expire) {
    for (uint32_t slot : b.table) {
      if (slot != kNoSlot) Release(slot);
    }
    if (cached_bucket_ == &b) cached_bucket_ = nullptr;
    buckets_.erase(it);
    return;
  }
  // Windows retracted down to nothing go now rather than at their horizon.
  for (uint32_t slot : candidates_) {
    if (states_.Records(state(slot)) == 0 && !(header(slot).flags & kHasEmitted)) {
      Remove(b, slot);
      Release(slot);
    }
  }
  if (b.size == 0) {
    if (cached_bucket_ == &b) cached_bucket_ = nullptr;
    buckets_.erase(it);
  }
}

void FixedWindowEngine::Emit(uint32_t slot, Timestamp start, Timestamp end, bool keep) {
  Header& h = header(slot);
  std::byte* st = state(slot);
  const bool has_row = states_.Records(st) > 0;
  if (has_row) states_.Finalize(st, BeginRow(start, end, h.group));
  Row* old = (h.flags & kHasEmitted) ? &emitted_.at(slot) : nullptr;
  const Timestamp time = SubtractSaturating(end, 1);
  if (old != nullptr && has_row && *old == row_) {
    if (keep) return;
  } else {
    if (old != nullptr) results_->Emit(*old, time, -1);
    if (has_row) results_->Emit(row_, time, +1);
  }
  if (keep && has_row) {
    if (old != nullptr) {
      *old = row_;
    } else {
      emitted_.emplace(slot, row_);
      h.flags |= kHasEmitted;
    }
  } else if (old != nullptr) {
    emitted_.erase(slot);
    h.flags &= ~kHasEmitted;
  }
}

// Windows by index, each with its key, flags, emitted row and aggregate state. Slot numbers,
// group ids and table positions are not saved: output order depends only on keys.
void FixedWindowEngine::SaveState(SnapshotWriter* out) const {
  SaveCommon("fixed", out);
  out->WriteVarint(buckets_.size());
  for (const auto& [k, b] : buckets_) {
    out->WriteSigned(k);
    out->WriteVarint(b.size);
    for (uint32_t slot : b.table) {
      if (slot == kNoSlot) continue;
      const Header& h = header(slot);
      SaveKey(h.group, out);
      out->WriteU8(h.flags);
      if (h.flags & kHasEmitted) out->WriteRow(emitted_.at(slot));
      states_.SaveState(state(slot), out);
    }
  }
}

Status FixedWindowEngine::LoadState(SnapshotReader* in) {
  RUNNEL_RETURN_IF_ERROR(LoadCommon("fixed", in));
  size_t num_buckets = 0;
  RUNNEL_RETURN_IF_ERROR(in->ReadCount("window index count", 2, &num_buckets));
  for (size_t i = 0; i < num_buckets; ++i) {
    int64_t k = 0;
    size_t num_windows = 0;
    RUNNEL_RETURN_IF_ERROR(in->ReadSigned("window index", &k));
    if (!buckets_.empty() && k <= buckets_.rbegin()->first) {
      return in->Corrupt("window index", "is out of order");
    }
    RUNNEL_RETURN_IF_ERROR(in->ReadCount("window count", 2, &num_windows));
    Bucket& b = buckets_[k];
    for (size_t w = 0; w < num_windows; ++w) {
      uint32_t group = 0;
      RUNNEL_RETURN_IF_ERROR(LoadKey(in, &group));
      const uint32_t before = b.size;
      const uint32_t slot = FindOrCreate(b, group);
      if (b.size == before) return in->Corrupt("window", "appears twice");
      uint8_t flags = 0;
      RUNNEL_RETURN_IF_ERROR(in->ReadU8("window flags", &flags));
      if (flags & ~(kDirty | kHasEmitted)) return in->Corrupt("window flags", "are unknown");
      if (flags & kHasEmitted) {
        Row row;
        RUNNEL_RETURN_IF_ERROR(LoadResultRow(in, &row));
        emitted_.emplace(slot, std::move(row));
      }
      header(slot).flags = flags;
      if (flags & kDirty) {
        if (updates_ && b.dirty.empty()) dirty_keys_.push_back(k);
        b.dirty.push_back(slot);
      }
      RUNNEL_RETURN_IF_ERROR(states_.LoadState(state(slot), in));
    }
  }
  UpdateLiveBound();
  return Status::Ok();
}

}  // namespace

std::unique_ptr<WindowEngine> MakeFixedWindowEngine(WindowOperatorSpec spec, Output* results,
                                                    Output* late) {
  return std::make_unique<FixedWindowEngine>(std::move(spec), results, late);
}

}  // namespace runnel
