#include "operators/window_engine.h"

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

}  // namespace runnel
