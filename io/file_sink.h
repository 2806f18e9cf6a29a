// FileSink: writes a view's changelog to a file or stdout: the view's columns followed by
// `diff` (1 insert, -1 retraction). CSV has a header row, null is an empty field, floats print
// in shortest round-trip form, times as integer epoch ms. JSONL writes one object per change.
// Threading: engine thread only (a large step is formatted and written on an internal writer
// thread, see ChangelogWriter).
#pragma once

#include <memory>
#include <string>

#include "io/file_source.h"
#include "runtime/operator.h"
#include "runtime/schema.h"

namespace runnel {

struct FileSinkSpec {
  std::string path;  // "-" writes to stdout
  FileFormat format = FileFormat::kCsv;
  // Keep what the file holds and write after it (a restarted run continues its changelog);
  // a CSV header is written only into an empty file.
  bool append = false;
  // false: plain records without the diff column (`runnel export`).
  bool diff_column = true;
};

class FileSink final : public Operator {
 public:
  // Creates parent directories and truncates the file (unless spec.append).
  static Result<std::unique_ptr<FileSink>> Create(FileSinkSpec spec, const Schema& schema);
  ~FileSink() override;

  void OnChange(int port, const Row& row, Timestamp time, Diff diff) override;
  // Flushes what the step wrote; reports the first write error (e.g. a full disk).
  Status Advance(std::span<const Timestamp> input_watermarks, Timestamp* output_watermark) override;
  Status Close() override;
  OperatorStats stats() const override;

 private:
  class Impl;
  explicit FileSink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace runnel
