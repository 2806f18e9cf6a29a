#include "operators/window_storage.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <numeric>
#include <string>

namespace runnel {

namespace {

// Murmur3's finalizer: small ints and short strings must spread over the table's low bits.
uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Per-type hashing without std::hash's out-of-line byte loop: group keys are usually short
// device names or small ints, and this runs once per record.
uint64_t HashValue(const Value& v) {
  switch (v.type()) {
    case ValueType::kNull:
      return 0x51ed27;
    case ValueType::kBool:
      return v.AsBool() ? 0x2545f491 : 0x9e3779b9;
    case ValueType::kInt:
      return Mix(static_cast<uint64_t>(v.AsInt()) ^ 0x1);
    case ValueType::kFloat: {
      double d = v.AsFloat();
      if (d == 0) d = 0;  // -0.0 and 0.0 are not equal Values, but hashing them alike is fine
      uint64_t bits;
      std::memcpy(&bits, &d, sizeof(bits));
      return Mix(bits ^ 0x2);
    }
    case ValueType::kString: {
      const std::string& s = v.AsString();
      uint64_t h = 0x3 ^ (s.size() * 0x9e3779b97f4a7c15ULL);
      size_t i = 0;
      for (; i + 8 <= s.size(); i += 8) {
        uint64_t chunk;
        std::memcpy(&chunk, s.data() + i, 8);
        h = (h ^ chunk) * 0xff51afd7ed558ccdULL;
        h ^= h >> 29;
      }
      uint64_t tail = 0;
      for (size_t shift = 0; i < s.size(); ++i, shift += 8) {
        tail |= static_cast<uint64_t>(static_cast<unsigned char>(s[i])) << shift;
      }
      return Mix(h ^ tail);
    }
  }
  return 0;
}

// Value's operator== goes through std::variant's visitation; keys compare often enough to
// deserve the direct version.
bool SameValue(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case ValueType::kNull:
      return true;
    case ValueType::kBool:
      return a.AsBool() == b.AsBool();
    case ValueType::kInt:
      return a.AsInt() == b.AsInt();
    case ValueType::kFloat:
      return a == b;
    case ValueType::kString: {
      const std::string& x = a.AsString();
      const std::string& y = b.AsString();
      // Numbered device names differ at the end: check the last byte before calling memcmp.
      return x.size() == y.size() &&
             (x.empty() ||
              (x.back() == y.back() && std::memcmp(x.data(), y.data(), x.size()) == 0));
    }
  }
  return false;
}

}  // namespace

GroupTable::GroupTable(std::vector<size_t> columns)
    : columns_(std::move(columns)), table_(16, kNoSlot) {}

uint64_t GroupTable::HashRow(const Row& row) const {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (size_t c : columns_) h = (h ^ HashValue(row[c])) * 0x100000001b3ULL;
  return h;
}

bool GroupTable::Matches(uint32_t id, const Row& row) const {
  const Value* key = keys_.data() + static_cast<size_t>(id) * width();
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (!SameValue(key[i], row[columns_[i]])) return false;
  }
  return true;
}

uint32_t GroupTable::Intern(const Row& row) {
  if (last_score_ > 0 && last_ != kNoSlot) {
    if (Matches(last_, row)) return last_;
    --last_score_;
  }
  const uint64_t hash = HashRow(row);
  size_t i = Home(hash);
  for (; table_[i] != kNoSlot; i = (i + 1) & (table_.size() - 1)) {
    const uint32_t id = table_[i];
    if (hashes_[id] == hash && Matches(id, row)) {
      if (id == last_) last_score_ = std::min(last_score_ + 2, 8);  // the check would have hit
      return last_ = id;
    }
  }
  if ((live_ + 1) * 2 > table_.size()) {
    Grow();
    for (i = Home(hash); table_[i] != kNoSlot; i = (i + 1) & (table_.size() - 1)) {
    }
  }
  uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<uint32_t>(hashes_.size());
    hashes_.push_back(0);
    refs_.push_back(0);
    keys_.resize(keys_.size() + width());
  }
  Value* key = keys_.data() + static_cast<size_t>(id) * width();
  for (size_t c = 0; c < columns_.size(); ++c) key[c] = row[columns_[c]];
  hashes_[id] = hash;
  refs_[id] = 0;
  table_[i] = id;
  ++live_;
  ranks_stale_ = true;
  return last_ = id;
}

