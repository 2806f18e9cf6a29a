#include "operators/asof_join_operator.h"

#include <algorithm>
#include <cassert>
#include <functional>
#include <queue>
#include <string>
#include <unordered_set>
#include <utility>

#include "operators/keyed_buffers.h"
#include "operators/state_fingerprint.h"

namespace runnel {
namespace {

using keyed::Distance;
using RowPtr = std::shared_ptr<const Row>;

constexpr size_t kNone = static_cast<size_t>(-1);
const Value kNullValue;

// As a "final at" time, kMinTime means that nothing can change the result any more (a left
// record whose null key can never match).
constexpr Timestamp kAlreadyFinal = kMinTime;

// True when no change at a time <= t can still arrive on an input at `watermark` (which
// promises only that nothing earlier than itself will come, so t itself is still open).
bool Passed(Timestamp watermark, Timestamp t) {
  return t == kAlreadyFinal || watermark == kMaxTime || watermark > t;
}

bool SameRow(const RowPtr& a, const RowPtr& b) { return a == b || (a && b && *a == *b); }

// Names of the combined row's right columns: "right_<name>" when the name is already taken.
std::vector<Column> RenamedRightColumns(const std::vector<Column>& taken,
                                        const std::vector<Column>& right) {
  std::unordered_set<std::string> names;
  for (const Column& c : taken) names.insert(c.name);
  std::vector<Column> out;
  for (Column c : right) {
    if (names.count(c.name) != 0) c.name = "right_" + c.name;
    names.insert(c.name);
    out.push_back(std::move(c));
  }
  return out;
}

// Right columns of the default output: every right column except the `by` ones.
std::vector<size_t> DefaultRightColumns(const AsofJoinOperatorSpec& spec) {
  std::vector<size_t> keep;
  for (size_t i = 0; i < spec.right.size(); ++i) {
    if (std::find(spec.right_by.begin(), spec.right_by.end(), i) == spec.right_by.end()) {
      keep.push_back(i);
    }
  }
  return keep;
}

// The combined-row column each `select` item copies, when every item is a plain column (the
// usual `select`); empty when any item computes a value.
std::vector<size_t> SelectedColumns(const std::vector<NamedExpression>& select) {
  std::vector<size_t> columns;
  for (const NamedExpression& item : select) {
    const std::optional<size_t> column = item.expr->column_index();
    if (!column) return {};
    columns.push_back(*column);
  }
  return columns;
}

// For each left column, the output position a plain-columns `select` (SelectedColumns) copies
// it to, kNone when unselected; empty when there is no such select or a left column is
// selected twice.
std::vector<size_t> LeftTargets(const std::vector<size_t>& selected, size_t left_size) {
  if (selected.empty()) return {};
  std::vector<size_t> targets(left_size, kNone);
  for (size_t i = 0; i < selected.size(); ++i) {
    if (selected[i] >= left_size) continue;
    if (targets[selected[i]] != kNone) return {};
    targets[selected[i]] = i;
  }
  return targets;
}

using TimeHeap = std::priority_queue<std::pair<Timestamp, uint32_t>,
                                     std::vector<std::pair<Timestamp, uint32_t>>, std::greater<>>;

}  // namespace

class AsofJoinOperator::Impl {
 public:
  Impl(AsofJoinOperatorSpec spec, Output* results, Output* late)
      : spec_(std::move(spec)),
        tolerance_(spec_.tolerance),
        lateness_(spec_.allowed_lateness),
        updates_(spec_.emit == EmitMode::kUpdates),
        left_size_(spec_.left.size()),
        right_size_(spec_.right.size()),
        default_right_(DefaultRightColumns(spec_)),
        select_columns_(SelectedColumns(spec_.select)),
        left_targets_(LeftTargets(select_columns_, left_size_)),
        late_(late),
        step_(results) {}

  void OnChange(int port, const Row& row, Timestamp time, Diff diff);
  Status Advance(std::span<const Timestamp> input_watermarks, Timestamp* output_watermark);
  OperatorStats stats() const;
  const AsofJoinOperatorSpec& spec() const { return spec_; }
  void SaveState(SnapshotWriter* out) const;
  Status LoadState(SnapshotReader* in);

 private:
  struct RightEntry {
    Timestamp time;
    uint64_t seq;  // arrival order: breaks ties between equal times
    Diff count;    // > 0 present; < 0 a retraction still waiting for its insertion
    RowPtr row;
  };

  struct LeftEntry {
    Timestamp time;
    uint64_t seq;
    Diff count;
    Row row;
    RowPtr match;  // null: unmatched
    // The latest right time at which a change could still alter `match` (see the header).
    Timestamp final_at;
    RowPtr emitted_match;  // what the emitted output was computed from
    Diff emitted_count = 0;
    bool emitted = false;
    bool touched = false;  // match or count changed since the output was last brought up to date
  };

  struct PendingRight {
    Timestamp time;
    uint64_t seq;
    Diff diff;
    RowPtr row;
  };

  // Positions in a key's right records kept between successive lookups, so that matching left
  // rows that come in time order (per key) moves forward a little instead of searching.
  struct Cursor {
    bool valid = false;
    Timestamp time = 0;
    size_t lower = 0;  // first index with time >= `time`
    size_t upper = 0;  // first index with time > `time`
  };

  struct KeyState {
    Row key;
    size_t key_hash = 0;
    bool live = false;
    bool unmatchable = false;  // a null `by` value with null_keys_match = false
    bool dirty = false;
    std::vector<RightEntry> right;    // sorted by (time, seq)
    size_t negative_right = 0;        // entries of `right` with count < 0
    std::vector<LeftEntry> left;      // rows held, sorted by (time, seq)
    Cursor cursor;                    // this step's position in `right` for new left rows
    std::vector<LeftEntry> new_held;  // this step's new left rows that are held
    std::vector<PendingRight> pending_right;
    // The value each lazy heap holds for this key (stale heap items do not match it).
    std::optional<Timestamp> queued_due, queued_compaction, queued_oldest;
  };

  struct Match {
    const RightEntry* entry = nullptr;
    Timestamp final_at = kMaxTime;
  };

  uint32_t KeyFor(const Row& row, const std::vector<size_t>& by);
  bool HasNullKey(const Row& row, const std::vector<size_t>& by) const;
  void EmitLate(bool left, const Row& row, Timestamp time, Diff diff);

