// FileSource: reads sensor logs (CSV with a header row, or JSON Lines) from a file, a directory
// or a glob (files in name order) and emits typed records. Malformed lines (wrong column
// count, unparsable value, missing time) are counted and reported with file and line number;
// the first few are logged, the run goes on unless on_error = "fail".
// Modes: static (bounded, watermark +inf when read whole); replay and follow come with the
// streaming issue. Threading: engine thread only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/event_time.h"
#include "runtime/logger.h"
#include "runtime/schema.h"
#include "runtime/source.h"

namespace runnel {

enum class FileFormat { kCsv, kJsonl };
enum class FileSourceMode { kStatic, kReplay, kFollow };
enum class OnError { kSkip, kFail };

struct FieldDecl {
  std::string name;
  ValueType type = ValueType::kString;
};

struct FileSourceSpec {
  std::string name;                // source name, for messages
  std::string path;                // file, directory or glob
  FileFormat format = FileFormat::kCsv;
  FileSourceMode mode = FileSourceMode::kStatic;
  std::vector<FieldDecl> fields;   // output schema order
  // Event time: one field, or several joined with a single space before parsing (a log with
  // separate date and time columns). Empty with time_arrival = true: stamped on receipt.
  std::vector<std::string> time_fields;
  bool time_arrival = false;
  TimeUnit time_unit = TimeUnit::kMillis;
  std::optional<std::string> time_format;  // strftime-style; overrides time_unit
  std::vector<std::string> null_values;    // raw texts read as null (e.g. "-200", "NA")
  Duration max_delay = 0;
  OnError on_error = OnError::kSkip;
  size_t max_logged_errors = 5;  // per source; every error is still counted
};

class FileSource final : public Source {
 public:
  // Resolves the path (no match is an error) and checks the fields against the first file's
  // header (CSV). Does not read records yet.
  static Result<std::unique_ptr<FileSource>> Open(FileSourceSpec spec, Logger* logger);
  ~FileSource() override;

  // The fields in declared order; a single time field becomes an int column holding epoch ms.
  static Schema OutputSchema(const FileSourceSpec& spec);

  Result<PollStatus> Poll(size_t max_records) override;
  Timestamp watermark() const override;
  bool bounded() const override;
  SourceStats stats() const override;

 private:
  class Impl;
  explicit FileSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace runnel
