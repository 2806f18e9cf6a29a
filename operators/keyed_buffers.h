// Internal building blocks of the keyed, stateful operators (as-of join, dedup): looking up a
// record's key without copying it, buffering a step's rows compactly, and emitting a step's
// net changes. Not part of the operators' interface; shared so that both behave alike.
// Threading: engine thread only, like the operators that own them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "runtime/operator.h"
#include "runtime/time.h"
#include "runtime/value.h"

namespace runnel::keyed {

inline constexpr size_t kHashSeed = 0xcbf29ce484222325ULL;
inline size_t HashValue(size_t h, const Value& v) { return (h ^ v.Hash()) * 0x100000001b3ULL; }

// Hash of the values of `row` at `columns`, mixed so that its low bits can index a
// power-of-two table.
inline size_t HashKey(const Row& row, const std::vector<size_t>& columns) {
  size_t h = kHashSeed;
  for (size_t c : columns) h = HashValue(h, row[c]);
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 32);
}

// Key -> id lookup for operators that keep their per-key state in a vector indexed by id:
// open addressing with linear probing over (hash, id) slots, so a lookup is a hash, a probe
// or two and one comparison with the key, with no allocation. The keys themselves stay with
// the operator, which passes an `equal(id)` test.
class KeyIndex {
 public:
  static constexpr uint32_t kNotFound = UINT32_MAX;

  template <class Equal>
  uint32_t Find(size_t hash, Equal&& equal) const {
    if (slots_.empty()) return kNotFound;
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id == kNotFound) return kNotFound;
      if (s.hash == hash && equal(s.id)) return s.id;
    }
  }

  // REQUIRES: the key of `id` is not in the index.
  void Insert(size_t hash, uint32_t id) {
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow();
    Place(hash, id);
    ++size_;
  }

  // REQUIRES: `id` was inserted with `hash`.
  void Erase(size_t hash, uint32_t id) {
    size_t i = hash & mask_;
    while (slots_[i].id != id) i = (i + 1) & mask_;
    // Backward-shift deletion: pull later entries of the probe run into the gap.
    for (size_t j = (i + 1) & mask_; slots_[j].id != kNotFound; j = (j + 1) & mask_) {
      const size_t home = slots_[j].hash & mask_;
      const bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
      if (!movable) continue;
      slots_[i] = slots_[j];
      i = j;
    }
    slots_[i] = Slot();
    --size_;
  }

 private:
  struct Slot {
    size_t hash = 0;
    uint32_t id = kNotFound;
  };

  void Place(size_t hash, uint32_t id) {
    size_t i = hash & mask_;
    while (slots_[i].id != kNotFound) i = (i + 1) & mask_;
    slots_[i] = {hash, id};
  }

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Slot());
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.id != kNotFound) Place(s.hash, s.id);
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// later - earlier, saturating instead of overflowing for absurd times.
inline Timestamp Distance(Timestamp later, Timestamp earlier) {
  Timestamp d;
  if (__builtin_sub_overflow(later, earlier, &d)) return kMaxTime;
  return d;
}

// An operator input's changes of one step, packed into blocks of bytes (time, diff, key id,
// then a type tag and the payload of each value) rather than held as a heap-allocated Row
// each. A static run buffers its whole input before its first Advance: an append here costs
// a fraction of an allocation and of the memory, and it writes sequentially whatever the key
// (per-key buffers would scatter every append over as many pages as there are keys). Blocks
// never move, so growing copies nothing and an entry's address stays valid until Clear().
class ChangeArena {
 public:
  // Entry layout: uint32 size of the whole entry, int64 time, int64 diff, uint32 key id,
  // uint32 value count, then per value a ValueType byte and its payload (bool 1 byte,
  // int/float 8, string uint32 length and bytes).
  using Entry = char*;

