// Storage of the window operator: GroupTable interns group_by keys into dense ids, SlotArena
// holds the fixed-size per-window state blocks. Together they keep a window at a few dozen bytes:
// a window refers to its group by a 4-byte id and lives in an arena slot, not in a map node.
// Threading: engine thread only.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "runtime/value.h"

namespace runnel {

inline constexpr uint32_t kNoSlot = UINT32_MAX;

// Interns the group_by values of records. Keys are hashed and compared straight from the input
// row's columns, so a lookup builds no temporary Row. Ids are reference counted by what uses
// them (windows, pending retractions) and reused once free, so memory follows live groups.
class GroupTable {
 public:
  explicit GroupTable(std::vector<size_t> columns);
  GroupTable(const GroupTable&) = delete;
  GroupTable& operator=(const GroupTable&) = delete;

  // The id of `row`'s key, created with no references if new.
  uint32_t Intern(const Row& row);
  void Ref(uint32_t id) { ++refs_[id]; }
  // Frees the id when its last reference goes.
  void Unref(uint32_t id);

  size_t width() const { return columns_.size(); }
  std::span<const Value> key(uint32_t id) const {
    return {keys_.data() + static_cast<size_t>(id) * width(), width()};
  }
  // Orders ids by their key values (Value's total order), for deterministic output.
  std::weak_ordering Compare(uint32_t a, uint32_t b) const;
  // rank[id] orders live ids like Compare; recomputed only after new groups appeared. Sorting
  // many windows by rank beats comparing their key values one pair at a time.
  const std::vector<uint32_t>& Ranks();
  size_t live() const { return live_; }

 private:
  uint64_t HashRow(const Row& row) const;
  bool Matches(uint32_t id, const Row& row) const;
  size_t Home(uint64_t hash) const { return hash & (table_.size() - 1); }
  void Grow();
  void Free(uint32_t id);

  std::vector<size_t> columns_;
  std::vector<uint32_t> table_;  // open addressing, linear probing; kNoSlot = empty
  std::vector<Value> keys_;      // width() values per id
  std::vector<uint64_t> hashes_;
  std::vector<uint32_t> refs_;
  std::vector<uint32_t> free_ids_;
  std::vector<uint32_t> ranks_;
  bool ranks_stale_ = true;
  // Consecutive records of one device skip the hash; when input interleaves devices the check
  // would only cost, so it pauses while it keeps missing.
  uint32_t last_ = kNoSlot;
  int last_score_ = 1;
  size_t live_ = 0;
};

// Fixed-size, 8-byte aligned slots addressed by 32-bit index, allocated in chunks that never
// move (so references into a slot stay valid while others are allocated). Freed slots are
// chained through their first bytes and reused; when no slot is live the chunks are returned.
class SlotArena {
 public:
  explicit SlotArena(size_t slot_size);
  SlotArena(const SlotArena&) = delete;
  SlotArena& operator=(const SlotArena&) = delete;

  // An uninitialised slot.
  uint32_t Allocate();
  void Free(uint32_t slot);
  std::byte* at(uint32_t slot) const {
    return chunks_[slot >> kChunkShift].get() + (slot & kChunkMask) * slot_size_;
  }
  size_t live() const { return live_; }
  size_t slot_size() const { return slot_size_; }

 private:
  static constexpr uint32_t kChunkShift = 12;
  static constexpr uint32_t kChunkMask = (1u << kChunkShift) - 1;

  size_t slot_size_;
  std::vector<std::unique_ptr<std::byte[]>> chunks_;
  uint32_t used_ = 0;  // slots ever handed out from the chunks
  uint32_t free_head_ = kNoSlot;
  size_t live_ = 0;
};

}  // namespace runnel
