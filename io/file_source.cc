#include "io/file_source.h"

#include <algorithm>

#include "io/file_list.h"
#include "io/record_file_reader.h"
#include "runtime/clock.h"

namespace runnel {

class FileSource::Impl {
 public:
  Impl(FileSourceSpec spec, Logger* logger) : spec_(std::move(spec)), logger_(logger) {
    if (logger_ == nullptr) {
      own_logger_ = std::make_unique<StderrLogger>();
      logger_ = own_logger_.get();
    }
  }

  Status Init() {
    switch (spec_.mode) {
      case FileSourceMode::kStatic:
        break;
      // The streaming issue adds these on top of the same readers (final_input = false).
      case FileSourceMode::kReplay:
        return Status::Invalid("mode 'replay' is not available yet");
      case FileSourceMode::kFollow:
        return Status::Invalid("mode 'follow' is not available yet");
    }
    if (spec_.fields.empty()) return Status::Invalid("no fields declared");
    for (size_t i = 0; i < spec_.fields.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (spec_.fields[i].name == spec_.fields[j].name) {
          return Status::Invalid("field '" + spec_.fields[i].name + "' is declared twice");
        }
      }
      layout_.fields.push_back({spec_.fields[i].name, spec_.fields[i].type});
    }
    layout_.nulls = NullValues(spec_.null_values);
    RUNNEL_ASSIGN_OR_RETURN(layout_.time, EventTimeRule::Create(spec_, &clock_));
    const std::vector<std::string> extensions = spec_.format == FileFormat::kCsv
                                                    ? std::vector<std::string>{".csv"}
                                                    : std::vector<std::string>{".jsonl", ".ndjson"};
    RUNNEL_ASSIGN_OR_RETURN(files_, ResolveInputFiles(spec_.path, extensions));
    // Opening the first file now surfaces a header that lacks a declared field at load time.
    return OpenNextFile();
  }

  Result<PollStatus> Poll(size_t max_records, Output& output) {
    if (finished_) return PollStatus::kFinished;
    size_t budget = std::max<size_t>(max_records, 1);
    while (budget > 0) {
      if (reader_ == nullptr) {
        if (next_file_ == files_.size()) {
          finished_ = true;
          return PollStatus::kFinished;
        }
        RUNNEL_RETURN_IF_ERROR(OpenNextFile().WithContext(Prefix()));
      }
      Timestamp time = 0;
      switch (reader_->Next(&row_, &time, &reason_)) {
        case RecordFileReader::Outcome::kRecord:
          ++stats_.records_read;
          --budget;
          output.Emit(row_, time, 1);
          break;
        case RecordFileReader::Outcome::kRejected:
          --budget;
          RUNNEL_RETURN_IF_ERROR(Reject());
          break;
        case RecordFileReader::Outcome::kEnd:
          reader_.reset();
          break;
        case RecordFileReader::Outcome::kNeedMore:
          return PollStatus::kIdle;
        case RecordFileReader::Outcome::kError:
          return reader_->status().WithContext(Prefix());
      }
    }
    return PollStatus::kProgress;
  }

  Timestamp watermark() const { return finished_ ? kMaxTime : kMinTime; }
  SourceStats stats() const { return stats_; }
  std::string Prefix() const { return "source '" + spec_.name + "'"; }

 private:
  Status OpenNextFile() {
    current_file_ = files_[next_file_++];
    RUNNEL_ASSIGN_OR_RETURN(reader_, OpenRecordFile(current_file_, spec_.format, &layout_,
                                                    /*final_input=*/true));
    return Status::Ok();
  }

  Status Reject() {
    ++stats_.records_rejected;
    const bool fail = spec_.on_error == OnError::kFail;
    if (!fail && stats_.records_rejected > spec_.max_logged_errors) return Status::Ok();
    const std::string message =
        Prefix() + ": " + current_file_ + ":" + std::to_string(reader_->line()) + ": " + reason_;
    if (fail) return Status::Invalid(message);
    logger_->Warning(message);
    return Status::Ok();
  }

  FileSourceSpec spec_;
  Logger* logger_;
  std::unique_ptr<StderrLogger> own_logger_;  // when no logger is injected
  SystemClock clock_;
  RecordLayout layout_;
  std::vector<std::string> files_;
  size_t next_file_ = 0;
  std::string current_file_;
  std::unique_ptr<RecordFileReader> reader_;
  Row row_;  // reused for every record: consumers copy what they keep
  std::string reason_;
  SourceStats stats_;
  bool finished_ = false;
};

Result<std::unique_ptr<FileSource>> FileSource::Open(FileSourceSpec spec, Logger* logger) {
  auto impl = std::make_unique<Impl>(std::move(spec), logger);
  Status status = impl->Init();
  if (!status.ok()) return status.WithContext(impl->Prefix());
  return std::unique_ptr<FileSource>(new FileSource(std::move(impl)));
}

FileSource::FileSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FileSource::~FileSource() = default;

Schema FileSource::OutputSchema(const FileSourceSpec& spec) {
  std::vector<Column> columns;
  for (const FieldDecl& field : spec.fields) {
    const bool single_time =
        !spec.time_arrival && spec.time_fields.size() == 1 && spec.time_fields[0] == field.name;
    columns.push_back({field.name, single_time ? ValueType::kInt : field.type});
  }
  return Schema(std::move(columns));
}

Result<PollStatus> FileSource::Poll(size_t max_records) {
  return impl_->Poll(max_records, output());
}

Timestamp FileSource::watermark() const { return impl_->watermark(); }
bool FileSource::bounded() const { return true; }
SourceStats FileSource::stats() const { return impl_->stats(); }

}  // namespace runnel
