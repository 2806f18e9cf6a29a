#include "operators/aggregate_state.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

namespace runnel {

namespace {

__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

template <class T>
T& At(std::byte* state, uint32_t offset) {
  return *std::launder(reinterpret_cast<T*>(state + offset));
}
template <class T>
const T& At(const std::byte* state, uint32_t offset) {
  return *std::launder(reinterpret_cast<const T*>(state + offset));
}

// Calls f(std::type_identity<T>{}) with the C++ type that holds values of `type`.
template <class F>
decltype(auto) WithType(ValueType type, F&& f) {
  switch (type) {
    case ValueType::kBool:
      return f(std::type_identity<bool>{});
    case ValueType::kInt:
      return f(std::type_identity<int64_t>{});
    case ValueType::kString:
      return f(std::type_identity<std::string>{});
    case ValueType::kFloat:
    case ValueType::kNull:
      break;
  }
  return f(std::type_identity<double>{});
}

// REQUIRES: Accepts(type of T, v).
template <class T>
decltype(auto) Get(const Value& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v.AsBool();
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return v.AsInt();
  } else if constexpr (std::is_same_v<T, double>) {
    return v.AsNumber();
  } else {
    return static_cast<const std::string&>(v.AsString());
  }
}

template <class T>
Value Make(const T& x) {
  if constexpr (std::is_same_v<T, bool>) {
    return Value::Bool(x);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return Value::Int(x);
  } else if constexpr (std::is_same_v<T, double>) {
    return Value::Float(x);
  } else {
    return Value::String(x);
  }
}

// A value whose runtime type differs from the argument's static type counts as null, except
// that an int feeds a float argument (the expression module may widen lazily).
bool Accepts(ValueType type, const Value& v) {
  const ValueType vt = v.type();
  if (vt == ValueType::kNull) return false;
  if (type == ValueType::kNull) return true;  // count(x) over an untyped x
  return vt == type || (type == ValueType::kFloat && vt == ValueType::kInt);
}

// Neumaier's compensated sum. Float sums must survive retractions (1e20 + 1 - 1e20 is 1, not 0)
// and should not depend on arrival order beyond the last bit, or a streaming run and a static
// run of the same data would print different sums.
struct CompensatedSum {
  double sum = 0;
  double comp = 0;

  [[gnu::always_inline]] void Add(double x) {
    const double t = sum + x;
    comp += std::abs(sum) >= std::abs(x) ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }
  // Adds x * d with the product's rounding error, so a diff of 3 equals three diffs of 1.
  void AddScaled(double x, Diff d) {
    if (d == 1) return Add(x);
    if (d == -1) return Add(-x);
    const double m = static_cast<double>(d);
    const double p = x * m;
    Add(p);
    Add(std::fma(x, m, -p));
  }
  void AddAll(const CompensatedSum& other) {
    Add(other.sum);
    Add(other.comp);
  }
  double value() const { return sum + comp; }
};

// Integer sums are exact in 128 bits; stored unaligned-safe because the arena aligns to 8.
struct IntSum {
  unsigned char bytes[16];
  Int128 get() const {
    Int128 v;
    std::memcpy(&v, bytes, sizeof(v));
    return v;
  }
  void set(Int128 v) { std::memcpy(bytes, &v, sizeof(v)); }
};

// Sample variance from sums of deviations from a pivot (the first value): removal is a
// subtraction, and the shift keeps the cancellation small when values sit far from zero.
struct VarState {
  double pivot = 0;
  CompensatedSum s1;  // sum of (x - pivot)
  CompensatedSum s2;  // sum of (x - pivot)^2

  void Add(double x, Diff d, int64_t old_n, int64_t new_n) {
    if (old_n <= 0) *this = VarState{x, {}, {}};
    const double y = x - pivot;
    s1.AddScaled(y, d);
    const double sq = y * y;
    s2.AddScaled(sq, d);
    s2.AddScaled(std::fma(y, y, -sq), d);
    if (new_n == 0) *this = VarState{};
  }
  void Merge(const VarState& src, int64_t n_dst, int64_t n_src) {
    if (n_src <= 0) return;
    if (n_dst <= 0) {
      *this = src;
      return;
    }
    // Re-expresses src's sums around this pivot.
    const double delta = src.pivot - pivot;
    const double src_s1 = src.s1.value();
    s1.AddAll(src.s1);
    s1.AddScaled(delta, n_src);
    s2.AddAll(src.s2);
    s2.Add(2 * delta * src_s1);
    s2.AddScaled(delta * delta, n_src);
  }
  Value Finalize(int64_t n, bool stddev) const {
    if (n < 2) return Value::Null();
    const double dn = static_cast<double>(n);
    const double a = s1.value();
    // n*S2 - S1^2 does not depend on the pivot, so for values whose sums are exact (the usual
    // case for sensor readings with few digits) the result is the same whatever the arrival
    // order; the single fma keeps one rounding out of the cancellation.
    const double num = std::fma(-a, a, dn * s2.value());
    const double var = std::max(0.0, num / (dn * (dn - 1)));
    return Value::Float(stddev ? std::sqrt(var) : var);
  }
};

template <class T>
struct Compact {
  T value{};
};

template <class T>
struct TimedValue {
  Timestamp time = 0;
  uint64_t seq = 0;
  T value{};
};

inline bool Earlier(Timestamp t1, uint64_t s1, Timestamp t2, uint64_t s2) {
  return t1 < t2 || (t1 == t2 && s1 < s2);
}

// A value of a typed state in a snapshot. Doubles keep their exact bits; values held for
// comparison (min/max, bags) must be finite, as every float inside a pipeline is.
template <class T>
void WriteItem(SnapshotWriter* out, const T& x) {
  if constexpr (std::is_same_v<T, bool>) {
    out->WriteBool(x);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    out->WriteSigned(x);
  } else if constexpr (std::is_same_v<T, double>) {
    out->WriteDouble(x);
  } else {
    out->WriteString(x);
  }
}

template <class T>
Status ReadItem(SnapshotReader* in, std::string_view what, T* x) {
  if constexpr (std::is_same_v<T, bool>) {
    return in->ReadBool(what, x);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return in->ReadSigned(what, x);
  } else if constexpr (std::is_same_v<T, double>) {
    RUNNEL_RETURN_IF_ERROR(in->ReadDouble(what, x));
    if (!std::isfinite(*x)) return in->Corrupt(what, "is not a finite number");
    return Status::Ok();
  } else {
    return in->ReadString(what, x);
  }
}

// A multiset of values with signed multiplicities: one vector holding a sorted, consolidated
// prefix and an unsorted tail of recent changes, merged when the tail outgrows the prefix
// (amortised O(log n) per change, contiguous memory, no node per value).
template <class T>
class ValueBag {
 public:
  using Entry = std::pair<T, int64_t>;

