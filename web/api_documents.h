// The JSON documents of the dashboard API (docs/api.md), built from telemetry snapshots,
// change feeds and stored rejects. The WebSocket live messages reuse them, so a page renders
// the same document whether it fetched or was pushed it. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/telemetry.h"
#include "storage/rejects_reader.h"

namespace runnel {

// {"error": {"status": 404, "code": "not_found", "message": "..."}}
std::string ErrorDocument(int status, std::string_view code, std::string_view message);

// `snapshot` may be null (nothing published yet): counters are then absent.
std::string StatusDocument(const Telemetry& telemetry, const TelemetrySnapshot* snapshot);
std::string SourcesDocument(const Telemetry& telemetry, const TelemetrySnapshot* snapshot);
std::string ViewsDocument(const Telemetry& telemetry, const TelemetrySnapshot* snapshot);
std::string StreamDocument(const Telemetry& telemetry, const TelemetrySnapshot* snapshot,
                           const StreamShape& stream);
std::string GraphDocument(const Telemetry& telemetry);

// The current rows of a stream (no `since`), or its changes after `since`.
std::string RowsDocument(const StreamShape& stream, const ChangeFeed::Rows& rows);
std::string ChangesDocument(const StreamShape& stream, const ChangeFeed::Page& page);

// One entry per device row of every "status view" stream, with the latest record of that
// device from the status view's source.
std::string DevicesDocument(const Telemetry& telemetry);

std::string RejectsDocument(const std::vector<RejectedPayload>& rejects);

// WebSocket messages (docs/api.md): {"type": "metrics", "status": <status document>},
// {"type": "changes", "view": ..., ...<changes document>}, {"type": "resync", "view": ...}.
std::string MetricsMessage(const Telemetry& telemetry, const TelemetrySnapshot* snapshot);
std::string ChangesMessage(const StreamShape& stream, const ChangeFeed::Page& page);
std::string ResyncMessage(const StreamShape& stream, std::string_view reason);

}  // namespace runnel
