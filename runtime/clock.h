// Clock: the gateway's wall clock, injected so that nothing reads time behind the tests' back.
// Operators never read it (they run on event time); sources use it for arrival times and the
// scheduler for pacing. SystemClock is thread-safe; ManualClock is for single-threaded tests.
#pragma once

#include "runtime/time.h"

namespace runnel {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp NowMillis() const = 0;  // epoch ms
};

class SystemClock final : public Clock {
 public:
  Timestamp NowMillis() const override;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp now = 0) : now_(now) {}
  Timestamp NowMillis() const override { return now_; }
  void Set(Timestamp now) { now_ = now; }
  void Advance(Duration d) { now_ += d; }

 private:
  Timestamp now_;
};

// Gateway-clock time from `since` to `now`. Never read (kMinTime) or a clock that went
// backwards (an NTP step at boot) counts as a long time, so that nothing waits for the wall
// clock to catch up with an old reading.
inline Duration ClockElapsed(Timestamp now, Timestamp since) {
  if (since == kMinTime || now < since) return kMaxTime;
  return now - since;
}

}  // namespace runnel
