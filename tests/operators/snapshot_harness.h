// Test helpers for operator state snapshots: a recorded input (changes and watermarks per
// step), a run of it through one operator, and a run interrupted after step k whose state is
// saved and loaded into a fresh operator that does the rest. Both runs record every output
// port as text, so tests compare whole outputs.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/operator.h"
#include "runtime/snapshot.h"

namespace runnel::testing {

struct InputChange {
  int port;
  Row row;
  Timestamp time;
  Diff diff;
};

struct InputStep {
  std::vector<InputChange> changes;
  std::vector<Timestamp> watermarks;  // one per input port
};

using OperatorFactory = std::function<std::unique_ptr<Operator>()>;

// Records every change of every output port, in order, as "port diff @time values".
class PortRecorder final : public Operator {
 public:
  void OnChange(int port, const Row& row, Timestamp time, Diff diff) override {
    std::string text = std::to_string(port) + " " + (diff > 0 ? "+" : "") + std::to_string(diff) +
                       " @" + std::to_string(time);
    for (const Value& v : row) text += " " + v.DebugString();
    lines.push_back(std::move(text));
  }
  Status Advance(std::span<const Timestamp>, Timestamp*) override { return Status::Ok(); }
  std::vector<std::string> lines;
};

struct RunResult {
  std::vector<std::string> output;  // every change, then "wm <t>" after each step
  OperatorStats stats;
  size_t snapshot_bytes = 0;
};

inline void Connect(Operator& op, PortRecorder* recorder) {
  for (int p = 0; p < op.num_outputs(); ++p) op.output(p).Connect(recorder, p);
}

inline void RunSteps(Operator& op, const std::vector<InputStep>& steps, size_t begin, size_t end,
                     PortRecorder* recorder) {
  for (size_t s = begin; s < end; ++s) {
    for (const InputChange& c : steps[s].changes) op.OnChange(c.port, c.row, c.time, c.diff);
    Timestamp out = kMinTime;
    const Status status = op.Advance(steps[s].watermarks, &out);
    REQUIRE_MESSAGE(status.ok(), status.message());
    recorder->lines.push_back("wm " + FormatWatermark(out));
  }
}

inline RunResult RunWhole(const OperatorFactory& make, const std::vector<InputStep>& steps) {
  std::unique_ptr<Operator> op = make();
  PortRecorder recorder;
  Connect(*op, &recorder);
  RunSteps(*op, steps, 0, steps.size(), &recorder);
  return {std::move(recorder.lines), op->stats(), 0};
}

// Steps [0, k) on one operator, its state saved and loaded into a fresh one, steps [k, n) there.
inline RunResult RunSplit(const OperatorFactory& make, const std::vector<InputStep>& steps,
                          size_t k) {
  PortRecorder recorder;
  std::string bytes;
  {
    std::unique_ptr<Operator> first = make();
    Connect(*first, &recorder);
    RunSteps(*first, steps, 0, k, &recorder);
    SnapshotWriter writer;
    first->SaveState(&writer);
    bytes = writer.Release();
  }
  std::unique_ptr<Operator> second = make();
  Connect(*second, &recorder);
  Result<SnapshotReader> reader = SnapshotReader::Open(bytes);
  REQUIRE(reader.ok());
  const Status loaded = second->LoadState(&*reader);
  REQUIRE_MESSAGE(loaded.ok(), loaded.message());
  REQUIRE(reader->ExpectEnd().ok());
  RunSteps(*second, steps, k, steps.size(), &recorder);
  return {std::move(recorder.lines), second->stats(), bytes.size()};
}

// The property: whatever the step the run is interrupted after, the output (changes in order,
// output watermarks) and the final stats are those of the uninterrupted run.
inline void CheckEverySplit(const OperatorFactory& make, const std::vector<InputStep>& steps) {
  const RunResult whole = RunWhole(make, steps);
  for (size_t k = 0; k <= steps.size(); ++k) {
    const RunResult split = RunSplit(make, steps, k);
    INFO("interrupted after step ", k, " of ", steps.size());
    REQUIRE(split.output == whole.output);
    CHECK(split.stats.late_records == whole.stats.late_records);
    CHECK(split.stats.state_entries == whole.stats.state_entries);
    CHECK(split.stats.duplicates == whole.stats.duplicates);
  }
}

// Saves `op`'s state and loads it into `fresh`, returning LoadState's status.
inline Status Transfer(const Operator& op, Operator& fresh) {
  SnapshotWriter writer;
  op.SaveState(&writer);
  const std::string bytes = writer.Release();
  Result<SnapshotReader> reader = SnapshotReader::Open(bytes);
  if (!reader.ok()) return reader.status();
  RUNNEL_RETURN_IF_ERROR(fresh.LoadState(&*reader));
  return reader->ExpectEnd();
}

// Loads every prefix of a snapshot, and the snapshot with each byte changed, into fresh
// operators: each must fail with a Status or load, never crash (ASan/UBSan builds check).
inline void CheckDamagedSnapshots(const OperatorFactory& make, const std::string& bytes) {
  for (size_t size = 0; size < bytes.size(); ++size) {
    std::unique_ptr<Operator> op = make();
    Result<SnapshotReader> reader = SnapshotReader::Open(std::string_view(bytes).substr(0, size));
    if (!reader.ok()) continue;
    Status status = op->LoadState(&*reader);
    if (status.ok()) status = reader->ExpectEnd();
    INFO("cut at byte ", size, " of ", bytes.size());
    CHECK(!status.ok());
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
    std::unique_ptr<Operator> op = make();
    Result<SnapshotReader> reader = SnapshotReader::Open(damaged);
    if (reader.ok()) (void)op->LoadState(&*reader);
  }
}

}  // namespace runnel::testing