void GroupTable::Grow() {
  std::vector<uint32_t> old = std::move(table_);
  table_.assign(old.size() * 2, kNoSlot);
  for (uint32_t id : old) {
    if (id == kNoSlot) continue;
    size_t i = Home(hashes_[id]);
    while (table_[i] != kNoSlot) i = (i + 1) & (table_.size() - 1);
    table_[i] = id;
  }
}

void GroupTable::Unref(uint32_t id) {
  if (--refs_[id] == 0) Free(id);
}

void GroupTable::Free(uint32_t id) {
  const size_t mask = table_.size() - 1;
  size_t i = Home(hashes_[id]);
  while (table_[i] != id) {
    assert(table_[i] != kNoSlot && "freeing a group id that is not live");
    i = (i + 1) & mask;
  }
  // Backward-shift deletion keeps every probe chain unbroken without tombstones.
  for (size_t j = (i + 1) & mask; table_[j] != kNoSlot; j = (j + 1) & mask) {
    const size_t home = Home(hashes_[table_[j]]);
    const bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!stays) {
      table_[i] = table_[j];
      i = j;
    }
  }
  table_[i] = kNoSlot;
  Value* key = keys_.data() + static_cast<size_t>(id) * width();
  for (size_t c = 0; c < columns_.size(); ++c) key[c] = Value();  // drop string memory now
  free_ids_.push_back(id);
  if (last_ == id) last_ = kNoSlot;
  --live_;
}

std::weak_ordering GroupTable::Compare(uint32_t a, uint32_t b) const {
  if (a == b) return std::weak_ordering::equivalent;
  const Value* ka = keys_.data() + static_cast<size_t>(a) * width();
  const Value* kb = keys_.data() + static_cast<size_t>(b) * width();
  for (size_t i = 0; i < width(); ++i) {
    const std::weak_ordering c = ka[i] <=> kb[i];
    if (c != 0) return c;
  }
  return std::weak_ordering::equivalent;
}

const std::vector<uint32_t>& GroupTable::Ranks() {
  if (!ranks_stale_) return ranks_;
  std::vector<uint32_t> ids;
  ids.reserve(live_);
  for (uint32_t id : table_) {
    if (id != kNoSlot) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end(), [&](uint32_t a, uint32_t b) { return Compare(a, b) < 0; });
  ranks_.assign(hashes_.size(), 0);
  for (size_t r = 0; r < ids.size(); ++r) ranks_[ids[r]] = static_cast<uint32_t>(r);
  ranks_stale_ = false;
  return ranks_;
}

SlotArena::SlotArena(size_t slot_size) : slot_size_((std::max<size_t>(slot_size, 8) + 7) / 8 * 8) {}

uint32_t SlotArena::Allocate() {
  ++live_;
  if (free_head_ != kNoSlot) {
    const uint32_t slot = free_head_;
    std::memcpy(&free_head_, at(slot), sizeof(free_head_));
    return slot;
  }
  if ((used_ >> kChunkShift) == chunks_.size()) {
    // Uninitialised memory: untouched pages of a fresh chunk cost no RSS.
    chunks_.push_back(std::make_unique_for_overwrite<std::byte[]>(slot_size_ << kChunkShift));
  }
  return used_++;
}

void SlotArena::Free(uint32_t slot) {
  std::memcpy(at(slot), &free_head_, sizeof(free_head_));
  free_head_ = slot;
  if (--live_ == 0) {
    // After a burst (or a whole static run) the memory goes back instead of staying at the peak.
    chunks_.clear();
    used_ = 0;
    free_head_ = kNoSlot;
  }
}

}  // namespace runnel
