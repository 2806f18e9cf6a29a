#include "operators/window_engine.h"

#include <algorithm>
#include <string>
#include <utility>

namespace runnel {

AggregateStates::Mode WindowEngine::ModeFor(const WindowOperatorSpec& spec) {
  // Sessions keep a record log instead when the input retracts (a retraction may split a
  // session, which needs the records), and replay it into insert-only states.
  if (spec.insert_only_input || spec.window.type == WindowType::kSession) {
    return AggregateStates::Mode::kInsertOnly;
  }
  return AggregateStates::Mode::kRetractable;
}

WindowEngine::WindowEngine(WindowOperatorSpec spec, Output* results, Output* late)
    : spec_(std::move(spec)),
      states_(spec_.aggregates, ModeFor(spec_)),
      groups_(spec_.group_by),
      results_(results),
      late_(late),
      updates_(spec_.emit == EmitMode::kUpdates),
      row_(2 + spec_.group_by.size() + spec_.aggregates.size()),
      args_(states_.num_arguments()),
      arg_scratch_(states_.num_arguments()) {}

WindowEngine::~WindowEngine() = default;

OperatorStats WindowEngine::stats() const {
  OperatorStats s;
  s.late_records = late_records_;
  s.state_entries = live_windows();
  return s;
}

void WindowEngine::EmitLate(const Row& row, Timestamp time, Diff diff) {
  ++late_records_;
  late_->Emit(row, time, diff);
}

void WindowEngine::RefuseRetraction() {
  if (!deferred_.ok()) return;
  deferred_ = Status::Runtime(
      "a retraction reached a window view whose input was declared insert-only "
      "(WindowOperatorSpec::insert_only_input): its min/max/first/last and session states keep "
      "one value per window and cannot undo a record; build it with insert_only_input = false");
}

Status WindowEngine::TakeDeferredError() { return std::exchange(deferred_, Status::Ok()); }

Value* WindowEngine::BeginRow(Timestamp start, Timestamp end, uint32_t group) {
  row_[0] = Value::Int(start);
  row_[1] = Value::Int(end);
  const std::span<const Value> key = groups_.key(group);
  for (size_t i = 0; i < key.size(); ++i) row_[2 + i] = key[i];
  return row_.data() + 2 + key.size();
}

void WindowEngine::PrepareGroupOrder(size_t n) {
  // Ranks cost a sort of all live groups; worth it only when sorting a good share of them.
  ranks_ = n * 8 >= groups_.live() && n > 16 ? &groups_.Ranks() : nullptr;
}

void WindowEngine::SaveCommon(std::string_view engine, SnapshotWriter* out) const {
  out->WriteString(engine);
  out->WriteVarint(spec_.group_by.size());
  out->WriteString(states_.Layout());
  out->WriteTimestamp(watermark_);
  out->WriteVarint(next_seq_);
  out->WriteVarint(late_records_);
}

Status WindowEngine::LoadCommon(std::string_view engine, SnapshotReader* in) {
  std::string saved_engine, layout;
  uint64_t width = 0;
  RUNNEL_RETURN_IF_ERROR(in->ReadString("window engine", &saved_engine));
  RUNNEL_RETURN_IF_ERROR(in->ReadVarint("group_by width", &width));
  RUNNEL_RETURN_IF_ERROR(in->ReadString("aggregate layout", &layout));
  if (saved_engine != engine || width != spec_.group_by.size() || layout != states_.Layout()) {
    return Status::Invalid("window state was saved by a different definition (" + saved_engine +
                           " windows, " + std::to_string(width) + " group_by columns, aggregates " +
                           layout + "); this view has " + std::string(engine) + " windows, " +
                           std::to_string(spec_.group_by.size()) +
                           " group_by columns, aggregates " + states_.Layout() +
                           ": restart with --reset-state or replay the log");
  }
  RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("window watermark", &watermark_));
  RUNNEL_RETURN_IF_ERROR(in->ReadVarint("window arrival counter", &next_seq_));
  return in->ReadVarint("window late record counter", &late_records_);
}

void WindowEngine::SaveKey(uint32_t group, SnapshotWriter* out) const {
  for (const Value& v : groups_.key(group)) out->WriteValue(v);
}

Status WindowEngine::LoadKey(SnapshotReader* in, uint32_t* group) {
  Row key(spec_.group_by.size());
  for (Value& v : key) RUNNEL_RETURN_IF_ERROR(in->ReadValue("group key", &v));
  *group = InternKey(key);
  return Status::Ok();
}

uint32_t WindowEngine::InternKey(std::span<const Value> key) {
  // GroupTable interns from input rows: the key goes back to its group_by columns.
  size_t width = 0;
  for (size_t c : spec_.group_by) width = std::max(width, c + 1);
  Row row(width);
  for (size_t i = 0; i < key.size(); ++i) row[spec_.group_by[i]] = key[i];
  return groups_.Intern(row);
}

Status WindowEngine::LoadResultRow(SnapshotReader* in, Row* row) const {
  RUNNEL_RETURN_IF_ERROR(in->ReadRow("emitted window row", row));
  // Not row_.size(): `row` may be row_ itself.
  const size_t width = 2 + spec_.group_by.size() + spec_.aggregates.size();
  if (row->size() != width || (*row)[0].type() != ValueType::kInt ||
      (*row)[1].type() != ValueType::kInt) {
    return in->Corrupt("emitted window row", "does not have the view's columns");
  }
  return Status::Ok();
}

}  // namespace runnel
