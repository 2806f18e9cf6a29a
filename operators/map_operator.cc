#include "operators/map_operator.h"

namespace runnel {

MapOperator::MapOperator(std::unique_ptr<Expr> filter,
                         std::vector<std::unique_ptr<Expr>> projections)
    : filter_(std::move(filter)), projections_(std::move(projections)) {
  scratch_.resize(projections_.size());
}

void MapOperator::OnChange(int /*port*/, const Row& row, Timestamp time, Diff diff) {
  if (filter_ != nullptr) {
    // A bare bool column needs no evaluation (and no copy).
    const std::optional<size_t> column = filter_->column_index();
    bool keep = false;
    if (column && *column < row.size()) {
      const Value& v = row[*column];
      keep = v.type() == ValueType::kBool && v.AsBool();
    } else {
      const Value v = filter_->Eval(row);
      keep = v.type() == ValueType::kBool && v.AsBool();
    }
    // SQL WHERE: null counts as not true, so it drops the record.
    if (!keep) return;
  }
  if (projections_.empty()) {
    output(0).Emit(row, time, diff);
    return;
  }
  // One scratch row for every record: copying a column into it reuses the string capacity
  // left by earlier records, and computed values are moved in.
  for (size_t i = 0; i < projections_.size(); ++i) {
    const Expr& e = *projections_[i];
    const std::optional<size_t> column = e.column_index();
    if (column && *column < row.size()) {
      scratch_[i] = row[*column];
    } else {
      scratch_[i] = e.Eval(row);
    }
  }
  output(0).Emit(scratch_, time, diff);
}

Status MapOperator::Advance(std::span<const Timestamp> input_watermarks,
                            Timestamp* output_watermark) {
  if (input_watermarks.empty()) {
    return Status::Runtime("a filter/select view was wired without an input");
  }
  // Stateless: nothing is held back, so the input's promise holds for the output too.
  *output_watermark = input_watermarks[0];
  return Status::Ok();
}

}  // namespace runnel