  void Add(const T& value, int64_t count) {
    entries_.emplace_back(value, count);
    const size_t tail = entries_.size() - sorted_;
    if (tail >= 16 && tail >= sorted_) Consolidate();
  }
  void AddAll(const ValueBag& other) {
    for (const Entry& e : other.entries_) Add(e.first, e.second);
  }
  // Sorted by value, equal values combined, zero counts dropped. Negative counts only come
  // from inconsistent input (a retraction of a value never inserted) and are skipped by readers.
  const std::vector<Entry>& Consolidated() {
    Consolidate();
    return entries_;
  }

  // Entries as they are, consolidated or not, so that a loaded bag continues exactly alike.
  void Save(SnapshotWriter* out) const {
    out->WriteVarint(entries_.size());
    out->WriteVarint(sorted_);
    for (const Entry& e : entries_) {
      WriteItem(out, e.first);
      out->WriteSigned(e.second);
    }
  }
  Status Load(SnapshotReader* in) {
    size_t n = 0;
    RUNNEL_RETURN_IF_ERROR(in->ReadCount("value multiset size", 2, &n));
    uint64_t sorted = 0;
    RUNNEL_RETURN_IF_ERROR(in->ReadVarint("value multiset sorted prefix", &sorted));
    if (sorted > n) return in->Corrupt("value multiset sorted prefix", "exceeds its size");
    entries_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      RUNNEL_RETURN_IF_ERROR(ReadItem(in, "value multiset value", &entries_[i].first));
      RUNNEL_RETURN_IF_ERROR(in->ReadSigned("value multiset count", &entries_[i].second));
      if (i > 0 && i < sorted && !(entries_[i - 1].first < entries_[i].first)) {
        return in->Corrupt("value multiset", "has an unsorted prefix");
      }
    }
    sorted_ = sorted;
    return Status::Ok();
  }

 private:
  void Consolidate() {
    if (sorted_ == entries_.size()) return;
    const auto less = [](const Entry& a, const Entry& b) { return a.first < b.first; };
    std::sort(entries_.begin() + sorted_, entries_.end(), less);
    std::inplace_merge(entries_.begin(), entries_.begin() + sorted_, entries_.end(), less);
    size_t out = 0;
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (out > 0 && !(entries_[out - 1].first < entries_[i].first)) {
        entries_[out - 1].second += entries_[i].second;
      } else {
        if (out > 0 && entries_[out - 1].second == 0) --out;
        if (out != i) entries_[out] = std::move(entries_[i]);
        ++out;
      }
    }
    if (out > 0 && entries_[out - 1].second == 0) --out;
    entries_.resize(out);
    if (entries_.capacity() > 4 * entries_.size() + 16) entries_.shrink_to_fit();
    sorted_ = entries_.size();
  }

  std::vector<Entry> entries_;
  size_t sorted_ = 0;  // entries_[0, sorted_) is consolidated
};

// Values with their event time and arrival number, for retractable first/last; laid out like
// ValueBag, sorted by (time, arrival).
template <class T>
class TimedBag {
 public:
  struct Entry {
    Timestamp time;
    uint64_t seq;
    T value;
    int64_t count;
  };

