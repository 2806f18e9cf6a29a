// The Prometheus text exposition (format 0.0.4) of a telemetry snapshot, served at /metrics:
// every metric named runnel_*, with # HELP and # TYPE, labelled source=, view= or sink=.
// Pure function; any thread.
#pragma once

#include <string>

#include "runtime/telemetry.h"
#include "web/live_updates.h"

namespace runnel {

// `snapshot` may be null (nothing published yet): only the dashboard's own metrics appear.
std::string PrometheusText(const TelemetrySnapshot* snapshot, const LiveUpdateStats& live);

}  // namespace runnel