  Entry Append(Timestamp time, Diff diff, uint32_t key, const Row& row) {
    size_t size = kHeader;
    for (const Value& v : row) size += 1 + PayloadSize(v);
    char* p = Reserve(size);
    Entry entry = p;
    p = Put(p, static_cast<uint32_t>(size));
    p = Put(p, time);
    p = Put(p, diff);
    p = Put(p, key);
    p = Put(p, static_cast<uint32_t>(row.size()));
    for (const Value& v : row) {
      *p++ = static_cast<char>(v.type());
      switch (v.type()) {
        case ValueType::kNull:
          break;
        case ValueType::kBool:
          *p++ = v.AsBool() ? 1 : 0;
          break;
        case ValueType::kInt:
          p = Put(p, v.AsInt());
          break;
        case ValueType::kFloat:
          p = Put(p, v.AsFloat());
          break;
        case ValueType::kString:
          p = Put(p, static_cast<uint32_t>(v.AsString().size()));
          std::memcpy(p, v.AsString().data(), v.AsString().size());
          p += v.AsString().size();
          break;
      }
    }
    if (count_ > 0 && time < last_time_) sorted_ = false;
    last_time_ = time;
    ++count_;
    return entry;
  }

  static Timestamp TimeOf(const char* entry) { return Get<Timestamp>(entry + 4); }
  static Diff DiffOf(const char* entry) { return Get<Diff>(entry + 12); }
  static uint32_t KeyOf(const char* entry) { return Get<uint32_t>(entry + 20); }
  static void SetDiff(Entry entry, Diff diff) { std::memcpy(entry + 12, &diff, sizeof(diff)); }

  // Writes each value i of the row to *target(i), skipping it when that is null; returns the
  // row's value count.
  template <class Target>
  static size_t UnpackInto(const char* entry, Target&& target) {
    const char* p = entry + kHeader - 4;
    const auto n = Get<uint32_t>(p);
    p += 4;
    for (uint32_t i = 0; i < n; ++i) {
      const auto type = static_cast<ValueType>(*p++);
      Value* out = target(i);
      switch (type) {
        case ValueType::kNull:
          if (out) *out = Value();
          break;
        case ValueType::kBool:
          if (out) *out = Value::Bool(*p != 0);
          ++p;
          break;
        case ValueType::kInt:
          if (out) *out = Value::Int(Get<int64_t>(p));
          p += 8;
          break;
        case ValueType::kFloat:
          if (out) *out = Value::Float(Get<double>(p));
          p += 8;
          break;
        case ValueType::kString: {
          const auto size = Get<uint32_t>(p);
          p += 4;
          if (out) *out = Value::String(std::string(p, size));
          p += size;
          break;
        }
      }
    }
    return n;
  }

  // Writes the row's first `count` values to dst[0..count), null past the row's end.
  static void Unpack(const char* entry, Value* dst, size_t count) {
    const size_t n =
        UnpackInto(entry, [dst, count](size_t i) { return i < count ? &dst[i] : nullptr; });
    for (size_t i = n; i < count; ++i) dst[i] = Value();
  }

  static Row Unpack(const char* entry) {
    Row row(Get<uint32_t>(entry + kHeader - 4));
    Unpack(entry, row.data(), row.size());
    return row;
  }

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

  // Calls f(Entry) for every entry, in append order.
  template <class F>
  void ForEach(F&& f) {
    for (Block& block : blocks_) {
      for (char* p = block.data.get(); p < block.data.get() + block.used;) {
        char* entry = p;
        p += Get<uint32_t>(p);
        f(entry);
      }
    }
  }

  // Calls f(Entry) for every entry in time order, arrival order among equal times. Entries
  // that came in time order (the usual case) need no sorting.
  template <class F>
  void ForEachByTime(F&& f) {
    if (sorted_) {
      ForEach(f);
      return;
    }
    std::vector<Entry> entries;
    entries.reserve(count_);
    ForEach([&entries](Entry e) { entries.push_back(e); });
    std::stable_sort(entries.begin(), entries.end(),
                     [](const char* a, const char* b) { return TimeOf(a) < TimeOf(b); });
    for (Entry e : entries) f(e);
  }

