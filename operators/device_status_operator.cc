#include "operators/device_status_operator.h"

#include <algorithm>

#include "operators/state_fingerprint.h"
#include "runtime/snapshot.h"

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
  auto it = devices_.find(device.AsString());
  if (it == devices_.end()) it = devices_.emplace(std::string(device.AsString()), Device{}).first;
  Device& d = it->second;
  d.last_seen = std::max(clock_->NowMillis(), now_);
  if (!d.seen_this_step) {
    d.seen_this_step = true;
    seen_.push_back(&*it);
  }
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
  transitions_.clear();
  if (now_ >= next_silence_check_) {
    Timestamp next = kMaxTime;
    for (auto& entry : devices_) {
      const Device& d = entry.second;
      if (d.seen_this_step || !d.online) continue;
      if (now_ - d.last_seen >= silence) {
        transitions_.push_back({&entry, false});
      } else {
        next = std::min(next, d.last_seen + silence);
      }
    }
    next_silence_check_ = next;
  }
  for (Devices::value_type* entry : seen_) {
    Device& d = entry->second;
    d.seen_this_step = false;
    next_silence_check_ = std::min(next_silence_check_, d.last_seen + silence);
    if (!(d.emitted && d.online)) transitions_.push_back({entry, true});
  }
  seen_.clear();
  // Device order, as the table and the changelog have always shown them.
  std::sort(transitions_.begin(), transitions_.end(), [](const Transition& a, const Transition& b) {
    return a.device->first < b.device->first;
  });
  for (const Transition& t : transitions_) {
    const std::string& name = t.device->first;
    Device& d = t.device->second;
    if (t.online) {
      if (d.emitted) EmitRow(name, d.row_last_seen, false, -1);
      EmitRow(name, now_, true, 1);
      d.emitted = true;
      d.online = true;
      d.row_last_seen = now_;
    } else {
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

void DeviceStatusOperator::SaveState(SnapshotWriter* out) const {
  out->WriteString("device_status");
  out->WriteTimestamp(now_);
  out->WriteVarint(devices_.size());
  for (const auto& [name, d] : devices_) {
    out->WriteString(name);
    out->WriteTimestamp(d.last_seen);
    out->WriteTimestamp(d.row_last_seen);
    out->WriteU8(static_cast<uint8_t>((d.online ? 1 : 0) | (d.emitted ? 2 : 0)));
  }
}

Status DeviceStatusOperator::LoadState(SnapshotReader* in) {
  std::string kind;
  RUNNEL_RETURN_IF_ERROR(in->ReadString("operator kind", &kind));
  if (kind != "device_status") {
    return Status::Invalid("device status state was saved by a different operator (" + kind +
                           "): restart with --reset-state");
  }
  RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("device status clock", &now_));
  next_silence_check_ = kMinTime;  // the first step looks for devices that went silent
  size_t count = 0;
  RUNNEL_RETURN_IF_ERROR(in->ReadCount("device count", 4, &count));
  for (size_t i = 0; i < count; ++i) {
    std::string name;
    Device d;
    uint8_t flags = 0;
    RUNNEL_RETURN_IF_ERROR(in->ReadString("device name", &name));
    RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("device last seen", &d.last_seen));
    RUNNEL_RETURN_IF_ERROR(in->ReadTimestamp("device row last seen", &d.row_last_seen));
    RUNNEL_RETURN_IF_ERROR(in->ReadU8("device flags", &flags));
    if (flags > 3) return in->Corrupt("device flags", "has unknown bits");
    d.online = (flags & 1) != 0;
    d.emitted = (flags & 2) != 0;
    if (!devices_.emplace(std::move(name), d).second) {
      return in->Corrupt("device name", "appears twice");
    }
  }
  return in->ExpectEnd();
}

std::string DeviceStatusOperator::StateFingerprint() const {
  return FingerprintBuilder("device_status")
      .Add("device_column", static_cast<int64_t>(spec_.device_column))
      .Add("period", spec_.period)
      .Add("missed_periods", spec_.missed_periods)
      .Release();
}

OperatorStats DeviceStatusOperator::stats() const {
  OperatorStats stats;
  stats.state_entries = devices_.size();
  return stats;
}

}  // namespace runnel
