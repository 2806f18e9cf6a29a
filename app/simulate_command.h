// `runnel simulate` (SPEC §1): loads a device profile, builds a FleetSimulator from it and
// either publishes its messages to a broker, paced at the requested rate with the requested
// QoS, or writes them to a file (--output, --dry-run). Runs on the calling thread; a
// StopSignal ends an open-ended run on SIGINT/SIGTERM.
#pragma once

#include "app/commands.h"
#include "runtime/logger.h"
#include "runtime/status.h"

namespace runnel {

// Invalid for bad arguments or profiles (exit 2), other codes when publishing fails (exit 1).
// Prints the summary (messages by kind) through `logger`.
Status RunSimulation(const SimulateArgs& args, Logger& logger);

}  // namespace runnel
