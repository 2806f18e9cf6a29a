#include "operators/window_operator.h"

#include <cassert>
#include <set>
#include <string>
#include <utility>

#include "operators/state_fingerprint.h"
#include "operators/window_engine.h"

namespace runnel {

// The engine is chosen once by window type; WindowOperator only forwards.
class WindowOperator::Impl {
 public:
  std::unique_ptr<WindowEngine> engine;
  std::string fingerprint;
};

namespace {

std::string_view WindowTypeName(WindowType type) {
  switch (type) {
    case WindowType::kTumbling:
      return "tumbling";
    case WindowType::kSliding:
      return "sliding";
    case WindowType::kSession:
      return "session";
  }
  return "?";
}

std::string Fingerprint(const WindowOperatorSpec& spec, const Schema& input_schema) {
  FingerprintBuilder f("window");
  f.Add("type", WindowTypeName(spec.window.type));
  f.Add("size", spec.window.size).Add("hop", spec.window.hop).Add("gap", spec.window.gap);
  f.AddColumns("group_by", spec.group_by, input_schema);
  for (const AggregateDef& def : spec.aggregates) {
    std::string text = def.name + "=" + std::string(AggregateFunctionName(def.kind)) + "(" +
                       def.argument_text + ")";
    if (def.argument != nullptr) {
      const std::optional<size_t> column = def.argument->column_index();
      text += ":" + std::string(TypeName(def.argument->type()));
      if (column.has_value()) text += ":#" + std::to_string(*column);
    }
    text += "->" + std::string(TypeName(def.result_type));
    f.Add("aggregate", text);
  }
  f.Add("emit", spec.emit == EmitMode::kFinal ? "final" : "updates");
  f.Add("allowed_lateness", spec.allowed_lateness);
  f.Add("insert_only_input", spec.insert_only_input ? 1 : 0);
  f.AddSchema("input", input_schema);
  return f.Release();
}

}  // namespace

WindowOperator::WindowOperator(WindowOperatorSpec spec, const Schema& input_schema)
    : Operator(2), impl_(std::make_unique<Impl>()) {
  assert(Validate(spec, input_schema).ok());
  impl_->fingerprint = Fingerprint(spec, input_schema);
  Output* results = &output(kResultsPort);
  Output* late = &output(kLatePort);
  impl_->engine = spec.window.type == WindowType::kSession
                      ? MakeSessionWindowEngine(std::move(spec), results, late)
                      : MakeFixedWindowEngine(std::move(spec), results, late);
}

WindowOperator::~WindowOperator() = default;

Schema WindowOperator::OutputSchema(const WindowOperatorSpec& spec, const Schema& input_schema) {
  std::vector<Column> columns;
  columns.push_back({"window_start", ValueType::kInt});
  columns.push_back({"window_end", ValueType::kInt});
  for (size_t index : spec.group_by) {
    if (index < input_schema.size()) columns.push_back(input_schema.column(index));
  }
  for (const AggregateDef& def : spec.aggregates) columns.push_back({def.name, def.result_type});
  return Schema(std::move(columns));
}

Status WindowOperator::Validate(const WindowOperatorSpec& spec, const Schema& input_schema) {
  const WindowSpec& w = spec.window;
  switch (w.type) {
    case WindowType::kTumbling:
      if (w.size <= 0) return Status::Invalid("a tumbling window needs a size > 0, e.g. \"1m\"");
      break;
    case WindowType::kSliding:
      if (w.size <= 0 || w.hop <= 0) {
        return Status::Invalid(
            "a sliding window needs a size > 0 and a hop > 0, e.g. size = "
            "\"5m\", hop = \"1m\"");
      }
      break;
    case WindowType::kSession:
      if (w.gap <= 0) return Status::Invalid("a session window needs a gap > 0, e.g. \"30s\"");
      break;
  }
  if (spec.allowed_lateness < 0) return Status::Invalid("allowed_lateness must not be negative");
  std::set<std::string> names = {"window_start", "window_end"};
  for (size_t index : spec.group_by) {
    if (index >= input_schema.size()) {
      return Status::Invalid("group_by column " + std::to_string(index) +
                             " is out of range of the input's " +
                             std::to_string(input_schema.size()) + " columns");
    }
    const std::string& name = input_schema.column(index).name;
    if (!names.insert(name).second) {
      return Status::Invalid("output column \"" + name +
                             "\" appears twice: group_by lists it twice or names a "
                             "window_start/window_end field");
    }
  }
  for (const AggregateDef& def : spec.aggregates) {
    if (!names.insert(def.name).second) {
      return Status::Invalid("output column \"" + def.name +
                             "\" appears twice: give the aggregate another name");
    }
    if (def.kind != AggregateKind::kCount && def.argument == nullptr) {
      return Status::Invalid("aggregate \"" + def.name + "\" has no argument");
    }
  }
  return Status::Ok();
}

void WindowOperator::OnChange(int /*port*/, const Row& row, Timestamp time, Diff diff) {
  impl_->engine->OnChange(row, time, diff);
}

Status WindowOperator::Advance(std::span<const Timestamp> input_watermarks,
                               Timestamp* output_watermark) {
  const Timestamp watermark = input_watermarks.empty() ? kMinTime : input_watermarks[0];
  return impl_->engine->Advance(watermark, output_watermark);
}

OperatorStats WindowOperator::stats() const { return impl_->engine->stats(); }

void WindowOperator::SaveState(SnapshotWriter* out) const { impl_->engine->SaveState(out); }

Status WindowOperator::LoadState(SnapshotReader* in) { return impl_->engine->LoadState(in); }

std::string WindowOperator::StateFingerprint() const { return impl_->fingerprint; }

}  // namespace runnel