  void Insert(Timestamp time, uint64_t seq, const T& value, int64_t count) {
    entries_.push_back(Entry{time, seq, value, count});
    const size_t tail = entries_.size() - sorted_;
    if (tail >= 16 && tail >= sorted_) Consolidate();
  }
  // Cancels `count` earlier insertions of `value` at `time`, latest arrival first, so that an
  // upstream that retracts what it just emitted undoes exactly that. Unmatched retractions
  // (inconsistent input) are ignored.
  void Retract(Timestamp time, const T& value, int64_t count) {
    Consolidate();
    auto lo = std::lower_bound(entries_.begin(), entries_.end(), time,
                               [](const Entry& e, Timestamp t) { return e.time < t; });
    auto hi = std::upper_bound(lo, entries_.end(), time,
                               [](Timestamp t, const Entry& e) { return t < e.time; });
    for (auto it = hi; it != lo && count > 0;) {
      --it;
      if (it->count <= 0 || !(it->value == value)) continue;
      const int64_t take = std::min(count, it->count);
      it->count -= take;
      count -= take;
    }
    entries_.erase(std::remove_if(lo, hi, [](const Entry& e) { return e.count == 0; }), hi);
    sorted_ = entries_.size();
  }
  void AddAll(const TimedBag& other) {
    for (const Entry& e : other.entries_) Insert(e.time, e.seq, e.value, e.count);
  }
  const Entry* First() {
    Consolidate();
    for (const Entry& e : entries_) {
      if (e.count > 0) return &e;
    }
    return nullptr;
  }
  const Entry* Last() {
    Consolidate();
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
      if (it->count > 0) return &*it;
    }
    return nullptr;
  }

  void Save(SnapshotWriter* out) const {
    out->WriteVarint(entries_.size());
    out->WriteVarint(sorted_);
    for (const Entry& e : entries_) {
      out->WriteTimestamp(e.time);
      out->WriteVarint(e.seq);
      WriteItem(out, e.value);
      out->WriteSigned(e.count);
    }
  }
  Status Load(SnapshotReader* in) {
    size_t n = 0;
    RUNNEL_RETURN_IF_ERROR(in->ReadCount("timed values size", 4, &n));
    uint64_t sorted = 0;
    RUNNEL_RETURN_IF_ERROR(in->ReadVarint("timed values sorted prefix", &sorted));
    if (sorted > n) return in->Corrupt("timed values sorted prefix", "exceeds its size");
    entries_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      Entry& e = entries_[i];
      RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("timed value time", &e.time));
      RUNNEL_RETURN_IF_ERROR(in->ReadVarint("timed value arrival", &e.seq));
      RUNNEL_RETURN_IF_ERROR(ReadItem(in, "timed value", &e.value));
      RUNNEL_RETURN_IF_ERROR(in->ReadSigned("timed value count", &e.count));
      if (i > 0 && i < sorted &&
          Earlier(e.time, e.seq, entries_[i - 1].time, entries_[i - 1].seq)) {
        return in->Corrupt("timed values", "have an unsorted prefix");
      }
    }
    sorted_ = sorted;
    return Status::Ok();
  }

 private:
  void Consolidate() {
    if (sorted_ == entries_.size()) return;
    const auto less = [](const Entry& a, const Entry& b) {
      return Earlier(a.time, a.seq, b.time, b.seq);
    };
    std::sort(entries_.begin() + sorted_, entries_.end(), less);
    std::inplace_merge(entries_.begin(), entries_.begin() + sorted_, entries_.end(), less);
    sorted_ = entries_.size();
  }

  std::vector<Entry> entries_;
  size_t sorted_ = 0;  // entries_[0, sorted_) is in (time, arrival) order
};

template <class T>
using BagPtr = std::unique_ptr<ValueBag<T>>;
template <class T>
using TimedBagPtr = std::unique_ptr<TimedBag<T>>;

template <class T>
Value BagMin(ValueBag<T>* bag) {
  if (bag == nullptr) return Value::Null();
  for (const auto& e : bag->Consolidated()) {
    if (e.second > 0) return Make<T>(e.first);
  }
  return Value::Null();
}

template <class T>
Value BagMax(ValueBag<T>* bag) {
  if (bag == nullptr) return Value::Null();
  const auto& entries = bag->Consolidated();
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->second > 0) return Make<T>(it->first);
  }
  return Value::Null();
}

template <class T>
Value BagMedian(ValueBag<T>* bag) {
  if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, double>) {
    if (bag == nullptr) return Value::Null();
    const auto& entries = bag->Consolidated();
    int64_t total = 0;
    for (const auto& e : entries) total += std::max<int64_t>(e.second, 0);
    if (total <= 0) return Value::Null();
    // The values at 0-based positions (total-1)/2 and total/2.
    const int64_t lo_pos = (total - 1) / 2, hi_pos = total / 2;
    const T* lo = nullptr;
    const T* hi = nullptr;
    int64_t seen = 0;
    for (const auto& e : entries) {
      if (e.second <= 0) continue;
      seen += e.second;
      if (lo == nullptr && seen > lo_pos) lo = &e.first;
      if (seen > hi_pos) {
        hi = &e.first;
        break;
      }
    }
    if (lo_pos == hi_pos) return Value::Float(static_cast<double>(*lo));
    if constexpr (std::is_same_v<T, int64_t>) {
      // Exact integer sum, one rounding: matches Python's (a + b) / 2 on ints.
      return Value::Float(static_cast<double>(static_cast<Int128>(*lo) + *hi) / 2);
    } else {
      return Value::Float((*lo + *hi) / 2);
    }
  } else {
    return Value::Null();  // MakeAggregate only allows numeric medians
  }
}

// What Update does for an aggregate, resolved at construction so the per-record loop is one
// switch. Type-dependent codes are base + TypeIndex(type).
enum UpdateCode : uint8_t {
  kNoUpdate,  // count(), count(x), median and retractable min/max/first/last: group-level state
  kIntSum,
  kFloatSum,
  kVarUpdate,
  kMinBase = 4,
  kMaxBase = 8,
  kFirstBase = 12,
  kLastBase = 16,
};

uint8_t TypeIndex(ValueType type) {
  switch (type) {
    case ValueType::kBool:
      return 0;
    case ValueType::kInt:
      return 1;
    case ValueType::kString:
      return 3;
    case ValueType::kFloat:
    case ValueType::kNull:
      break;
  }
  return 2;
}

template <class T, bool kMin, class X>
inline void UpdateMinMax(std::byte* p, const X& x, int64_t old_n) {
  T& cur = At<Compact<T>>(p, 0).value;
  if (old_n <= 0 || (kMin ? x < cur : cur < x)) cur = x;
}

