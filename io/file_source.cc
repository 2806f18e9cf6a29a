#include "io/file_source.h"

#include <algorithm>

#include "io/file_follower.h"
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
    clock_ = spec_.clock != nullptr ? spec_.clock : &system_clock_;
  }

  Status Init() {
    if (spec_.fields.empty()) return Status::Invalid("no fields declared");
    if (!(spec_.speed >= 0)) return Status::Invalid("speed must be zero or more");
    if (spec_.speed > 0 && spec_.mode != FileSourceMode::kReplay) {
      return Status::Invalid("speed only applies to mode replay");
    }
    for (size_t i = 0; i < spec_.fields.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (spec_.fields[i].name == spec_.fields[j].name) {
          return Status::Invalid("field '" + spec_.fields[i].name + "' is declared twice");
        }
      }
      layout_.fields.push_back({spec_.fields[i].name, spec_.fields[i].type});
    }
    layout_.nulls = NullValues(spec_.null_values);
    RUNNEL_ASSIGN_OR_RETURN(layout_.time, EventTimeRule::Create(spec_, clock_));
    const std::vector<std::string> extensions = spec_.format == FileFormat::kCsv
                                                    ? std::vector<std::string>{".csv"}
                                                    : std::vector<std::string>{".jsonl", ".ndjson"};
    if (spec_.mode == FileSourceMode::kFollow) {
      FileFollower::Options options;
      options.path = spec_.path;
      options.format = spec_.format;
      options.extensions = extensions;
      options.layout = &layout_;
      options.clock = clock_;
      options.logger = logger_;
      options.prefix = Prefix();
      RUNNEL_ASSIGN_OR_RETURN(follower_, FileFollower::Open(std::move(options)));
      return Status::Ok();
    }
    RUNNEL_ASSIGN_OR_RETURN(files_, ResolveInputFiles(spec_.path, extensions));
    // Opening the first file now surfaces a header that lacks a declared field at load time.
    return OpenNextFile();
  }

  Result<PollStatus> Poll(size_t max_records, Output& output) {
    const size_t budget = std::max<size_t>(max_records, 1);
    switch (spec_.mode) {
      case FileSourceMode::kStatic:
      case FileSourceMode::kReplay:
        return PollFiles(budget, output);
      case FileSourceMode::kFollow:
        return PollFollower(budget, output);
    }
    return PollStatus::kIdle;
  }

  Timestamp watermark() const {
    if (finished_) return kMaxTime;
    if (spec_.mode == FileSourceMode::kStatic) return kMinTime;
    // SubtractSaturating keeps -inf before the first record.
    return SubtractSaturating(max_time_, spec_.max_delay);
  }
  bool bounded() const { return spec_.mode == FileSourceMode::kStatic; }
  SourceStats stats() const { return stats_; }
  std::string Prefix() const { return "source '" + spec_.name + "'"; }

 private:
  // static and replay: the files in name order, each read to its end.
  Result<PollStatus> PollFiles(size_t budget, Output& output) {
    if (finished_) return PollStatus::kFinished;
    bool emitted = false;
    while (budget > 0) {
      if (!pending_) {
        if (reader_ == nullptr) {
          if (next_file_ == files_.size()) {
            finished_ = true;
            return PollStatus::kFinished;
          }
          RUNNEL_RETURN_IF_ERROR(OpenNextFile().WithContext(Prefix()));
        }
        switch (reader_->Next(&row_, &pending_time_, &reason_)) {
          case RecordFileReader::Outcome::kRecord:
            pending_ = true;
            break;
          case RecordFileReader::Outcome::kRejected:
            --budget;
            RUNNEL_RETURN_IF_ERROR(Reject(current_file_, reader_->line()));
            continue;
          case RecordFileReader::Outcome::kEnd:
            reader_.reset();
            continue;
          case RecordFileReader::Outcome::kNeedMore:  // only growing (follow) streams
            return emitted ? PollStatus::kProgress : PollStatus::kIdle;
          case RecordFileReader::Outcome::kError:
            return reader_->status().WithContext(Prefix());
        }
      }
      // row_ holds the pending record; with a speed it may have to wait for its time.
      if (spec_.speed > 0 && !Due(pending_time_)) {
        return emitted ? PollStatus::kProgress : PollStatus::kIdle;
      }
      pending_ = false;
      Emit(output, pending_time_);
      emitted = true;
      --budget;
    }
    return PollStatus::kProgress;
  }

  Result<PollStatus> PollFollower(size_t budget, Output& output) {
    bool emitted = false;
    while (budget > 0) {
      Timestamp time = 0;
      switch (follower_->Next(&row_, &time, &reason_)) {
        case RecordFileReader::Outcome::kRecord:
          Emit(output, time);
          emitted = true;
          --budget;
          break;
        case RecordFileReader::Outcome::kRejected:
          --budget;
          RUNNEL_RETURN_IF_ERROR(Reject(follower_->file(), follower_->line()));
          break;
        case RecordFileReader::Outcome::kNeedMore:
        case RecordFileReader::Outcome::kEnd:
          return emitted ? PollStatus::kProgress : PollStatus::kIdle;
        case RecordFileReader::Outcome::kError:
          return follower_->status().WithContext(Prefix());
      }
    }
    return PollStatus::kProgress;
  }

  void Emit(Output& output, Timestamp time) {
    ++stats_.records_read;
    max_time_ = std::max(max_time_, time);
    output.Emit(row_, time, 1);
  }

  // Real-time replay: the first record goes at once; a later one when the wall clock has run
  // (its event time - the first event time) / speed since then. Pacing follows the largest
  // event time so far, so a record that arrives out of order goes at once: time never runs
  // backwards.
  bool Due(Timestamp time) {
    const Timestamp now = clock_->NowMillis();
    if (!paced_) {
      paced_ = true;
      pace_first_time_ = time;
      pace_max_time_ = time;
      pace_wall_start_ = now;
      return true;
    }
    const Timestamp target = std::max(pace_max_time_, time);
    const double elapsed = static_cast<double>(now - pace_wall_start_) * spec_.speed;
    if (elapsed < static_cast<double>(target - pace_first_time_)) return false;
    pace_max_time_ = target;
    return true;
  }

  Status OpenNextFile() {
    current_file_ = files_[next_file_++];
    RUNNEL_ASSIGN_OR_RETURN(reader_, OpenRecordFile(current_file_, spec_.format, &layout_,
                                                    /*final_input=*/true));
    return Status::Ok();
  }

  Status Reject(const std::string& file, uint64_t line) {
    ++stats_.records_rejected;
    const bool fail = spec_.on_error == OnError::kFail;
    if (!fail && stats_.records_rejected > spec_.max_logged_errors) return Status::Ok();
    const std::string message =
        Prefix() + ": " + file + ":" + std::to_string(line) + ": " + reason_;
    if (fail) return Status::Invalid(message);
    logger_->Warning(message);
    return Status::Ok();
  }

  FileSourceSpec spec_;
  Logger* logger_;
  std::unique_ptr<StderrLogger> own_logger_;  // when no logger is injected
  SystemClock system_clock_;                  // when no clock is injected
  const Clock* clock_;
  RecordLayout layout_;
  // static and replay
  std::vector<std::string> files_;
  size_t next_file_ = 0;
  std::string current_file_;
  std::unique_ptr<RecordFileReader> reader_;
  bool pending_ = false;  // row_ holds a record read but not emitted yet (pacing)
  Timestamp pending_time_ = 0;
  bool paced_ = false;
  Timestamp pace_first_time_ = 0;
  Timestamp pace_max_time_ = 0;
  Timestamp pace_wall_start_ = 0;
  // follow
  std::unique_ptr<FileFollower> follower_;

  Row row_;  // reused for every record: consumers copy what they keep
  std::string reason_;
  SourceStats stats_;
  Timestamp max_time_ = kMinTime;
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
bool FileSource::bounded() const { return impl_->bounded(); }
SourceStats FileSource::stats() const { return impl_->stats(); }

}  // namespace runnel
