// AggregateStates: the mutable side of a window view's aggregates (DuckDB style). The immutable
// AggregateDefs say what to compute; this class lays their per-window state out as one
// fixed-size block that the window operator keeps in its own arena, and initializes, updates,
// merges, finalizes and destroys such blocks: one switch per aggregate per record, no virtual
// call, no allocation except for the value multisets that median (and retractable min, max,
// first, last) cannot do without.
// Threading: one engine thread; a state block must not move while initialized (an overflowed
// count is kept aside under the block's address).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "operators/aggregate.h"
#include "runtime/operator.h"
#include "runtime/time.h"
#include "runtime/value.h"

namespace runnel {

class AggregateStates {
 public:
  enum class Mode {
    // min/max/first/last keep a single value: O(1) bytes per window. A retraction of that value
    // could not be undone, so such states refuse retractions (see can_retract()).
    kInsertOnly,
    // min/max/first/last keep the window's values with their multiplicities.
    kRetractable,
  };

  AggregateStates(const std::vector<AggregateDef>& aggregates, Mode mode);
  ~AggregateStates();
  AggregateStates(const AggregateStates&) = delete;
  AggregateStates& operator=(const AggregateStates&) = delete;

  // Bytes of one state block; a multiple of 8, blocks must be 8-byte aligned.
  size_t state_size() const { return state_size_; }
  size_t num_aggregates() const { return ops_.size() + count_outputs_.size(); }
  // Distinct argument expressions: aggregates over the same column share one evaluation, one
  // non-null count and one value multiset.
  size_t num_arguments() const { return groups_.size(); }
  // False when some aggregate keeps a single value (kInsertOnly min/max/first/last).
  bool can_retract() const { return can_retract_; }

  // Evaluates each distinct argument once for a record, however many windows it updates.
  // args[i] points into `row` for a bare column reference, else into scratch[i].
  // REQUIRES: scratch and args have num_arguments() elements.
  void EvaluateArguments(const Row& row, Value* scratch, const Value** args) const;

  void Initialize(std::byte* state) const;
  void Destroy(std::byte* state) const;
  // Applies a record `diff` times (diff < 0 retracts). `seq` is the record's arrival number
  // (it orders first/last among equal times). REQUIRES: diff != 0, and diff > 0 unless
  // can_retract().
  void Update(std::byte* state, const Value* const* args, Timestamp time, uint64_t seq,
              Diff diff) const;
  // Adds everything in `src` to `dst` (a session merge); `src` is left unchanged.
  void Merge(std::byte* dst, const std::byte* src) const;
  // The net number of records (sum of diffs) applied to the state.
  int64_t Records(const std::byte* state) const { return GetCount(state, 0); }
  // Writes one value per aggregate to out[0, num_aggregates()). Takes a mutable state because
  // value multisets are consolidated lazily.
  void Finalize(std::byte* state, Value* out) const;

  // Snapshots (runtime/snapshot.h). A block's state, bit-exact, so that a loaded block gives
  // the same results as the saved one whatever comes next. LoadState REQUIRES an initialized
  // block with nothing applied yet.
  void SaveState(const std::byte* state, SnapshotWriter* out) const;
  Status LoadState(std::byte* state, SnapshotReader* in) const;
  // What a block holds (argument groups, aggregate kinds and types, insert-only or not): blocks
  // load only into states of the same layout.
  std::string Layout() const;

 private:
  struct ArgumentGroup {
    const Expr* expr = nullptr;
    std::optional<size_t> column;
    ValueType type = ValueType::kNull;
    uint32_t nonnull_offset = 0;
    uint32_t bag_offset = 0;    // 0: none (offset 0 holds the record count)
    uint32_t timed_offset = 0;  // 0: none
    uint32_t first_op = 0;      // ops_[first_op, end_op) use this argument
    uint32_t end_op = 0;
  };
  // A bare column per argument (the usual case): evaluation is a pointer into the row.
  bool all_columns_ = true;
  std::vector<size_t> columns_;
  size_t min_row_size_ = 0;
  struct Op {
    AggregateKind kind;
    ValueType type;  // the argument's static type
    bool compact;    // min/max/first/last: one value instead of the group's multiset
    uint8_t update;  // kind, type and compact resolved to one switch case (see .cc)
    uint32_t group;
    uint32_t offset;
    size_t output;  // index in the AggregateDef list
  };

  void UpdateGroup(std::byte* state, const ArgumentGroup& group, const Value& value, Timestamp time,
                   uint64_t seq, Diff diff) const;

  // Counts take 4 bytes: a window rarely sees 2^31 records, and the bytes matter at a million
  // windows. A count that would overflow holds kSpilled and lives in spilled_ instead.
  static constexpr int32_t kSpilled = INT32_MIN;
  int64_t GetCount(const std::byte* state, uint32_t offset) const;
  // Returns the new count.
  int64_t AddCount(std::byte* state, uint32_t offset, int64_t diff) const {
    int32_t c;
    std::memcpy(&c, state + offset, sizeof(c));
    int32_t sum;
    if (c != kSpilled && !__builtin_add_overflow(c, diff, &sum) && sum != kSpilled) {
      std::memcpy(state + offset, &sum, sizeof(sum));
      return sum;
    }
    return AddSpilled(state, offset, diff);
  }
  int64_t AddSpilled(std::byte* state, uint32_t offset, int64_t diff) const;
  void DropSpilled(const std::byte* state, uint32_t offset) const;

  std::vector<ArgumentGroup> groups_;
  std::vector<Op> ops_;                // ordered by group; count() ops last
  std::vector<size_t> count_outputs_;  // outputs of count()
  mutable std::unordered_map<const std::byte*, int64_t> spilled_;  // by counter address
  size_t state_size_ = 0;
  bool can_retract_ = true;
};

}  // namespace runnel
