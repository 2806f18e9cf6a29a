#include "runtime/clock.h"

#include <chrono>

namespace runnel {

Timestamp SystemClock::NowMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace runnel