  bool ApplyChanges(KeyState& k);
  bool ApplyRight(KeyState& k, Timestamp* lowest_change);
  bool ApplyLeftRetractions();
  void MatchNewLeft(const char* entry);
  void Retract(KeyState& k, PendingRight& change);
  Diff CancelWaitingRetraction(KeyState& k, Timestamp time, const Row& row, Diff count);
  Diff AbsorbLeftRetraction(KeyState& k, Timestamp time, const Row& row, Diff diff, bool* retracts);
  Match Evaluate(const KeyState& k, Timestamp time, Cursor* cursor) const;
  bool WithinTolerance(Timestamp distance) const { return !tolerance_ || distance <= *tolerance_; }
  Timestamp UnmatchedFinalAt(Timestamp time) const {
    return tolerance_ ? AddSaturating(time, *tolerance_) : kMaxTime;
  }

  // Settle = SettleHeld + Finish: emits what a key's held rows allow and forgets those that
  // can no longer change; Finish holds the step's new rows, queues the key's next events and
  // compacts its right records.
  void Settle(uint32_t id);
  void SettleHeld(KeyState& k);
  void Finish(uint32_t id);
  void UpdateOutput(LeftEntry& e);
  // Emits one result row; the left values are already in LeftTarget()[0, left_size_).
  void EmitResult(const Row* right, Timestamp time, Diff diff);
  // Emits the result row of a buffered left change, its values unpacked straight to their
  // output positions. REQUIRES: !left_targets_.empty().
  void EmitDirect(const char* entry, const Row* right, Timestamp time, Diff diff);
  static const Value& RightValue(const Row* right, size_t i) {
    return right && i < right->size() ? (*right)[i] : kNullValue;
  }
  Row& LeftTarget() { return spec_.select.empty() ? out_row_ : combined_; }
  void CompactRight(uint32_t id);
  void MaybeForget(uint32_t id);
  Timestamp Horizon() const { return std::min(left_horizon_, right_horizon_); }
  void SaveKey(const KeyState& k, SnapshotWriter* out) const;
  Status LoadKey(SnapshotReader* in, uint32_t id);

  const AsofJoinOperatorSpec spec_;
  const std::optional<Duration> tolerance_;
  const Duration lateness_;
  const bool updates_;
  const size_t left_size_, right_size_;
  const std::vector<size_t> default_right_;
  const std::vector<size_t> select_columns_;  // see SelectedColumns
  const std::vector<size_t> left_targets_;    // see LeftTargets
  Output* late_;
  keyed::StepOutput step_;
  keyed::ChangeArena left_changes_;  // this step's left changes, in arrival order

  keyed::KeyIndex key_ids_;
  std::vector<KeyState> keys_;
  std::vector<uint32_t> free_ids_;
  std::vector<uint32_t> dirty_;
  TimeHeap due_heap_;         // keys by the earliest right watermark that settles a left row
  TimeHeap compaction_heap_;  // keys by the horizon at which right records can be dropped
  TimeHeap oldest_heap_;      // keys by their oldest held left row (output watermark)

  uint64_t left_seq_ = 0, right_seq_ = 0;
  Timestamp left_watermark_ = kMinTime, right_watermark_ = kMinTime;
  // Watermark minus allowed_lateness: records below are late.
  Timestamp left_horizon_ = kMinTime, right_horizon_ = kMinTime;
  uint64_t late_records_ = 0;
  bool left_finished_ = false;  // the left horizon reached +inf (and right state was swept)