  // Forgets every entry; keeps the last block (the largest) for the next step unless a burst
  // made it large.
  void Clear() {
    if (blocks_.size() > 1 || (!blocks_.empty() && blocks_.back().capacity > kKeepBytes)) {
      blocks_.clear();
    } else if (!blocks_.empty()) {
      blocks_.back().used = 0;
    }
    count_ = 0;
    sorted_ = true;
  }

 private:
  static constexpr size_t kHeader = 4 + 8 + 8 + 4 + 4;
  static constexpr size_t kFirstBlock = 256;
  static constexpr size_t kMaxBlock = size_t{1} << 20;
  static constexpr size_t kKeepBytes = size_t{64} << 10;

  struct Block {
    std::unique_ptr<char[]> data;
    size_t capacity = 0;
    size_t used = 0;
  };

  static size_t PayloadSize(const Value& v) {
    switch (v.type()) {
      case ValueType::kNull:
        return 0;
      case ValueType::kBool:
        return 1;
      case ValueType::kInt:
      case ValueType::kFloat:
        return 8;
      case ValueType::kString:
        return 4 + v.AsString().size();
    }
    return 0;
  }

  char* Reserve(size_t size) {
    if (blocks_.empty() || blocks_.back().capacity - blocks_.back().used < size) {
      // Doubling block sizes: few blocks for a large step, little memory for a small one.
      const size_t previous = blocks_.empty() ? kFirstBlock / 2 : blocks_.back().capacity;
      const size_t capacity = std::max(size, std::min(kMaxBlock, previous * 2));
      blocks_.push_back({std::make_unique_for_overwrite<char[]>(capacity), capacity, 0});
    }
    Block& block = blocks_.back();
    char* p = block.data.get() + block.used;
    block.used += size;
    return p;
  }

  template <class T>
  static char* Put(char* p, T value) {
    std::memcpy(p, &value, sizeof(T));
    return p + sizeof(T);
  }
  template <class T>
  static T Get(const char* p) {
    T value;
    std::memcpy(&value, p, sizeof(T));
    return value;
  }

  std::vector<Block> blocks_;
  size_t count_ = 0;
  bool sorted_ = true;
  Timestamp last_time_ = kMinTime;
};

// One Advance's output. Changes stream straight through when the step cannot cancel anything
// (it emits no retraction), which keeps a static run free of copies; otherwise they are
// buffered and the step's net changes (equal rows at equal times summed, zeros dropped) are
// emitted in first-appearance order.
class StepOutput {
 public:
  explicit StepOutput(Output* out) : out_(out) {}

  void Begin(bool consolidate) { consolidate_ = consolidate; }

  void Add(const Row& row, Timestamp time, Diff diff) {
    if (diff == 0) return;
    if (consolidate_) {
      changes_.push_back({row, time, diff});
    } else {
      out_->Emit(row, time, diff);
    }
  }

  void Finish() {
    if (changes_.empty()) return;
    const auto hash = [this](size_t i) {
      size_t h = kHashSeed ^ std::hash<Timestamp>()(changes_[i].time);
      for (const Value& v : changes_[i].row) h = HashValue(h, v);
      return h;
    };
    const auto equal = [this](size_t a, size_t b) {
      return changes_[a].time == changes_[b].time && changes_[a].row == changes_[b].row;
    };
    std::unordered_set<size_t, decltype(hash), decltype(equal)> first(changes_.size(), hash, equal);
    for (size_t i = 0; i < changes_.size(); ++i) {
      auto [it, inserted] = first.insert(i);
      if (inserted) continue;
      changes_[*it].diff += changes_[i].diff;
      changes_[i].diff = 0;
    }
    for (const Change& c : changes_) {
      if (c.diff != 0) out_->Emit(c.row, c.time, c.diff);
    }
    changes_.clear();
  }

 private:
  struct Change {
    Row row;
    Timestamp time;
    Diff diff;
  };
  Output* out_;
  bool consolidate_ = false;
  std::vector<Change> changes_;
};

}  // namespace runnel::keyed
