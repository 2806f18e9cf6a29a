// LogRateLimiter: lets a repeated diagnostic (a bad payload, a lost connection) through at most
// `burst` times per interval and counts what it held back, so that a misbehaving device cannot
// flood the log. Time comes from the caller (an injected clock). Not synchronised: one per thread.
#pragma once

#include <cstdint>

#include "runtime/time.h"

namespace runnel {

class LogRateLimiter {
 public:
  LogRateLimiter(Duration interval, int burst) : interval_(interval), burst_(burst) {}

  // Whether to log now. When it returns true, *suppressed is how many messages were held
  // back since the last one let through (say so in the message).
  bool Allow(Timestamp now, uint64_t* suppressed) {
    if (!started_ || now - window_start_ >= interval_) {
      started_ = true;
      window_start_ = now;
      used_ = 0;
    }
    if (used_ >= burst_) {
      ++suppressed_;
      return false;
    }
    ++used_;
    *suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

 private:
  Duration interval_;
  int burst_;
  bool started_ = false;
  Timestamp window_start_ = 0;
  int used_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace runnel