template <class T, bool kFirst>
inline void UpdateTimed(std::byte* p, const Value& v, int64_t old_n, Timestamp time, uint64_t seq) {
  TimedValue<T>& cur = At<TimedValue<T>>(p, 0);
  const bool replace = old_n <= 0 || (kFirst ? Earlier(time, seq, cur.time, cur.seq)
                                             : Earlier(cur.time, cur.seq, time, seq));
  if (replace) {
    cur.time = time;
    cur.seq = seq;
    cur.value = Get<T>(v);
  }
}

uint32_t Align8(size_t n) { return static_cast<uint32_t>((n + 7) / 8 * 8); }

size_t CompactSize(ValueType type) {
  return WithType(type, []<class T>(std::type_identity<T>) { return sizeof(Compact<T>); });
}
size_t TimedSize(ValueType type) {
  return WithType(type, []<class T>(std::type_identity<T>) { return sizeof(TimedValue<T>); });
}

bool IsMinMax(AggregateKind k) { return k == AggregateKind::kMin || k == AggregateKind::kMax; }
bool IsFirstLast(AggregateKind k) {
  return k == AggregateKind::kFirst || k == AggregateKind::kLast;
}

}  // namespace

AggregateStates::AggregateStates(const std::vector<AggregateDef>& aggregates, Mode mode) {
  // Group the aggregates by argument: a bare column is one group whatever the number of
  // aggregates over it; any other expression is its own group.
  std::vector<std::vector<size_t>> members;
  for (size_t i = 0; i < aggregates.size(); ++i) {
    const AggregateDef& def = aggregates[i];
    if (def.kind == AggregateKind::kCount || def.argument == nullptr) {
      count_outputs_.push_back(i);
      continue;
    }
    const std::optional<size_t> column = def.argument->column_index();
    size_t g = groups_.size();
    if (column.has_value()) {
      for (size_t j = 0; j < groups_.size(); ++j) {
        if (groups_[j].column == column && groups_[j].type == def.argument->type()) g = j;
      }
    }
    if (g == groups_.size()) {
      ArgumentGroup group;
      group.expr = def.argument.get();
      group.column = column;
      group.type = def.argument->type();
      groups_.push_back(group);
      members.emplace_back();
    }
    members[g].push_back(i);
  }

  // The record count, then one non-null count per argument, then 8-aligned states.
  uint32_t offset = sizeof(int32_t);
  for (ArgumentGroup& group : groups_) {
    group.nonnull_offset = offset;
    offset += sizeof(int32_t);
  }
  offset = Align8(offset);
  for (size_t g = 0; g < groups_.size(); ++g) {
    ArgumentGroup& group = groups_[g];
    bool needs_bag = false, needs_timed = false;
    for (size_t i : members[g]) {
      const AggregateKind kind = aggregates[i].kind;
      if (kind == AggregateKind::kMedian) needs_bag = true;
      if (mode == Mode::kRetractable && IsMinMax(kind)) needs_bag = true;
      if (mode == Mode::kRetractable && IsFirstLast(kind)) needs_timed = true;
    }
    if (needs_bag) {
      group.bag_offset = offset;
      offset += sizeof(BagPtr<double>);
    }
    if (needs_timed) {
      group.timed_offset = offset;
      offset += sizeof(TimedBagPtr<double>);
    }
    group.first_op = static_cast<uint32_t>(ops_.size());
    for (size_t i : members[g]) {
      const AggregateDef& def = aggregates[i];
      Op op{def.kind, group.type, false, kNoUpdate, static_cast<uint32_t>(g), offset, i};
      size_t size = 0;
      switch (def.kind) {
        case AggregateKind::kSum:
        case AggregateKind::kAvg:
          size = group.type == ValueType::kInt ? sizeof(IntSum) : sizeof(CompensatedSum);
          break;
        case AggregateKind::kMin:
        case AggregateKind::kMax:
          op.compact = mode == Mode::kInsertOnly;
          if (op.compact) size = CompactSize(group.type);
          break;
        case AggregateKind::kFirst:
        case AggregateKind::kLast:
          op.compact = mode == Mode::kInsertOnly;
          if (op.compact) size = TimedSize(group.type);
          break;
        case AggregateKind::kVar:
        case AggregateKind::kStddev:
          size = sizeof(VarState);
          break;
        case AggregateKind::kCount:
        case AggregateKind::kCountNonNull:
        case AggregateKind::kMedian:
          break;
      }
      if (op.compact) can_retract_ = false;
      switch (def.kind) {
        case AggregateKind::kSum:
        case AggregateKind::kAvg:
          op.update = group.type == ValueType::kInt ? kIntSum : kFloatSum;
          break;
        case AggregateKind::kVar:
        case AggregateKind::kStddev:
          op.update = kVarUpdate;
          break;
        case AggregateKind::kMin:
          if (op.compact) op.update = kMinBase + TypeIndex(group.type);
          break;
        case AggregateKind::kMax:
          if (op.compact) op.update = kMaxBase + TypeIndex(group.type);
          break;
        case AggregateKind::kFirst:
          if (op.compact) op.update = kFirstBase + TypeIndex(group.type);
          break;
        case AggregateKind::kLast:
          if (op.compact) op.update = kLastBase + TypeIndex(group.type);
          break;
        case AggregateKind::kCount:
        case AggregateKind::kCountNonNull:
        case AggregateKind::kMedian:
          break;
      }
      offset += Align8(size);
      ops_.push_back(op);
    }
    group.end_op = static_cast<uint32_t>(ops_.size());
  }
  state_size_ = offset;
  for (const ArgumentGroup& group : groups_) {
    all_columns_ = all_columns_ && group.column.has_value();
    columns_.push_back(group.column.value_or(0));
    min_row_size_ = std::max(min_row_size_, group.column.value_or(0) + 1);
  }
}

AggregateStates::~AggregateStates() = default;

