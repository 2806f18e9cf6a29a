#include "operators/change_feed_tap.h"

namespace runnel {

void ChangeFeedTap::OnChange(int /*port*/, const Row& row, Timestamp time, Diff diff) {
  feed_->Append(row, time, diff);
}

Status ChangeFeedTap::Advance(std::span<const Timestamp> input_watermarks,
                              Timestamp* output_watermark) {
  *output_watermark = input_watermarks.empty() ? kMaxTime : input_watermarks[0];
  return Status::Ok();
}

}  // namespace runnel
