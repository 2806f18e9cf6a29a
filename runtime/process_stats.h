// ProcessStats: this process's resident memory and CPU time, read from the kernel (Linux
// /proc and getrusage), for the dashboard and /metrics. Stateless; callable from any thread.
#pragma once

#include <chrono>

#include "runtime/telemetry.h"

namespace runnel {

// RSS and CPU now; uptime counted from `started`. Fields the kernel does not report stay 0.
ProcessTelemetry SampleProcess(std::chrono::steady_clock::time_point started);

}  // namespace runnel