void AggregateStates::EvaluateArguments(const Row& row, Value* scratch, const Value** args) const {
  if (all_columns_ && row.size() >= min_row_size_) {
    for (size_t g = 0; g < columns_.size(); ++g) args[g] = &row[columns_[g]];
    return;
  }
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ArgumentGroup& group = groups_[g];
    if (group.column.has_value() && *group.column < row.size()) {
      args[g] = &row[*group.column];
    } else {
      scratch[g] = group.expr->Eval(row);
      args[g] = &scratch[g];
    }
  }
}

int64_t AggregateStates::GetCount(const std::byte* state, uint32_t offset) const {
  const int32_t c = At<int32_t>(state, offset);
  return c != kSpilled ? c : spilled_.at(state + offset);
}

int64_t AggregateStates::AddSpilled(std::byte* state, uint32_t offset, int64_t diff) const {
  int32_t& c = At<int32_t>(state, offset);
  if (c != kSpilled) {
    spilled_[state + offset] = c;
    c = kSpilled;
  }
  return spilled_[state + offset] += diff;
}

void AggregateStates::DropSpilled(const std::byte* state, uint32_t offset) const {
  if (At<int32_t>(state, offset) == kSpilled) spilled_.erase(state + offset);
}

void AggregateStates::Initialize(std::byte* state) const {
  new (state) int32_t(0);
  for (const ArgumentGroup& group : groups_) {
    new (state + group.nonnull_offset) int32_t(0);
    if (group.bag_offset != 0) {
      WithType(group.type,
               [&]<class T>(std::type_identity<T>) { new (state + group.bag_offset) BagPtr<T>(); });
    }
    if (group.timed_offset != 0) {
      WithType(group.type, [&]<class T>(std::type_identity<T>) {
        new (state + group.timed_offset) TimedBagPtr<T>();
      });
    }
  }
  for (const Op& op : ops_) {
    std::byte* p = state + op.offset;
    switch (op.kind) {
      case AggregateKind::kSum:
      case AggregateKind::kAvg:
        if (op.type == ValueType::kInt) {
          new (p) IntSum();
        } else {
          new (p) CompensatedSum();
        }
        break;
      case AggregateKind::kMin:
      case AggregateKind::kMax:
        if (op.compact) {
          WithType(op.type, [&]<class T>(std::type_identity<T>) { new (p) Compact<T>(); });
        }
        break;
      case AggregateKind::kFirst:
      case AggregateKind::kLast:
        if (op.compact) {
          WithType(op.type, [&]<class T>(std::type_identity<T>) { new (p) TimedValue<T>(); });
        }
        break;
      case AggregateKind::kVar:
      case AggregateKind::kStddev:
        new (p) VarState();
        break;
      case AggregateKind::kCount:
      case AggregateKind::kCountNonNull:
      case AggregateKind::kMedian:
        break;
    }
  }
}

void AggregateStates::Destroy(std::byte* state) const {
  DropSpilled(state, 0);
  for (const ArgumentGroup& group : groups_) {
    DropSpilled(state, group.nonnull_offset);
    if (group.bag_offset != 0) {
      WithType(group.type, [&]<class T>(std::type_identity<T>) {
        At<BagPtr<T>>(state, group.bag_offset).~BagPtr<T>();
      });
    }
    if (group.timed_offset != 0) {
      WithType(group.type, [&]<class T>(std::type_identity<T>) {
        At<TimedBagPtr<T>>(state, group.timed_offset).~TimedBagPtr<T>();
      });
    }
  }
  // Only string values own memory among the fixed-size states.
  for (const Op& op : ops_) {
    if (!op.compact || op.type != ValueType::kString) continue;
    if (IsMinMax(op.kind)) {
      At<Compact<std::string>>(state, op.offset).~Compact<std::string>();
    } else {
      At<TimedValue<std::string>>(state, op.offset).~TimedValue<std::string>();
    }
  }
}

void AggregateStates::Update(std::byte* state, const Value* const* args, Timestamp time,
                             uint64_t seq, Diff diff) const {
  assert(diff != 0 && (diff > 0 || can_retract_));
  AddCount(state, 0, diff);
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ArgumentGroup& group = groups_[g];
    if (Accepts(group.type, *args[g])) UpdateGroup(state, group, *args[g], time, seq, diff);
  }
}