  Row out_row_, combined_, late_row_;
};

// --- Input ---------------------------------------------------------------------------------

bool AsofJoinOperator::Impl::HasNullKey(const Row& row, const std::vector<size_t>& by) const {
  for (size_t c : by) {
    if (row[c].is_null()) return true;
  }
  return false;
}

uint32_t AsofJoinOperator::Impl::KeyFor(const Row& row, const std::vector<size_t>& by) {
  const size_t hash = keyed::HashKey(row, by);
  const uint32_t found = key_ids_.Find(hash, [&](uint32_t id) {
    const Row& key = keys_[id].key;
    for (size_t i = 0; i < by.size(); ++i) {
      if (!(row[by[i]] == key[i])) return false;
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
  k.unmatchable = !spec_.null_keys_match && HasNullKey(row, by);
  for (size_t c : by) k.key.push_back(row[c]);
  k.key_hash = hash;
  key_ids_.Insert(hash, id);
  return id;
}

void AsofJoinOperator::Impl::EmitLate(bool left, const Row& row, Timestamp time, Diff diff) {
  late_row_.assign(left_size_ + right_size_, Value());
  const size_t offset = left ? 0 : left_size_;
  const size_t size = left ? left_size_ : right_size_;
  for (size_t i = 0; i < size && i < row.size(); ++i) late_row_[offset + i] = row[i];
  late_->Emit(late_row_, time, diff);
}

void AsofJoinOperator::Impl::OnChange(int port, const Row& row, Timestamp time, Diff diff) {
  assert(port == kLeftPort || port == kRightPort);
  if (diff == 0) return;
  const bool left = port == kLeftPort;
  if (time < (left ? left_horizon_ : right_horizon_)) {
    ++late_records_;
    EmitLate(left, row, time, diff);
    return;
  }
  const std::vector<size_t>& by = left ? spec_.left_by : spec_.right_by;
  // Under SQL null semantics a right record with a null key can never match: not held.
  if (!left && !spec_.null_keys_match && HasNullKey(row, by)) return;
  const uint32_t id = KeyFor(row, by);
  KeyState& k = keys_[id];
  if (left) {
    left_changes_.Append(time, diff, id, row);
  } else {
    k.pending_right.push_back({time, right_seq_++, diff, std::make_shared<const Row>(row)});
  }
  if (!k.dirty) {
    k.dirty = true;
    dirty_.push_back(id);
  }
}

// --- Applying a step's changes ---------------------------------------------------------------

namespace {

bool ByTime(const auto& a, const auto& b) { return a.time < b.time; }
bool ByTimeSeq(const auto& a, const auto& b) {
  return a.time != b.time ? a.time < b.time : a.seq < b.seq;
}

// Merges `added` (sorted by (time, seq)) into `sorted`; appending is the common case.
template <class T>
void MergeSorted(std::vector<T>& sorted, std::vector<T>& added) {
  if (added.empty()) return;
  if (sorted.empty()) {
    sorted = std::move(added);
    return;
  }
  const size_t middle = sorted.size();
  const bool in_order = !ByTimeSeq(added.front(), sorted.back());
  sorted.insert(sorted.end(), std::make_move_iterator(added.begin()),
                std::make_move_iterator(added.end()));
  if (!in_order) {
    std::inplace_merge(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(middle),
                       sorted.end(), [](const T& a, const T& b) { return ByTimeSeq(a, b); });
  }
  added.clear();
}

// Sorts pending changes by time; arrival (seq) order is kept among equal times.
template <class T>
void SortByTime(std::vector<T>& changes) {
  const auto less = [](const T& a, const T& b) { return ByTime(a, b); };
  if (!std::is_sorted(changes.begin(), changes.end(), less)) {
    std::stable_sort(changes.begin(), changes.end(), less);
  }
}

// The first index at or after `from` where `pred` (true on a prefix) is false: exponential
// probing then binary search, so a cursor moving forward by a little costs a little.
template <class T, class Pred>
size_t Gallop(const std::vector<T>& sorted, size_t from, Pred pred) {
  size_t step = 1;
  size_t low = from;
  while (low + step <= sorted.size() && pred(sorted[low + step - 1])) {
    low += step;
    step *= 2;
  }
  const auto first = sorted.begin() + static_cast<std::ptrdiff_t>(low);
  const auto last =
      sorted.begin() + static_cast<std::ptrdiff_t>(std::min(sorted.size(), low + step));
  return static_cast<size_t>(std::partition_point(first, last, pred) - sorted.begin());
}

template <class T>
std::pair<size_t, size_t> EqualTimeRange(const std::vector<T>& sorted, Timestamp time) {
  const auto first = std::partition_point(sorted.begin(), sorted.end(),
                                          [time](const T& e) { return e.time < time; });
  const auto last =
      std::partition_point(first, sorted.end(), [time](const T& e) { return e.time <= time; });
  return {static_cast<size_t>(first - sorted.begin()), static_cast<size_t>(last - sorted.begin())};
}

}  // namespace

Diff AsofJoinOperator::Impl::CancelWaitingRetraction(KeyState& k, Timestamp time, const Row& row,
                                                     Diff count) {
  auto [first, last] = EqualTimeRange(k.right, time);
  for (size_t i = first; i < last && count > 0; ++i) {
    RightEntry& e = k.right[i];
    if (e.count >= 0 || !(*e.row == row)) continue;
    const Diff take = std::min(count, -e.count);
    e.count += take;
    count -= take;
  }
  const auto begin = k.right.begin();
  const auto end = std::remove_if(begin + static_cast<std::ptrdiff_t>(first),
                                  begin + static_cast<std::ptrdiff_t>(last),
                                  [](const RightEntry& e) { return e.count == 0; });
  k.negative_right -= static_cast<size_t>(begin + static_cast<std::ptrdiff_t>(last) - end);
  k.right.erase(end, begin + static_cast<std::ptrdiff_t>(last));
  return count;
}

void AsofJoinOperator::Impl::Retract(KeyState& k, PendingRight& change) {
  Diff remaining = -change.diff;
  auto [first, last] = EqualTimeRange(k.right, change.time);
  // Most recent identical insertion first: a retraction undoes the latest matching insert.
  for (size_t i = last; i-- > first && remaining > 0;) {
    RightEntry& e = k.right[i];
    if (e.count <= 0 || !(*e.row == *change.row)) continue;
    const Diff take = std::min(remaining, e.count);
    e.count -= take;
    remaining -= take;
  }
  const auto begin = k.right.begin();
  const auto end = std::remove_if(begin + static_cast<std::ptrdiff_t>(first),
                                  begin + static_cast<std::ptrdiff_t>(last),
                                  [](const RightEntry& e) { return e.count == 0; });
  k.right.erase(end, begin + static_cast<std::ptrdiff_t>(last));
  if (remaining == 0) return;
  // Retraction before its insertion: kept (never matched) until the insertion cancels it.
  RightEntry waiting{change.time, change.seq, -remaining, std::move(change.row)};
  const auto at =
      std::upper_bound(k.right.begin(), k.right.end(), waiting,
                       [](const RightEntry& a, const RightEntry& b) { return ByTimeSeq(a, b); });
  k.right.insert(at, std::move(waiting));
  ++k.negative_right;
}

bool AsofJoinOperator::Impl::ApplyRight(KeyState& k, Timestamp* lowest_change) {
  std::vector<PendingRight>& pending = k.pending_right;
  if (pending.empty()) return false;
  SortByTime(pending);
  *lowest_change = pending.front().time;
  // Insertions before retractions, so that a retraction cancels an insertion of the same step
  // whichever came first.
  std::vector<RightEntry> added;
  added.reserve(pending.size());
  for (PendingRight& c : pending) {
    if (c.diff < 0) continue;
    Diff count = c.diff;
    if (k.negative_right > 0) count = CancelWaitingRetraction(k, c.time, *c.row, count);
    if (count > 0) added.push_back({c.time, c.seq, count, std::move(c.row)});
  }
  MergeSorted(k.right, added);
  for (PendingRight& c : pending) {
    if (c.diff < 0) Retract(k, c);
  }
  pending.clear();
  if (pending.capacity() > 1024) pending.shrink_to_fit();
  return true;
}

Diff AsofJoinOperator::Impl::AbsorbLeftRetraction(KeyState& k, Timestamp time, const Row& row,
                                                  Diff diff, bool* retracts) {
  Diff remaining = -diff;
  auto [first, last] = EqualTimeRange(k.left, time);
  for (size_t i = last; i-- > first && remaining > 0;) {
    LeftEntry& e = k.left[i];
    if (e.count <= 0 || !(e.row == row)) continue;
    const Diff take = std::min(remaining, e.count);
    e.count -= take;
    remaining -= take;
    e.touched = true;
    if (e.emitted) *retracts = true;
  }
  return -remaining;
}

// Folds the step's left retractions into the rows held; the other left changes are matched
// and emitted by MatchNewLeft, straight from the arena. Returns whether a retraction remains.
bool AsofJoinOperator::Impl::ApplyLeftRetractions() {
  bool retracts = false;
  left_changes_.ForEach([&](keyed::ChangeArena::Entry entry) {
    Diff diff = keyed::ChangeArena::DiffOf(entry);
    if (diff >= 0) return;
    KeyState& k = keys_[keyed::ChangeArena::KeyOf(entry)];
    if (!k.left.empty()) {
      diff = AbsorbLeftRetraction(k, keyed::ChangeArena::TimeOf(entry),
                                  keyed::ChangeArena::Unpack(entry), diff, &retracts);
      keyed::ChangeArena::SetDiff(entry, diff);
    }
    if (diff < 0) retracts = true;
  });
  return retracts;
}

// Returns whether the step's output may contain retractions (and so needs consolidation).
bool AsofJoinOperator::Impl::ApplyChanges(KeyState& k) {
  bool retracts = false;
  Timestamp lowest = kMaxTime;
  if (ApplyRight(k, &lowest)) {
    // Only rows whose match could still change at `lowest` or later are affected.
    for (LeftEntry& e : k.left) {
      if (e.final_at == kAlreadyFinal || e.final_at < lowest) continue;
      const Match m = Evaluate(k, e.time, nullptr);
      const RowPtr match = m.entry ? m.entry->row : nullptr;
      e.final_at = m.final_at;
      if (match == e.match) continue;
      if (e.emitted && !SameRow(e.emitted_match, match)) retracts = true;
      e.match = match;
      e.touched = true;
    }
  }
  return retracts;
}

// --- Matching --------------------------------------------------------------------------------

AsofJoinOperator::Impl::Match AsofJoinOperator::Impl::Evaluate(const KeyState& k, Timestamp time,
                                                               Cursor* cursor) const {
  if (k.unmatchable) return {nullptr, kAlreadyFinal};
  const std::vector<RightEntry>& r = k.right;
  const auto before = [time](const RightEntry& e) { return e.time < time; };
  const auto not_after = [time](const RightEntry& e) { return e.time <= time; };
  size_t lower, upper;
  if (cursor && cursor->valid && time >= cursor->time) {
    lower = Gallop(r, cursor->lower, before);
    upper = Gallop(r, std::max(cursor->upper, lower), not_after);
  } else {
    lower = Gallop(r, 0, before);
    upper = Gallop(r, lower, not_after);
  }
  if (cursor) *cursor = {true, time, lower, upper};

  // Backward candidate: the last present record at or before the time (strictly before when
  // !allow_exact), so the last to arrive among equal times; forward candidate: the first
  // present one at or after it (strictly after), so the first to arrive.
  size_t backward = kNone, forward = kNone;
  if (spec_.direction != AsofJoinDirection::kForward) {
    for (size_t i = spec_.allow_exact ? upper : lower; i-- > 0;) {
      if (r[i].count > 0) {
        if (WithinTolerance(Distance(time, r[i].time))) backward = i;
        break;
      }
    }
  }
  if (spec_.direction != AsofJoinDirection::kBackward) {
    for (size_t i = spec_.allow_exact ? lower : upper; i < r.size(); ++i) {
      if (r[i].count > 0) {
        if (WithinTolerance(Distance(r[i].time, time))) forward = i;
        break;
      }
    }
  }
  // A change at or before the left time can alter a backward-looking match.
  const Timestamp backward_final = spec_.allow_exact ? time : SubtractSaturating(time, 1);
  switch (spec_.direction) {
    case AsofJoinDirection::kBackward:
      return {backward == kNone ? nullptr : &r[backward], backward_final};
    case AsofJoinDirection::kForward:
      if (forward == kNone) return {nullptr, UnmatchedFinalAt(time)};
      // Earlier records or the match's retraction can alter it; a later arrival at the same
      // time cannot (the first wins).
      return {&r[forward], r[forward].time};
    case AsofJoinDirection::kNearest:
      break;
  }
  if (backward != kNone &&
      (forward == kNone || Distance(time, r[backward].time) <= Distance(r[forward].time, time))) {
    // A forward record alters it only if strictly closer: at time + d - 1 at the latest.
    const Timestamp d = Distance(time, r[backward].time);
    return {&r[backward], std::max(backward_final, d == 0 ? time : AddSaturating(time, d - 1))};
  }
  if (forward != kNone) return {&r[forward], r[forward].time};
  return {nullptr, UnmatchedFinalAt(time)};
}

// --- Output --------------------------------------------------------------------------------

void AsofJoinOperator::Impl::EmitResult(const Row* right, Timestamp time, Diff diff) {
  const auto right_value = [right](size_t i) -> const Value& { return RightValue(right, i); };
  if (spec_.select.empty()) {
    out_row_.resize(left_size_ + default_right_.size());
    for (size_t i = 0; i < default_right_.size(); ++i) {
      out_row_[left_size_ + i] = right_value(default_right_[i]);
    }
  } else if (!select_columns_.empty()) {
    // Straight from the left values and the right row: no combined row to fill.
    out_row_.resize(select_columns_.size());
    for (size_t i = 0; i < select_columns_.size(); ++i) {
      const size_t c = select_columns_[i];
      out_row_[i] = c < left_size_ ? combined_[c] : right_value(c - left_size_);
    }
  } else {
    combined_.resize(left_size_ + right_size_);
    for (size_t i = 0; i < right_size_; ++i) combined_[left_size_ + i] = right_value(i);
    out_row_.resize(spec_.select.size());
    for (size_t i = 0; i < spec_.select.size(); ++i) {
      const Expr& expr = *spec_.select[i].expr;
      const std::optional<size_t> column = expr.column_index();
      out_row_[i] = column ? combined_[*column] : expr.Eval(combined_);
    }
  }
  step_.Add(out_row_, time, diff);
}

void AsofJoinOperator::Impl::EmitDirect(const char* entry, const Row* right, Timestamp time,
                                        Diff diff) {
  out_row_.resize(select_columns_.size());
  const size_t n = keyed::ChangeArena::UnpackInto(entry, [this](size_t i) -> Value* {
    return i < left_size_ && left_targets_[i] != kNone ? &out_row_[left_targets_[i]] : nullptr;
  });
  for (size_t i = n; i < left_size_; ++i) {
    if (left_targets_[i] != kNone) out_row_[left_targets_[i]] = Value();
  }
  for (size_t i = 0; i < select_columns_.size(); ++i) {
    const size_t c = select_columns_[i];
    if (c >= left_size_) out_row_[i] = RightValue(right, c - left_size_);
  }
  step_.Add(out_row_, time, diff);
}

// Brings a left row's emitted output up to date when its mode allows it to be emitted.
void AsofJoinOperator::Impl::UpdateOutput(LeftEntry& e) {
  if (e.emitted ? !e.touched : !(updates_ || Passed(right_watermark_, e.final_at))) return;
  const bool had_row =
      e.emitted && e.emitted_count != 0 && (e.emitted_match || spec_.keep_unmatched);
  const bool has_row = e.count != 0 && (e.match || spec_.keep_unmatched);
  if (!(had_row && has_row && e.emitted_count == e.count && SameRow(e.emitted_match, e.match))) {
    if (had_row || has_row) {
      Row& target = LeftTarget();
      target.resize(std::max(target.size(), left_size_));
      for (size_t i = 0; i < left_size_; ++i) target[i] = i < e.row.size() ? e.row[i] : Value();
    }
    if (had_row) EmitResult(e.emitted_match.get(), e.time, -e.emitted_count);
    if (has_row) EmitResult(e.match.get(), e.time, e.count);
  }
  e.emitted = true;
  e.emitted_match = e.match;
  e.emitted_count = e.count;
  e.touched = false;
}

void AsofJoinOperator::Impl::SettleHeld(KeyState& k) {
  size_t kept = 0;
  for (size_t i = 0; i < k.left.size(); ++i) {
    LeftEntry& e = k.left[i];
    UpdateOutput(e);
    // Held until no right change can alter it, allowed lateness included.
    if (e.count == 0 || Passed(right_watermark_, AddSaturating(e.final_at, lateness_))) continue;
    if (kept != i) k.left[kept] = std::move(e);
    ++kept;
  }
  k.left.erase(k.left.begin() + static_cast<std::ptrdiff_t>(kept), k.left.end());
}

// A new left row of this step: matched against its key's right records (in arrival order,
// which is time order per key for a sorted input, so the cursor merges rather than searches).
// A row whose match is already final is emitted and forgotten without ever being unpacked into
// a Row of its own, which is the whole of a static run; the others are held.
void AsofJoinOperator::Impl::MatchNewLeft(const char* entry) {
  const Diff diff = keyed::ChangeArena::DiffOf(entry);
  if (diff == 0) return;
  KeyState& k = keys_[keyed::ChangeArena::KeyOf(entry)];
  const Timestamp time = keyed::ChangeArena::TimeOf(entry);
  const Match m = Evaluate(k, time, &k.cursor);
  const Row* match = m.entry ? m.entry->row.get() : nullptr;
  const bool emit = updates_ || Passed(right_watermark_, m.final_at);
  if (emit && (match || spec_.keep_unmatched) && !left_targets_.empty()) {
    EmitDirect(entry, match, time, diff);
  } else if (emit && (match || spec_.keep_unmatched)) {
    Row& target = LeftTarget();
    target.resize(std::max(target.size(), left_size_));
    keyed::ChangeArena::Unpack(entry, target.data(), left_size_);
    EmitResult(match, time, diff);
  }
  if (Passed(right_watermark_, AddSaturating(m.final_at, lateness_))) return;
  LeftEntry& e = k.new_held.emplace_back();
  e.time = time;
  e.seq = left_seq_++;
  e.count = diff;
  e.row = keyed::ChangeArena::Unpack(entry);
  e.match = m.entry ? m.entry->row : nullptr;
  e.final_at = m.final_at;
  if (emit) {
    e.emitted = true;
    e.emitted_match = e.match;
    e.emitted_count = e.count;
  }
}

void AsofJoinOperator::Impl::Finish(uint32_t id) {
  KeyState& k = keys_[id];
  if (!k.new_held.empty()) {
    std::sort(k.new_held.begin(), k.new_held.end(),
              [](const LeftEntry& a, const LeftEntry& b) { return ByTimeSeq(a, b); });
    MergeSorted(k.left, k.new_held);
    k.new_held.clear();
  }
  if (k.left.capacity() > 2 * k.left.size() + 64) k.left.shrink_to_fit();
  // The next right watermark that matters: a final-mode row to emit, or a row to forget.
  std::optional<Timestamp> due;
  for (const LeftEntry& e : k.left) {
    const Timestamp next = e.emitted ? AddSaturating(e.final_at, lateness_) : e.final_at;
    if (!due || next < *due) due = next;
  }
  if (due != k.queued_due) {
    k.queued_due = due;
    if (due) due_heap_.push({*due, id});
  }
  const std::optional<Timestamp> oldest =
      k.left.empty() ? std::nullopt : std::optional<Timestamp>(k.left.front().time);
  if (oldest != k.queued_oldest) {
    k.queued_oldest = oldest;
    if (oldest) oldest_heap_.push({*oldest, id});
  }
  CompactRight(id);
}

void AsofJoinOperator::Impl::Settle(uint32_t id) {
  SettleHeld(keys_[id]);
  Finish(id);
}

// Drops the right records that no held or future left row can match. Future left rows come at
// or after the left horizon; right changes below the right horizon would be late; held left
// rows (all at or after their key's oldest) may still be re-evaluated.
void AsofJoinOperator::Impl::CompactRight(uint32_t id) {
  KeyState& k = keys_[id];
  std::vector<RightEntry>& r = k.right;
  Timestamp horizon = Horizon();
  if (!k.left.empty()) {
    horizon = std::min(horizon, k.left.front().time);
  } else if (left_horizon_ == kMaxTime) {
    horizon = kMaxTime;  // no left row held, none to come: nothing to match any more
  }
  const size_t below = static_cast<size_t>(
      std::partition_point(r.begin(), r.end(),
                           [horizon](const RightEntry& e) { return e.time < horizon; }) -
      r.begin());
  size_t keep = kNone;
  // With no left row to come or held (horizon +inf), nothing is needed.
  if (spec_.direction != AsofJoinDirection::kForward && horizon != kMaxTime) {
    // The latest present record below the horizon is the backward match of every later left
    // time that has none in between, unless it is already beyond tolerance for all of them.
    for (size_t i = below; i-- > 0;) {
      if (r[i].count > 0) {
        if (WithinTolerance(Distance(horizon, r[i].time))) keep = i;
        break;
      }
    }
  }
  if (below > 0) {
    size_t erased_negative = 0;
    for (size_t i = 0; i < below; ++i) {
      if (r[i].count < 0) ++erased_negative;
    }
    k.negative_right -= erased_negative;
    if (keep != kNone) std::swap(r[0], r[keep]);
    r.erase(r.begin() + (keep != kNone ? 1 : 0), r.begin() + static_cast<std::ptrdiff_t>(below));
  }
  // The least horizon at which compaction would drop something more (exact, so that a queued
  // key always makes progress).
  std::optional<Timestamp> next;
  const auto consider = [&next](Timestamp t) {
    if (!next || t < *next) next = t;
  };
  if (!r.empty()) {
    if (spec_.direction == AsofJoinDirection::kForward) {
      consider(AddSaturating(r[0].time, 1));
    } else {
      size_t positives = 0;
      for (size_t i = 0; i < r.size() && positives < 2; ++i) {
        if (r[i].count < 0) {
          consider(AddSaturating(r[i].time, 1));
          continue;
        }
        ++positives;
        if (positives == 1) {
          consider(tolerance_ ? AddSaturating(AddSaturating(r[i].time, *tolerance_), 1) : kMaxTime);
        } else {
          consider(AddSaturating(r[i].time, 1));
        }
      }
    }
  }
  // A key held back by its own left rows is compacted again when those rows settle.
  if (next && *next <= Horizon()) next.reset();
  if (next != k.queued_compaction) {
    k.queued_compaction = next;
    if (next) compaction_heap_.push({*next, id});
  }
}

void AsofJoinOperator::Impl::MaybeForget(uint32_t id) {
  KeyState& k = keys_[id];
  if (!k.live || k.dirty || !k.right.empty() || !k.left.empty()) return;
  key_ids_.Erase(k.key_hash, id);
  k = KeyState();
  free_ids_.push_back(id);
}

Status AsofJoinOperator::Impl::Advance(std::span<const Timestamp> input_watermarks,
                                       Timestamp* output_watermark) {
  if (input_watermarks.size() != 2) {
    return Status::Invalid("as-of join: expected 2 input watermarks (left, right), got " +
                           std::to_string(input_watermarks.size()));
  }
  left_watermark_ = std::max(left_watermark_, input_watermarks[0]);
  right_watermark_ = std::max(right_watermark_, input_watermarks[1]);
  // This step's records were accepted under the previous horizons; the new ones judge the
  // next step's records and bound what state must be kept.
  left_horizon_ = SubtractSaturating(left_watermark_, lateness_);
  right_horizon_ = SubtractSaturating(right_watermark_, lateness_);

  bool retracts = false;
  for (uint32_t id : dirty_) retracts = ApplyChanges(keys_[id]) || retracts;
  retracts = ApplyLeftRetractions() || retracts;
  step_.Begin(retracts);
  std::vector<uint32_t> dirty;
  dirty.swap(dirty_);
  for (uint32_t id : dirty) {
    KeyState& k = keys_[id];
    k.dirty = false;
    k.cursor = Cursor();
    SettleHeld(k);
  }
  left_changes_.ForEach([this](const char* entry) { MatchNewLeft(entry); });
  left_changes_.Clear();
  for (uint32_t id : dirty) Finish(id);
  // Rows whose match became final as the right watermark advanced (final mode emits them
  // now), and rows that can no longer change.
  while (!due_heap_.empty() && Passed(right_watermark_, due_heap_.top().first)) {
    const auto [due, id] = due_heap_.top();
    due_heap_.pop();
    KeyState& k = keys_[id];
    if (!k.live || k.queued_due != due) continue;
    k.queued_due.reset();
    Settle(id);
    dirty.push_back(id);
  }
  while (!compaction_heap_.empty() && compaction_heap_.top().first <= Horizon()) {
    const auto [at, id] = compaction_heap_.top();
    compaction_heap_.pop();
    KeyState& k = keys_[id];
    if (!k.live || k.queued_compaction != at) continue;
    k.queued_compaction.reset();
    CompactRight(id);
    dirty.push_back(id);
  }
  // No left row will come any more: right records are only kept for the rows still held.
  if (left_horizon_ == kMaxTime && !left_finished_) {
    left_finished_ = true;
    for (uint32_t id = 0; id < keys_.size(); ++id) {
      if (!keys_[id].live) continue;
      CompactRight(id);
      dirty.push_back(id);
    }
  }
  for (uint32_t id : dirty) MaybeForget(id);
  step_.Finish();

  // Output times are left times: the next left record is at or after the left horizon, and a
  // held row may still be emitted or corrected at its own time.
  Timestamp out = left_horizon_;
  while (!oldest_heap_.empty()) {
    const auto [oldest, id] = oldest_heap_.top();
    const KeyState& k = keys_[id];
    if (k.live && k.queued_oldest == oldest) {
      out = std::min(out, oldest);
      break;
    }
    oldest_heap_.pop();
  }
  *output_watermark = out;
  return Status::Ok();
}

// --- Snapshots -------------------------------------------------------------------------------

namespace {

// How a left row's match is saved: by position among its key's right records when it is one of
// them (so that it stays the same shared row), else as a row of its own.
enum MatchTag : uint8_t { kNoMatch, kRightRecord, kOwnRow, kSameAsMatch };

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

void AsofJoinOperator::Impl::SaveKey(const KeyState& k, SnapshotWriter* out) const {
  out->WriteRow(k.key);
  out->WriteVarint(k.right.size());
  for (const RightEntry& r : k.right) {
    out->WriteTimestamp(r.time);
    out->WriteVarint(r.seq);
    out->WriteSigned(r.count);
    out->WriteRow(*r.row);
  }
  const auto save_match = [&](const RowPtr& match) {
    if (match == nullptr) return out->WriteU8(kNoMatch);
    for (size_t i = 0; i < k.right.size(); ++i) {
      if (k.right[i].row == match) {
        out->WriteU8(kRightRecord);
        out->WriteVarint(i);
        return;
      }
    }
    out->WriteU8(kOwnRow);
    out->WriteRow(*match);
  };
  out->WriteVarint(k.left.size());
  for (const LeftEntry& e : k.left) {
    out->WriteTimestamp(e.time);
    out->WriteVarint(e.seq);
    out->WriteSigned(e.count);
    out->WriteRow(e.row);
    save_match(e.match);
    out->WriteTimestamp(e.final_at);
    if (e.emitted_match != nullptr && e.emitted_match == e.match) {
      out->WriteU8(kSameAsMatch);
    } else {
      save_match(e.emitted_match);
    }
    out->WriteSigned(e.emitted_count);
    out->WriteU8(static_cast<uint8_t>((e.emitted ? 1 : 0) | (e.touched ? 2 : 0)));
  }
  SaveOptionalTime(out, k.queued_due);
  SaveOptionalTime(out, k.queued_compaction);
  SaveOptionalTime(out, k.queued_oldest);
}

void AsofJoinOperator::Impl::SaveState(SnapshotWriter* out) const {
  assert(dirty_.empty() && left_changes_.empty() && "SaveState between steps only");
  out->WriteString("asof_join");
  out->WriteVarint(spec_.left_by.size());
  out->WriteVarint(left_seq_);
  out->WriteVarint(right_seq_);
  out->WriteTimestamp(left_watermark_);
  out->WriteTimestamp(right_watermark_);
  out->WriteTimestamp(left_horizon_);
  out->WriteTimestamp(right_horizon_);
  out->WriteVarint(late_records_);
  out->WriteBool(left_finished_);
  out->WriteVarint(keys_.size());
  for (const KeyState& k : keys_) {
    out->WriteBool(k.live);
    if (k.live) SaveKey(k, out);
  }
  out->WriteVarint(free_ids_.size());
  for (uint32_t id : free_ids_) out->WriteVarint(id);
}

Status AsofJoinOperator::Impl::LoadKey(SnapshotReader* in, uint32_t id) {
  KeyState& k = keys_[id];
  RUNNEL_RETURN_IF_ERROR(in->ReadRow("join key", &k.key));
  if (k.key.size() != spec_.left_by.size()) return in->Corrupt("join key", "has the wrong width");
  std::vector<size_t> key_columns(k.key.size());
  for (size_t i = 0; i < key_columns.size(); ++i) key_columns[i] = i;
  k.key_hash = keyed::HashKey(k.key, key_columns);
  const uint32_t existing =
      key_ids_.Find(k.key_hash, [&](uint32_t other) { return keys_[other].key == k.key; });
  if (existing != keyed::KeyIndex::kNotFound) return in->Corrupt("join key", "appears twice");
  key_ids_.Insert(k.key_hash, id);
  for (const Value& v : k.key) k.unmatchable = k.unmatchable || v.is_null();
  k.unmatchable = k.unmatchable && !spec_.null_keys_match;

  size_t n = 0;
  RUNNEL_RETURN_IF_ERROR(in->ReadCount("join right record count", 4, &n));
  k.right.resize(n);
  for (size_t i = 0; i < n; ++i) {
    RightEntry& r = k.right[i];
    Row row;
    RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("join right record time", &r.time));
    RUNNEL_RETURN_IF_ERROR(in->ReadVarint("join right record arrival", &r.seq));
    RUNNEL_RETURN_IF_ERROR(in->ReadSigned("join right record multiplicity", &r.count));
    RUNNEL_RETURN_IF_ERROR(in->ReadRow("join right record", &row));
    if (r.count == 0) return in->Corrupt("join right record multiplicity", "is zero");
    if (i > 0 && ByTimeSeq(r, k.right[i - 1])) {
      return in->Corrupt("join right records", "are out of (time, arrival) order");
    }
    if (r.count < 0) ++k.negative_right;
    r.row = std::make_shared<const Row>(std::move(row));
  }
  const auto load_match = [&](std::string_view what, const RowPtr* same, RowPtr* match) {
    uint8_t tag = 0;
    RUNNEL_RETURN_IF_ERROR(in->ReadU8(what, &tag));
    switch (tag) {
      case kNoMatch:
        match->reset();
        return Status::Ok();
      case kRightRecord: {
        uint64_t index = 0;
        RUNNEL_RETURN_IF_ERROR(in->ReadVarint(what, &index));
        if (index >= k.right.size()) return in->Corrupt(what, "names no right record");
        *match = k.right[index].row;
        return Status::Ok();
      }
      case kOwnRow: {
        Row row;
        RUNNEL_RETURN_IF_ERROR(in->ReadRow(what, &row));
        *match = std::make_shared<const Row>(std::move(row));
        return Status::Ok();
      }
      case kSameAsMatch:
        if (same == nullptr || *same == nullptr) break;
        *match = *same;
        return Status::Ok();
      default:
        break;
    }
    return in->Corrupt(what, "has an unknown tag");
  };
  RUNNEL_RETURN_IF_ERROR(in->ReadCount("join left row count", 8, &n));
  k.left.resize(n);
  for (size_t i = 0; i < n; ++i) {
    LeftEntry& e = k.left[i];
    uint8_t flags = 0;
    RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("join left row time", &e.time));
    RUNNEL_RETURN_IF_ERROR(in->ReadVarint("join left row arrival", &e.seq));
    RUNNEL_RETURN_IF_ERROR(in->ReadSigned("join left row multiplicity", &e.count));
    RUNNEL_RETURN_IF_ERROR(in->ReadRow("join left row", &e.row));
    RUNNEL_RETURN_IF_ERROR(load_match("join left row match", nullptr, &e.match));
    RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("join left row final time", &e.final_at));
    RUNNEL_RETURN_IF_ERROR(load_match("join left row emitted match", &e.match, &e.emitted_match));
    RUNNEL_RETURN_IF_ERROR(in->ReadSigned("join left row emitted multiplicity", &e.emitted_count));
    RUNNEL_RETURN_IF_ERROR(in->ReadU8("join left row status", &flags));
    if (flags > 3) return in->Corrupt("join left row status", "is unknown");
    e.emitted = (flags & 1) != 0;
    e.touched = (flags & 2) != 0;
    if (i > 0 && ByTimeSeq(e, k.left[i - 1])) {
      return in->Corrupt("join left rows", "are out of (time, arrival) order");
    }
  }
  RUNNEL_RETURN_IF_ERROR(LoadOptionalTime(in, "join due time", &k.queued_due));
  RUNNEL_RETURN_IF_ERROR(LoadOptionalTime(in, "join compaction time", &k.queued_compaction));
  RUNNEL_RETURN_IF_ERROR(LoadOptionalTime(in, "join oldest row time", &k.queued_oldest));
  if (k.queued_due) due_heap_.push({*k.queued_due, id});
  if (k.queued_compaction) compaction_heap_.push({*k.queued_compaction, id});
  if (k.queued_oldest) oldest_heap_.push({*k.queued_oldest, id});
  return Status::Ok();
}

Status AsofJoinOperator::Impl::LoadState(SnapshotReader* in) {
  std::string kind;
  uint64_t width = 0;
  RUNNEL_RETURN_IF_ERROR(in->ReadString("operator kind", &kind));
  RUNNEL_RETURN_IF_ERROR(in->ReadVarint("join `by` width", &width));
  if (kind != "asof_join" || width != spec_.left_by.size()) {
    return Status::Invalid("as-of join state was saved by a different definition (" + kind +
                           " with " + std::to_string(width) + " `by` fields; this view has " +
                           std::to_string(spec_.left_by.size()) +
                           "): restart with --reset-state or replay the log");
  }
  RUNNEL_RETURN_IF_ERROR(in->ReadVarint("join left arrival counter", &left_seq_));
  RUNNEL_RETURN_IF_ERROR(in->ReadVarint("join right arrival counter", &right_seq_));
  RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("join left watermark", &left_watermark_));
  RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("join right watermark", &right_watermark_));
  RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("join left horizon", &left_horizon_));
  RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("join right horizon", &right_horizon_));
  RUNNEL_RETURN_IF_ERROR(in->ReadVarint("join late record counter", &late_records_));
  RUNNEL_RETURN_IF_ERROR(in->ReadBool("join left side finished", &left_finished_));
  size_t num_keys = 0;
  RUNNEL_RETURN_IF_ERROR(in->ReadCount("join key count", 1, &num_keys));
  keys_.resize(num_keys);
  for (uint32_t id = 0; id < num_keys; ++id) {
    RUNNEL_RETURN_IF_ERROR(in->ReadBool("join key liveness", &keys_[id].live));
    if (keys_[id].live) RUNNEL_RETURN_IF_ERROR(LoadKey(in, id));
  }
  size_t num_free = 0;
  RUNNEL_RETURN_IF_ERROR(in->ReadCount("join free key count", 1, &num_free));
  std::vector<bool> freed(keys_.size(), false);
  for (size_t i = 0; i < num_free; ++i) {
    uint64_t id = 0;
    RUNNEL_RETURN_IF_ERROR(in->ReadVarint("join free key", &id));
    if (id >= keys_.size() || keys_[id].live || freed[id]) {
      return in->Corrupt("join free key", "is not a free key id");
    }
    freed[id] = true;
    free_ids_.push_back(static_cast<uint32_t>(id));
  }
  return Status::Ok();
}

