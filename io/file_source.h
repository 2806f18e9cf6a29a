// FileSource: reads sensor logs (CSV with a header row, or JSON Lines) from a file, a directory
// or a glob (files in name order) and emits typed records. Malformed lines (wrong column
// count, unparsable value, missing time) are counted and reported with file and line number;
// the first few are logged, the run goes on unless on_error = "fail".
// Modes (SPEC §2): static (bounded: read whole in the first step, then watermark +inf);
// replay (the files' line order is the arrival order: unbounded, polled batch by batch,
// watermark = max event time seen - max_delay, finished with +inf at the end of the input,
// optionally paced in real time); follow (`tail -F`: never finishes; see FileFollower).
// Threading: engine thread only; a static source parses on reader threads of its own
// (ParseAheadReader), which its destructor stops and joins.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/clock.h"
#include "runtime/event_time.h"
#include "runtime/logger.h"
#include "runtime/schema.h"
#include "runtime/source.h"

namespace runnel {

enum class FileFormat { kCsv, kJsonl };
enum class FileSourceMode { kStatic, kReplay, kFollow };
enum class OnError { kSkip, kFail };

// Reader threads of a static source when the pipeline sets none: one per core, at most 4
// (on a 2-core gateway, two parse while the engine thread runs the operators).
size_t DefaultReaderThreads();

struct FieldDecl {
  std::string name;
  ValueType type = ValueType::kString;
};

struct FileSourceSpec {
  std::string name;  // source name, for messages
  std::string path;  // file, directory or glob
  FileFormat format = FileFormat::kCsv;
  FileSourceMode mode = FileSourceMode::kStatic;
  std::vector<FieldDecl> fields;  // output schema order
  // Event time: one field, or several joined with a single space before parsing (a log with
  // separate date and time columns). Empty with time_arrival = true: stamped on receipt.
  std::vector<std::string> time_fields;
  bool time_arrival = false;
  TimeUnit time_unit = TimeUnit::kMillis;
  std::optional<std::string> time_format;  // strftime-style; overrides time_unit
  std::vector<std::string> null_values;    // raw texts read as null (e.g. "-200", "NA")
  Duration max_delay = 0;
  // replay: 0 = as fast as possible; s > 0 = s times real time, paced on event times.
  double speed = 0;
  // Wall clock for replay pacing, follow polling and arrival times; null: the system clock.
  // Must outlive the source.
  const Clock* clock = nullptr;
  OnError on_error = OnError::kSkip;
  size_t max_logged_errors = 5;  // per source; every error is still counted
  // static: threads that parse the files ahead of the engine thread, which then only emits
  // (docs/pipeline.md, "Reader threads"); 0: the engine thread parses, as replay and follow
  // always do, and so do sources with arrival times (stamped on the engine thread).
  size_t reader_threads = DefaultReaderThreads();
  // static with reader threads: files are cut into chunks of about chunk_bytes, parsed into
  // batches of batch_records records (tests make both small).
  size_t chunk_bytes = 256 * 1024;
  size_t batch_records = 2048;
};

class FileSource final : public Source {
 public:
  // Resolves the path (no match is an error) and checks the fields against the first file's
  // header (CSV). Does not read records yet.
  static Result<std::unique_ptr<FileSource>> Open(FileSourceSpec spec, Logger* logger);
  ~FileSource() override;

  // The fields in declared order; a single time field becomes an int column holding epoch ms.
  static Schema OutputSchema(const FileSourceSpec& spec);

  // static: reads up to max_records (the scheduler drains it in the first step).
  // replay: up to max_records in arrival order; kIdle while speed > 0 holds the next record
  // back; kFinished (watermark +inf) at the end of the input.
  // follow: up to max_records of what is there; kIdle when nothing is new; never kFinished.
  Result<PollStatus> Poll(size_t max_records) override;
  // static: -inf, then +inf once read whole. replay and follow: the largest event time
  // emitted so far minus max_delay (-inf before the first record); replay: +inf at the end.
  Timestamp watermark() const override;
  bool bounded() const override;
  SourceStats stats() const override;

  // Restart positions (SPEC §6; docs/pipeline.md, "Restart positions"). static and replay:
  // the file being read, the offset and line just past the last record emitted, the counts,
  // the largest event time. A restored source reads on from there: a file that grew is read
  // on, files sorting after it are new; one now shorter than the offset is an error (the
  // state counts records that are gone). follow: every followed file by device and inode
  // (see FileFollower::RestorePosition). Corrupt bytes: Corruption naming the source.
  std::string SavePosition() const override;
  // Before the first Poll() only.
  Status RestorePosition(std::string_view position) override;

 private:
  class Impl;
  explicit FileSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace runnel
