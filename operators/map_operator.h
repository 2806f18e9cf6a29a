// MapOperator: a `where` filter followed by a `select` projection, applied change by change.
// Stateless, so the output watermark is the input watermark and times pass through.
// Threading: engine thread only.
#pragma once

#include <memory>
#include <vector>

#include "operators/expression.h"
#include "runtime/operator.h"

namespace runnel {

class MapOperator final : public Operator {
 public:
  // `filter` may be null (keep everything); empty `projections` passes rows through unchanged.
  MapOperator(std::unique_ptr<Expr> filter, std::vector<std::unique_ptr<Expr>> projections);

  void OnChange(int port, const Row& row, Timestamp time, Diff diff) override;
  Status Advance(std::span<const Timestamp> input_watermarks, Timestamp* output_watermark) override;

 private:
  std::unique_ptr<Expr> filter_;
  std::vector<std::unique_ptr<Expr>> projections_;
  Row scratch_;
};

}  // namespace runnel