OperatorStats AsofJoinOperator::Impl::stats() const {
  OperatorStats s;
  s.late_records = late_records_;
  for (const KeyState& k : keys_) s.state_entries += k.right.size() + k.left.size();
  return s;
}

// --- Public interface ----------------------------------------------------------------------

AsofJoinOperator::AsofJoinOperator(AsofJoinOperatorSpec spec) : Operator(2) {
  assert(Validate(spec).ok());
  impl_ = std::make_unique<Impl>(std::move(spec), &output(kResultsPort), &output(kLatePort));
}

AsofJoinOperator::~AsofJoinOperator() = default;

Status AsofJoinOperator::Validate(const AsofJoinOperatorSpec& spec) {
  if (spec.left_by.empty() || spec.left_by.size() != spec.right_by.size()) {
    return Status::Invalid("as-of join: `by` needs one or more fields, as many on each side");
  }
  for (size_t c : spec.left_by) {
    if (c >= spec.left.size()) return Status::Invalid("as-of join: left `by` column out of range");
  }
  for (size_t c : spec.right_by) {
    if (c >= spec.right.size()) {
      return Status::Invalid("as-of join: right `by` column out of range");
    }
  }
  if (spec.tolerance && *spec.tolerance < 0) {
    return Status::Invalid("as-of join: tolerance must not be negative");
  }
  if (spec.allowed_lateness < 0) {
    return Status::Invalid("as-of join: allowed_lateness must not be negative");
  }
  for (const NamedExpression& item : spec.select) {
    if (!item.expr) return Status::Invalid("as-of join: select item '" + item.name + "' is empty");
  }
  return Status::Ok();
}

