// DeviceStatusOperator: the built-in `<source>_status` view (SPEC §5): one row per device
// (device, last_seen, online), changed when a device is first seen, goes silent for
// `missed_periods` reporting periods (offline), or reports again (online). Silence produces no
// event time, so this view runs on the gateway clock: last_seen and the time of every change
// are the injected clock's epoch ms when the step ran. Threading: engine thread only.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "runtime/clock.h"
#include "runtime/operator.h"
#include "runtime/schema.h"
#include "runtime/time.h"

namespace runnel {

struct DeviceStatusSpec {
  size_t device_column = 0;  // a string column of the input; null devices are ignored
  Duration period = 0;       // > 0: the profile's expected reporting period
  int missed_periods = 3;
};

// Changes (C: the clock when Advance runs, at most once per step):
// - first record of a device:           +1 (device, C, true)
// - no record for missed_periods*period: -1 (device, L, true), +1 (device, S, false)
// - a record while offline:             -1 (device, S, false), +1 (device, C, true)
// where L is when the online row was emitted and S the last time a record was seen. Rows carry
// event time C; the output watermark is C (never decreasing), or +inf once the input's is.
class DeviceStatusOperator final : public Operator {
 public:
  DeviceStatusOperator(DeviceStatusSpec spec, const Clock* clock);

  // device string, last_seen int (epoch ms), online bool.
  static Schema OutputSchema();

  void OnChange(int port, const Row& row, Timestamp time, Diff diff) override;
  Status Advance(std::span<const Timestamp> input_watermarks, Timestamp* output_watermark) override;
  // state_entries: devices known.
  OperatorStats stats() const override;

  // Every device with what its emitted row holds, so that a restarted run retracts the rows
  // the table has instead of emitting each device again as new.
  bool has_state() const override { return true; }
  void SaveState(SnapshotWriter* out) const override;
  Status LoadState(SnapshotReader* in) override;
  std::string StateFingerprint() const override;

 private:
  struct Device {
    Timestamp last_seen = 0;      // clock when the latest record arrived
    Timestamp row_last_seen = 0;  // last_seen of the row currently emitted
    bool online = false;          // of the row currently emitted
    bool emitted = false;
    bool seen_this_step = false;
  };
  using Devices = std::map<std::string, Device, std::less<>>;
  // A device whose row changes in this step: to online (seen) or to offline (silent).
  struct Transition {
    Devices::value_type* device;
    bool online;
  };
  void EmitRow(const std::string& device, Timestamp last_seen, bool online, Diff diff);

  const DeviceStatusSpec spec_;
  const Clock* clock_;
  Devices devices_;
  // Work per step is proportional to the records and changes, not to the fleet: the devices
  // seen in this step, and the walk for silent devices only once one can be silent.
  std::vector<Devices::value_type*> seen_;
  Timestamp next_silence_check_ = kMinTime;  // no online device goes silent before this
  std::vector<Transition> transitions_;
  Timestamp now_ = kMinTime;  // the clock, kept non-decreasing
  Row row_;
};

}  // namespace runnel
