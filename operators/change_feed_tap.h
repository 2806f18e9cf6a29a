// ChangeFeedTap: a leaf operator that copies every change of the stream it is connected to
// into that stream's ChangeFeed, where the dashboard reads it. It emits nothing and holds no
// data, so its watermark is its input's. Threading: engine thread only (the feed does the
// locking for its readers).
#pragma once

#include "runtime/operator.h"
#include "runtime/telemetry.h"

namespace runnel {

class ChangeFeedTap final : public Operator {
 public:
  // REQUIRES: `feed` outlives the operator.
  explicit ChangeFeedTap(ChangeFeed* feed) : Operator(0), feed_(feed) {}

  void OnChange(int port, const Row& row, Timestamp time, Diff diff) override;
  Status Advance(std::span<const Timestamp> input_watermarks, Timestamp* output_watermark) override;

 private:
  ChangeFeed* feed_;
};

}  // namespace runnel