Schema AsofJoinOperator::OutputSchema(const AsofJoinOperatorSpec& spec) {
  std::vector<Column> columns;
  if (!spec.select.empty()) {
    for (const NamedExpression& item : spec.select) {
      columns.push_back({item.name, item.expr->type()});
    }
    return Schema(std::move(columns));
  }
  columns = spec.left.columns();
  std::vector<Column> right;
  for (size_t i : DefaultRightColumns(spec)) right.push_back(spec.right.column(i));
  for (Column& c : RenamedRightColumns(columns, right)) columns.push_back(std::move(c));
  return Schema(std::move(columns));
}

Schema AsofJoinOperator::LateSchema(const AsofJoinOperatorSpec& spec) {
  std::vector<Column> columns = spec.left.columns();
  for (Column& c : RenamedRightColumns(columns, spec.right.columns())) {
    columns.push_back(std::move(c));
  }
  return Schema(std::move(columns));
}

void AsofJoinOperator::OnChange(int port, const Row& row, Timestamp time, Diff diff) {
  impl_->OnChange(port, row, time, diff);
}

Status AsofJoinOperator::Advance(std::span<const Timestamp> input_watermarks,
                                 Timestamp* output_watermark) {
  return impl_->Advance(input_watermarks, output_watermark);
}