void AggregateStates::UpdateGroup(std::byte* state, const ArgumentGroup& group, const Value& v,
                                  Timestamp time, uint64_t seq, Diff diff) const {
  const int64_t new_n = AddCount(state, group.nonnull_offset, diff);
  const int64_t old_n = new_n - diff;
  if (group.bag_offset != 0) {
    WithType(group.type, [&]<class T>(std::type_identity<T>) {
      BagPtr<T>& bag = At<BagPtr<T>>(state, group.bag_offset);
      if (bag == nullptr) bag = std::make_unique<ValueBag<T>>();
      bag->Add(Get<T>(v), diff);
    });
  }
  if (group.timed_offset != 0) {
    WithType(group.type, [&]<class T>(std::type_identity<T>) {
      TimedBagPtr<T>& bag = At<TimedBagPtr<T>>(state, group.timed_offset);
      if (bag == nullptr) bag = std::make_unique<TimedBag<T>>();
      if (diff > 0) {
        bag->Insert(time, seq, Get<T>(v), diff);
      } else {
        bag->Retract(time, Get<T>(v), -diff);
      }
    });
  }
  // Numeric arguments are read out of the Value once, not once per aggregate.
  const bool is_int = v.type() == ValueType::kInt;
  const int64_t i64 = is_int ? v.AsInt() : 0;
  const double f64 =
      is_int ? static_cast<double>(i64) : (v.type() == ValueType::kFloat ? v.AsFloat() : 0.0);
  for (uint32_t i = group.first_op; i < group.end_op; ++i) {
    const Op& op = ops_[i];
    std::byte* p = state + op.offset;
    switch (op.update) {
      case kNoUpdate:
        break;
      case kIntSum: {
        IntSum& s = At<IntSum>(p, 0);
        s.set(s.get() + static_cast<Int128>(i64) * diff);
        break;
      }
      case kFloatSum: {
        CompensatedSum& s = At<CompensatedSum>(p, 0);
        if (diff == 1) {
          s.Add(f64);
        } else {
          s.AddScaled(f64, diff);
        }
        if (new_n == 0) s = CompensatedSum{};  // no rounding residue in an emptied window
        break;
      }
      case kVarUpdate:
        At<VarState>(p, 0).Add(f64, diff, old_n, new_n);
        break;
      // clang-format off
      case kMinBase + 0: UpdateMinMax<bool, true>(p, v.AsBool(), old_n); break;
      case kMinBase + 1: UpdateMinMax<int64_t, true>(p, i64, old_n); break;
      case kMinBase + 2: UpdateMinMax<double, true>(p, f64, old_n); break;
      case kMinBase + 3: UpdateMinMax<std::string, true>(p, v.AsString(), old_n); break;
      case kMaxBase + 0: UpdateMinMax<bool, false>(p, v.AsBool(), old_n); break;
      case kMaxBase + 1: UpdateMinMax<int64_t, false>(p, i64, old_n); break;
      case kMaxBase + 2: UpdateMinMax<double, false>(p, f64, old_n); break;
      case kMaxBase + 3: UpdateMinMax<std::string, false>(p, v.AsString(), old_n); break;
      case kFirstBase + 0: UpdateTimed<bool, true>(p, v, old_n, time, seq); break;
      case kFirstBase + 1: UpdateTimed<int64_t, true>(p, v, old_n, time, seq); break;
      case kFirstBase + 2: UpdateTimed<double, true>(p, v, old_n, time, seq); break;
      case kFirstBase + 3: UpdateTimed<std::string, true>(p, v, old_n, time, seq); break;
      case kLastBase + 0: UpdateTimed<bool, false>(p, v, old_n, time, seq); break;
      case kLastBase + 1: UpdateTimed<int64_t, false>(p, v, old_n, time, seq); break;
      case kLastBase + 2: UpdateTimed<double, false>(p, v, old_n, time, seq); break;
      case kLastBase + 3: UpdateTimed<std::string, false>(p, v, old_n, time, seq); break;
        // clang-format on
    }
  }
}

void AggregateStates::Merge(std::byte* dst, const std::byte* src) const {
  AddCount(dst, 0, GetCount(src, 0));
  for (const ArgumentGroup& group : groups_) {
    const int64_t n_dst = GetCount(dst, group.nonnull_offset);
    const int64_t n_src = GetCount(src, group.nonnull_offset);
    if (group.bag_offset != 0) {
      WithType(group.type, [&]<class T>(std::type_identity<T>) {
        const BagPtr<T>& from = At<BagPtr<T>>(src, group.bag_offset);
        if (from == nullptr) return;
        BagPtr<T>& to = At<BagPtr<T>>(dst, group.bag_offset);
        if (to == nullptr) to = std::make_unique<ValueBag<T>>();
        to->AddAll(*from);
      });
    }
    if (group.timed_offset != 0) {
      WithType(group.type, [&]<class T>(std::type_identity<T>) {
        const TimedBagPtr<T>& from = At<TimedBagPtr<T>>(src, group.timed_offset);
        if (from == nullptr) return;
        TimedBagPtr<T>& to = At<TimedBagPtr<T>>(dst, group.timed_offset);
        if (to == nullptr) to = std::make_unique<TimedBag<T>>();
        to->AddAll(*from);
      });
    }
    for (uint32_t i = group.first_op; i < group.end_op; ++i) {
      const Op& op = ops_[i];
      std::byte* p = dst + op.offset;
      const std::byte* q = src + op.offset;
      switch (op.kind) {
        case AggregateKind::kSum:
        case AggregateKind::kAvg:
          if (op.type == ValueType::kInt) {
            IntSum& s = At<IntSum>(p, 0);
            s.set(s.get() + At<IntSum>(q, 0).get());
          } else {
            At<CompensatedSum>(p, 0).AddAll(At<CompensatedSum>(q, 0));
          }
          break;
        case AggregateKind::kMin:
        case AggregateKind::kMax:
          if (op.compact && n_src > 0) {
            const bool is_min = op.kind == AggregateKind::kMin;
            WithType(op.type, [&]<class T>(std::type_identity<T>) {
              T& cur = At<Compact<T>>(p, 0).value;
              const T& x = At<Compact<T>>(q, 0).value;
              if (n_dst <= 0 || (is_min ? x < cur : cur < x)) cur = x;
            });
          }
          break;
        case AggregateKind::kFirst:
        case AggregateKind::kLast:
          if (op.compact && n_src > 0) {
            const bool is_first = op.kind == AggregateKind::kFirst;
            WithType(op.type, [&]<class T>(std::type_identity<T>) {
              TimedValue<T>& cur = At<TimedValue<T>>(p, 0);
              const TimedValue<T>& x = At<TimedValue<T>>(q, 0);
              const bool replace =
                  n_dst <= 0 || (is_first ? Earlier(x.time, x.seq, cur.time, cur.seq)
                                          : Earlier(cur.time, cur.seq, x.time, x.seq));
              if (replace) cur = x;
            });
          }
          break;
        case AggregateKind::kVar:
        case AggregateKind::kStddev:
          At<VarState>(p, 0).Merge(At<VarState>(q, 0), n_dst, n_src);
          break;
        case AggregateKind::kCount:
        case AggregateKind::kCountNonNull:
        case AggregateKind::kMedian:
          break;
      }
    }
    AddCount(dst, group.nonnull_offset, n_src);
  }
}

