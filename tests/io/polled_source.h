// Test helpers for file sources: a collector that renders each change as a line, and an open
// source polled by hand with what it emitted and logged.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "io/file_source.h"
#include "runtime/logger.h"
#include "runtime/operator.h"

namespace runnel::testing {

using Lines = std::vector<std::string>;

// Source "env" over CSV columns device, ts (event time, ms), temp.
inline FileSourceSpec CsvSpec(const std::string& path) {
  FileSourceSpec spec;
  spec.name = "env";
  spec.path = path;
  spec.fields = {
      {"device", ValueType::kString}, {"ts", ValueType::kInt}, {"temp", ValueType::kFloat}};
  spec.time_fields = {"ts"};
  spec.time_unit = TimeUnit::kMillis;
  return spec;
}

inline void Append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::app) << text;
}

// Records every change as "time: v1 v2 ... (diff)" with values in debug form.
class Collector final : public Operator {
 public:
  void OnChange(int /*port*/, const Row& row, Timestamp time, Diff diff) override {
    std::string line = std::to_string(time) + ":";
    for (const Value& v : row) line += " " + v.DebugString();
    line += " (" + std::to_string(diff) + ")";
    changes.push_back(line);
  }
  Status Advance(std::span<const Timestamp> in, Timestamp* out) override {
    *out = in.empty() ? kMaxTime : in[0];
    return Status::Ok();
  }
  Lines changes;
};

// One open source with a collector, polled by hand.
struct Polled {
  explicit Polled(FileSourceSpec spec) {
    Result<std::unique_ptr<FileSource>> opened = FileSource::Open(std::move(spec), &logger);
    REQUIRE_MESSAGE(opened.ok(), opened.status().message());
    source = std::move(opened).value();
    source->output().Connect(&collector, 0);
  }
  // Polls once; returns the status and takes the changes it emitted.
  std::pair<PollStatus, Lines> Poll(size_t batch = 1000) {
    Result<PollStatus> status = source->Poll(batch);
    REQUIRE_MESSAGE(status.ok(), status.status().message());
    Lines changes = std::move(collector.changes);
    collector.changes.clear();
    return {*status, std::move(changes)};
  }
  bool Logged(const std::string& needle) const {
    for (const std::string& m : logger.messages()) {
      if (m.find(needle) != std::string::npos) return true;
    }
    return false;
  }

  CapturingLogger logger;
  Collector collector;
  std::unique_ptr<FileSource> source;
};

}  // namespace runnel::testing
