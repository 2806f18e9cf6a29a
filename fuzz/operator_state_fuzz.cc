// libFuzzer target for operator state snapshots. Input: one byte choosing the operator (a
// tumbling window with every aggregate over retracting input, an insert-only session window, a
// retracting session window, a dedup, a device status view, an as-of join), then the snapshot
// body (the magic and format version are prepended). Checks that LoadState never crashes on any
// bytes, and that state it accepts saves and loads again into a fresh operator.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "operators/asof_join_operator.h"
#include "operators/dedup_operator.h"
#include "operators/device_status_operator.h"
#include "operators/window_operator.h"

namespace {

using namespace runnel;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

const Schema& Input() {
  static const Schema schema(
      {{"k", ValueType::kString}, {"t", ValueType::kInt}, {"v", ValueType::kFloat}});
  return schema;
}

std::unique_ptr<Operator> MakeWindow(WindowSpec window, bool insert_only) {
  WindowOperatorSpec spec;
  spec.window = window;
  spec.group_by = {0};
  spec.emit = EmitMode::kUpdates;
  spec.allowed_lateness = 5;
  spec.insert_only_input = insert_only;
  for (const char* text : {"n = count()", "s = sum(v)", "m = min(v)", "f = first(k)",
                           "d = median(v)", "x = stddev(t)"}) {
    Result<AggregateCall> call = ParseAggregateCall(text, Scope(Input()));
    Check(call.ok());
    Result<AggregateDef> def = MakeAggregate(std::move(call).value());
    Check(def.ok());
    spec.aggregates.push_back(std::move(def).value());
  }
  return std::make_unique<WindowOperator>(std::move(spec), Input());
}

std::unique_ptr<Operator> Make(uint8_t kind) {
  switch (kind % 6) {
    case 0:
      return MakeWindow({WindowType::kTumbling, 10, 0, 0}, false);
    case 1:
      return MakeWindow({WindowType::kSession, 0, 0, 3}, true);
    case 2:
      return MakeWindow({WindowType::kSession, 0, 0, 3}, false);
    case 3: {
      DedupOperatorSpec spec;
      spec.by = {0};
      spec.within = 5;
      spec.emit = EmitMode::kUpdates;
      return std::make_unique<DedupOperator>(spec, Input());
    }
    case 4: {
      static const ManualClock clock(1'000'000);
      return std::make_unique<DeviceStatusOperator>(DeviceStatusSpec{0, 10, 3}, &clock);
    }
    default: {
      AsofJoinOperatorSpec spec;
      spec.left = Input();
      spec.right = Input();
      spec.left_by = {0};
      spec.right_by = {0};
      spec.direction = AsofJoinDirection::kNearest;
      spec.tolerance = 5;
      return std::make_unique<AsofJoinOperator>(std::move(spec));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t kind = data[0];
  const std::string bytes =
      SnapshotWriter().Release() + std::string(reinterpret_cast<const char*>(data) + 1, size - 1);
  Result<SnapshotReader> reader = SnapshotReader::Open(bytes);
  Check(reader.ok());
  std::unique_ptr<Operator> op = Make(kind);
  Status status = op->LoadState(&*reader);
  if (status.ok()) status = reader->ExpectEnd();
  if (!status.ok()) {
    Check(status.code() == StatusCode::kCorruption || status.code() == StatusCode::kInvalid);
    Check(!status.message().empty());
    return 0;
  }
  SnapshotWriter again;
  op->SaveState(&again);
  const std::string saved = again.Release();
  Result<SnapshotReader> reread = SnapshotReader::Open(saved);
  Check(reread.ok());
  std::unique_ptr<Operator> fresh = Make(kind);
  Check(fresh->LoadState(&*reread).ok());
  Check(reread->ExpectEnd().ok());
  return 0;
}