void AggregateStates::Finalize(std::byte* state, Value* out) const {
  for (size_t i : count_outputs_) out[i] = Value::Int(GetCount(state, 0));
  for (const Op& op : ops_) {
    const ArgumentGroup& group = groups_[op.group];
    const int64_t n = GetCount(state, group.nonnull_offset);
    const std::byte* p = state + op.offset;
    Value& result = out[op.output];
    switch (op.kind) {
      case AggregateKind::kCount:
      case AggregateKind::kCountNonNull:
        result = Value::Int(std::max<int64_t>(n, 0));
        break;
      case AggregateKind::kSum:
        if (n <= 0) {
          result = Value::Null();
        } else if (op.type == ValueType::kInt) {
          // An int64 overflow has no right int answer: null rather than a wrapped number.
          const Int128 s = At<IntSum>(p, 0).get();
          const bool fits =
              s >= std::numeric_limits<int64_t>::min() && s <= std::numeric_limits<int64_t>::max();
          result = fits ? Value::Int(static_cast<int64_t>(s)) : Value::Null();
        } else {
          result = Value::Float(At<CompensatedSum>(p, 0).value());
        }
        break;
      case AggregateKind::kAvg:
        if (n <= 0) {
          result = Value::Null();
        } else if (op.type == ValueType::kInt) {
          const long double s = static_cast<long double>(At<IntSum>(p, 0).get());
          result = Value::Float(static_cast<double>(s / n));
        } else {
          result = Value::Float(At<CompensatedSum>(p, 0).value() / static_cast<double>(n));
        }
        break;
      case AggregateKind::kMin:
      case AggregateKind::kMax: {
        const bool is_min = op.kind == AggregateKind::kMin;
        result = WithType(op.type, [&]<class T>(std::type_identity<T>) -> Value {
          if (op.compact) return n > 0 ? Make<T>(At<Compact<T>>(p, 0).value) : Value::Null();
          ValueBag<T>* bag = At<BagPtr<T>>(state, group.bag_offset).get();
          return is_min ? BagMin<T>(bag) : BagMax<T>(bag);
        });
        break;
      }
      case AggregateKind::kFirst:
      case AggregateKind::kLast: {
        const bool is_first = op.kind == AggregateKind::kFirst;
        result = WithType(op.type, [&]<class T>(std::type_identity<T>) -> Value {
          if (op.compact) return n > 0 ? Make<T>(At<TimedValue<T>>(p, 0).value) : Value::Null();
          TimedBag<T>* bag = At<TimedBagPtr<T>>(state, group.timed_offset).get();
          if (bag == nullptr) return Value::Null();
          const auto* e = is_first ? bag->First() : bag->Last();
          return e != nullptr ? Make<T>(e->value) : Value::Null();
        });
        break;
      }
      case AggregateKind::kVar:
      case AggregateKind::kStddev:
        result = At<VarState>(p, 0).Finalize(n, op.kind == AggregateKind::kStddev);
        break;
      case AggregateKind::kMedian:
        result = WithType(op.type, [&]<class T>(std::type_identity<T>) -> Value {
          return BagMedian<T>(At<BagPtr<T>>(state, group.bag_offset).get());
        });
        break;
    }
  }
}

namespace {

void SaveCompensatedSum(SnapshotWriter* out, const CompensatedSum& s) {
  out->WriteDouble(s.sum);
  out->WriteDouble(s.comp);
}

Status LoadCompensatedSum(SnapshotReader* in, CompensatedSum* s) {
  RUNNEL_RETURN_IF_ERROR(in->ReadDouble("float sum", &s->sum));
  return in->ReadDouble("float sum compensation", &s->comp);
}

}  // namespace

std::string AggregateStates::Layout() const {
  std::string out = "count()x" + std::to_string(count_outputs_.size());
  for (const ArgumentGroup& group : groups_) {
    out += ";arg:" + std::string(TypeName(group.type));
    if (group.bag_offset != 0) out += ":bag";
    if (group.timed_offset != 0) out += ":timed";
    for (uint32_t i = group.first_op; i < group.end_op; ++i) {
      const Op& op = ops_[i];
      out += "," + std::to_string(static_cast<int>(op.kind)) + (op.compact ? "c" : "") + "@" +
             std::to_string(op.output);
    }
  }
  return out;
}