OperatorStats AsofJoinOperator::stats() const { return impl_->stats(); }

void AsofJoinOperator::SaveState(SnapshotWriter* out) const { impl_->SaveState(out); }

Status AsofJoinOperator::LoadState(SnapshotReader* in) { return impl_->LoadState(in); }

std::string AsofJoinOperator::StateFingerprint() const {
  const AsofJoinOperatorSpec& spec = impl_->spec();
  FingerprintBuilder f("asof_join");
  f.AddSchema("left", spec.left).AddSchema("right", spec.right);
  f.AddColumns("left_by", spec.left_by, spec.left);
  f.AddColumns("right_by", spec.right_by, spec.right);
  f.Add("direction", spec.direction == AsofJoinDirection::kBackward  ? "backward"
                     : spec.direction == AsofJoinDirection::kForward ? "forward"
                                                                     : "nearest");
  if (spec.tolerance) {
    f.Add("tolerance", *spec.tolerance);
  } else {
    f.Add("tolerance", "none");
  }
  f.Add("allow_exact", spec.allow_exact ? 1 : 0);
  f.Add("keep_unmatched", spec.keep_unmatched ? 1 : 0);
  f.Add("null_keys_match", spec.null_keys_match ? 1 : 0);
  f.Add("emit", spec.emit == EmitMode::kFinal ? "final" : "updates");
  f.Add("allowed_lateness", spec.allowed_lateness);
  for (const NamedExpression& item : spec.select) {
    std::string text = item.name + "=" + item.text + ":" + std::string(TypeName(item.expr->type()));
    if (const std::optional<size_t> column = item.expr->column_index()) {
      text += ":#" + std::to_string(*column);
    }
    f.Add("select", text);
  }
  return f.Release();
}

}  // namespace runnel
