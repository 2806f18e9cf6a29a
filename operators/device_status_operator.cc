#include "operators/device_status_operator.h"

#include <algorithm>

namespace runnel {

DeviceStatusOperator::DeviceStatusOperator(DeviceStatusSpec spec, const Clock* clock)
    : spec_(spec), clock_(clock), row_(3) {}

Schema DeviceStatusOperator::OutputSchema() {
  return Schema({{"device", ValueType::kString},
                 {"last_seen", ValueType::kInt},
                 {"online", ValueType::kBool}});
}

void DeviceStatusOperator::OnChange(int /*port*/, const Row& row, Timestamp /*time*/, Diff diff) {
  // Retractions do not un-see a device; a null device names none.
  const Value& device = row[spec_.device_column];
  if (diff <= 0 || device.type() != ValueType::kString) return;
  Device& d = devices_[std::string(device.AsString())];
  d.last_seen = std::max(clock_->NowMillis(), now_);
  d.seen_this_step = true;
}

void DeviceStatusOperator::EmitRow(const std::string& device, Timestamp last_seen, bool online,
                                   Diff diff) {
  row_[0] = Value::String(device);
  row_[1] = Value::Int(last_seen);
  row_[2] = Value::Bool(online);
  output().Emit(row_, now_, diff);
}

Status DeviceStatusOperator::Advance(std::span<const Timestamp> input_watermarks,
                                     Timestamp* output_watermark) {
  now_ = std::max(now_, clock_->NowMillis());
  const Duration silence = spec_.period * spec_.missed_periods;
  for (auto& [name, d] : devices_) {
    if (d.seen_this_step) {
      d.seen_this_step = false;
      if (d.emitted && d.online) continue;
      if (d.emitted) EmitRow(name, d.row_last_seen, false, -1);
      EmitRow(name, now_, true, 1);
      d.emitted = true;
      d.online = true;
      d.row_last_seen = now_;
    } else if (d.online && now_ - d.last_seen >= silence) {
      EmitRow(name, d.row_last_seen, true, -1);
      EmitRow(name, d.last_seen, false, 1);
      d.online = false;
      d.row_last_seen = d.last_seen;
    }
  }
  const bool input_done = !input_watermarks.empty() && input_watermarks[0] == kMaxTime;
  *output_watermark = input_done ? kMaxTime : now_;
  return Status::Ok();
}

OperatorStats DeviceStatusOperator::stats() const {
  OperatorStats stats;
  stats.state_entries = devices_.size();
  return stats;
}

}  // namespace runnel