void AggregateStates::SaveState(const std::byte* state, SnapshotWriter* out) const {
  out->WriteSigned(GetCount(state, 0));
  for (const ArgumentGroup& group : groups_) {
    out->WriteSigned(GetCount(state, group.nonnull_offset));
    if (group.bag_offset != 0) {
      WithType(group.type, [&]<class T>(std::type_identity<T>) {
        const BagPtr<T>& bag = At<BagPtr<T>>(state, group.bag_offset);
        out->WriteBool(bag != nullptr);
        if (bag != nullptr) bag->Save(out);
      });
    }
    if (group.timed_offset != 0) {
      WithType(group.type, [&]<class T>(std::type_identity<T>) {
        const TimedBagPtr<T>& bag = At<TimedBagPtr<T>>(state, group.timed_offset);
        out->WriteBool(bag != nullptr);
        if (bag != nullptr) bag->Save(out);
      });
    }
    for (uint32_t i = group.first_op; i < group.end_op; ++i) {
      const Op& op = ops_[i];
      const std::byte* p = state + op.offset;
      switch (op.kind) {
        case AggregateKind::kSum:
        case AggregateKind::kAvg:
          if (op.type == ValueType::kInt) {
            const auto v = static_cast<UInt128>(At<IntSum>(p, 0).get());
            out->WriteVarint(static_cast<uint64_t>(v));
            out->WriteVarint(static_cast<uint64_t>(v >> 64));
          } else {
            SaveCompensatedSum(out, At<CompensatedSum>(p, 0));
          }
          break;
        case AggregateKind::kMin:
        case AggregateKind::kMax:
          if (op.compact) {
            WithType(op.type, [&]<class T>(std::type_identity<T>) {
              WriteItem(out, At<Compact<T>>(p, 0).value);
            });
          }
          break;
        case AggregateKind::kFirst:
        case AggregateKind::kLast:
          if (op.compact) {
            WithType(op.type, [&]<class T>(std::type_identity<T>) {
              const TimedValue<T>& v = At<TimedValue<T>>(p, 0);
              out->WriteTimestamp(v.time);
              out->WriteVarint(v.seq);
              WriteItem(out, v.value);
            });
          }
          break;
        case AggregateKind::kVar:
        case AggregateKind::kStddev: {
          const VarState& v = At<VarState>(p, 0);
          out->WriteDouble(v.pivot);
          SaveCompensatedSum(out, v.s1);
          SaveCompensatedSum(out, v.s2);
          break;
        }
        case AggregateKind::kCount:
        case AggregateKind::kCountNonNull:
        case AggregateKind::kMedian:
          break;
      }
    }
  }
}

Status AggregateStates::LoadState(std::byte* state, SnapshotReader* in) const {
  // Counts are added to the zero of the initialized block, which spills them as needed.
  int64_t n = 0;
  RUNNEL_RETURN_IF_ERROR(in->ReadSigned("record count", &n));
  if (n != 0) AddCount(state, 0, n);
  for (const ArgumentGroup& group : groups_) {
    RUNNEL_RETURN_IF_ERROR(in->ReadSigned("non-null count", &n));
    if (n != 0) AddCount(state, group.nonnull_offset, n);
    if (group.bag_offset != 0) {
      const Status status = WithType(group.type, [&]<class T>(std::type_identity<T>) -> Status {
        bool present = false;
        RUNNEL_RETURN_IF_ERROR(in->ReadBool("value multiset presence", &present));
        if (!present) return Status::Ok();
        BagPtr<T>& bag = At<BagPtr<T>>(state, group.bag_offset);
        bag = std::make_unique<ValueBag<T>>();
        return bag->Load(in);
      });
      if (!status.ok()) return status;
    }
    if (group.timed_offset != 0) {
      const Status status = WithType(group.type, [&]<class T>(std::type_identity<T>) -> Status {
        bool present = false;
        RUNNEL_RETURN_IF_ERROR(in->ReadBool("timed values presence", &present));
        if (!present) return Status::Ok();
        TimedBagPtr<T>& bag = At<TimedBagPtr<T>>(state, group.timed_offset);
        bag = std::make_unique<TimedBag<T>>();
        return bag->Load(in);
      });
      if (!status.ok()) return status;
    }
    for (uint32_t i = group.first_op; i < group.end_op; ++i) {
      const Op& op = ops_[i];
      std::byte* p = state + op.offset;
      switch (op.kind) {
        case AggregateKind::kSum:
        case AggregateKind::kAvg:
          if (op.type == ValueType::kInt) {
            uint64_t lo = 0, hi = 0;
            RUNNEL_RETURN_IF_ERROR(in->ReadVarint("int sum", &lo));
            RUNNEL_RETURN_IF_ERROR(in->ReadVarint("int sum", &hi));
            At<IntSum>(p, 0).set(static_cast<Int128>((static_cast<UInt128>(hi) << 64) | lo));
          } else {
            RUNNEL_RETURN_IF_ERROR(LoadCompensatedSum(in, &At<CompensatedSum>(p, 0)));
          }
          break;
        case AggregateKind::kMin:
        case AggregateKind::kMax:
          if (op.compact) {
            RUNNEL_RETURN_IF_ERROR(WithType(op.type, [&]<class T>(std::type_identity<T>) {
              return ReadItem(in, "min/max value", &At<Compact<T>>(p, 0).value);
            }));
          }
          break;
        case AggregateKind::kFirst:
        case AggregateKind::kLast:
          if (op.compact) {
            const Status status = WithType(op.type, [&]<class T>(std::type_identity<T>) -> Status {
              TimedValue<T>& v = At<TimedValue<T>>(p, 0);
              RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("first/last time", &v.time));
              RUNNEL_RETURN_IF_ERROR(in->ReadVarint("first/last arrival", &v.seq));
              return ReadItem(in, "first/last value", &v.value);
            });
            if (!status.ok()) return status;
          }
          break;
        case AggregateKind::kVar:
        case AggregateKind::kStddev: {
          VarState& v = At<VarState>(p, 0);
          RUNNEL_RETURN_IF_ERROR(in->ReadDouble("variance pivot", &v.pivot));
          RUNNEL_RETURN_IF_ERROR(LoadCompensatedSum(in, &v.s1));
          RUNNEL_RETURN_IF_ERROR(LoadCompensatedSum(in, &v.s2));
          break;
        }
        case AggregateKind::kCount:
        case AggregateKind::kCountNonNull:
        case AggregateKind::kMedian:
          break;
      }
    }
  }
  return Status::Ok();
}

}  // namespace runnel
