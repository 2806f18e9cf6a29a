#include "io/file_source.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "io/file_follower.h"
#include "io/file_list.h"
#include "io/file_source_position.h"
#include "io/parse_ahead_reader.h"
#include "io/posix_file.h"
#include "io/record_file_reader.h"
#include "io/resume_stream.h"
#include "runtime/clock.h"

namespace runnel {

size_t DefaultReaderThreads() {
  return std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
}

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
    return OpenFile(0, FilePosition{});
  }

  Result<PollStatus> Poll(size_t max_records, Output& output) {
    polled_ = true;
    const size_t budget = std::max<size_t>(max_records, 1);
    switch (spec_.mode) {
      case FileSourceMode::kStatic:
        if (spec_.reader_threads > 0 && !spec_.time_arrival) return PollAhead(budget, output);
        return PollFiles(budget, output);
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

  std::string SavePosition() const {
    FileSourcePosition position;
    position.mode = spec_.mode;
    position.records_read = stats_.records_read;
    position.records_rejected = stats_.records_rejected;
    position.max_time = max_time_;
    position.finished = finished_;
    if (spec_.mode == FileSourceMode::kFollow) {
      follower_->SavePosition(&position);
    } else {
      position.current = current_;
      position.files_before = files_before_;
    }
    return EncodeFileSourcePosition(position);
  }

  Status RestorePosition(std::string_view bytes) {
    if (polled_) return Status::Invalid("a position can only be restored before the first poll");
    RUNNEL_ASSIGN_OR_RETURN(FileSourcePosition position, DecodeFileSourcePosition(bytes));
    const bool follow = spec_.mode == FileSourceMode::kFollow;
    if (follow != (position.mode == FileSourceMode::kFollow)) {
      return Status::Invalid(std::string("the saved position is of a ") +
                             (follow ? "static or replay" : "follow") +
                             " source, this one is not: restore the old mode, or start over "
                             "with --reset-state");
    }
    stats_.records_read = position.records_read;
    stats_.records_rejected = position.records_rejected;
    max_time_ = position.max_time;
    if (follow) return follower_->RestorePosition(position);
    return RestoreFilePosition(position);
  }

 private:
  // static and replay: files sorting before the saved one were read, it is read on from its
  // offset, the ones after it are read whole.
  Status RestoreFilePosition(const FileSourcePosition& position) {
    const FilePosition& saved = position.current;
    if (position.finished) {
      logger_->Info(Prefix() + ": the last run read the input whole; reading what was added since");
    }
    const size_t index = static_cast<size_t>(
        std::lower_bound(files_.begin(), files_.end(), saved.path) - files_.begin());
    if (index > position.files_before) {
      // Name order is the arrival order of a file source: these would have come earlier.
      logger_->Warning(Prefix() + ": " + std::to_string(index - position.files_before) +
                       " new file(s) sort before '" + saved.path +
                       "', which was being read when the last run stopped; they are not read "
                       "(name new files so that they sort last)");
    }
    reader_.reset();
    stream_ = nullptr;
    if (index < files_.size() && files_[index] == saved.path) return OpenFile(index, saved);
    logger_->Warning(Prefix() + ": '" + saved.path +
                     "', which was being read when the last run stopped, is gone; reading the "
                     "files after it");
    next_file_ = index;
    files_before_ = index;
    current_ = saved;
    return Status::Ok();
  }

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
          RUNNEL_RETURN_IF_ERROR(OpenFile(next_file_, FilePosition{}).WithContext(Prefix()));
        }
        switch (reader_->Next(&row_, &pending_time_, &reason_)) {
          case RecordFileReader::Outcome::kRecord:
            pending_ = true;
            pending_offset_ = stream_->FileOffset(reader_->offset());
            pending_line_ = stream_->FileLine(reader_->next_line());
            break;
          case RecordFileReader::Outcome::kRejected:
            --budget;
            current_.offset = stream_->FileOffset(reader_->offset());
            current_.line = stream_->FileLine(reader_->next_line());
            RUNNEL_RETURN_IF_ERROR(
                Reject(current_.path, stream_->FileLine(reader_->line()), reason_));
            continue;
          case RecordFileReader::Outcome::kEnd:
            reader_.reset();
            stream_ = nullptr;
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
      current_.offset = pending_offset_;
      current_.line = pending_line_;
      Emit(output, row_, pending_time_);
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
          Emit(output, row_, time);
          emitted = true;
          --budget;
          break;
        case RecordFileReader::Outcome::kRejected:
          --budget;
          RUNNEL_RETURN_IF_ERROR(Reject(follower_->file(), follower_->line(), reason_));
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

  // static with reader threads: emits what they parsed, in input order, keeping the same
  // positions, counts and messages as PollFiles.
  Result<PollStatus> PollAhead(size_t budget, Output& output) {
    if (finished_) return PollStatus::kFinished;
    if (ahead_ == nullptr) RUNNEL_RETURN_IF_ERROR(StartAhead().WithContext(Prefix()));
    while (budget > 0) {
      if (batch_ == nullptr) {
        batch_ = ahead_->Next();
        batch_cursor_ = 0;
        if (batch_->opens_file) {
          next_file_ = batch_->file + 1;
          files_before_ = batch_->file;
          current_ = batch_->position;
          chunk_line_ = current_.line;
        }
      }
      if (batch_cursor_ < batch_->records.size()) {
        const size_t i = batch_cursor_++;
        const ParsedRecord& record = batch_->records[i];
        --budget;
        current_.offset = record.end_offset;
        current_.line = chunk_line_ + record.next_line - 1;
        if (record.reject < 0) {
          Emit(output, batch_->rows[i], record.time);
        } else {
          const ParsedReject& reject = batch_->rejects[static_cast<size_t>(record.reject)];
          RUNNEL_RETURN_IF_ERROR(
              Reject(current_.path, chunk_line_ + reject.line - 1, reject.reason));
        }
        continue;
      }
      switch (batch_->end) {
        case ParsedBatch::End::kNone:
          break;
        case ParsedBatch::End::kChunk:
          chunk_line_ += batch_->newlines;  // where the file's next chunk starts
          break;
        case ParsedBatch::End::kError:
          return batch_->status.WithContext(Prefix());
        case ParsedBatch::End::kInput:
          finished_ = true;
          return PollStatus::kFinished;
      }
      ahead_->Release(batch_);
      batch_ = nullptr;
    }
    return PollStatus::kProgress;
  }

  // Hands the files, from where this source stands, to reader threads; the file open now
  // (opened at load time or by a restore) goes on from its offset.
  Status StartAhead() {
    ParseAheadReader::Options options;
    options.threads = spec_.reader_threads;
    options.batch_records = spec_.batch_records;
    FileChunker::Options& chunks = options.chunks;
    chunks.files = files_;
    chunks.format = spec_.format;
    chunks.layout = &layout_;
    chunks.chunk_bytes = spec_.chunk_bytes;
    chunks.first_file = next_file_;
    if (reader_ != nullptr) {
      chunks.first_file = files_before_;
      RUNNEL_ASSIGN_OR_RETURN(chunks.first_fd, DuplicateFd(stream_->fd(), current_.path));
      chunks.first_position = current_;
      reader_.reset();
      stream_ = nullptr;
    }
    RUNNEL_ASSIGN_OR_RETURN(ahead_, ParseAheadReader::Start(std::move(options)));
    return Status::Ok();
  }

  void Emit(Output& output, const Row& row, Timestamp time) {
    ++stats_.records_read;
    max_time_ = std::max(max_time_, time);
    output.Emit(row, time, 1);
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

  // Opens files_[index] at `at` (its start when at.offset is 0). A file now shorter than
  // at.offset lost records this source already emitted: an error, as the saved state no longer
  // matches the input.
  Status OpenFile(size_t index, const FilePosition& at) {
    const std::string& path = files_[index];
    next_file_ = index + 1;
    files_before_ = index;
    RUNNEL_ASSIGN_OR_RETURN(InputFile file, OpenInputFile(path));
    UniqueFd& fd = file.fd;
    std::string header;
    if (at.offset > 0) {
      if (file.size < at.offset) {
        return Status::Invalid("'" + path + "' has " + std::to_string(file.size) +
                               " bytes, fewer than the " + std::to_string(at.offset) +
                               " already read: it was truncated or replaced since the last "
                               "run; restore it, or start over with --reset-state");
      }
      if (file.device != at.device || file.inode != at.inode) {
        logger_->Warning(Prefix() + ": '" + path +
                         "' is another file than in the last run (its inode changed); "
                         "taking its first " +
                         std::to_string(at.offset) + " bytes as read already");
      }
      if (at.header_size > 0) {
        RUNNEL_ASSIGN_OR_RETURN(header, ReadFileHead(fd.get(), path, at.header_size));
      }
    }
    // Sequential scans of large logs: ask for aggressive read-ahead (only advice).
    (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    current_ = at;
    current_.path = path;
    current_.device = file.device;
    current_.inode = file.inode;
    auto stream =
        std::make_unique<ResumeStream>(std::move(fd), path, std::move(header), at.offset, at.line);
    stream_ = stream.get();
    RUNNEL_ASSIGN_OR_RETURN(reader_, OpenRecordStream(std::move(stream), path, spec_.format,
                                                      &layout_, /*final_input=*/true));
    if (at.offset == 0) current_.header_size = reader_->header_end();
    return Status::Ok();
  }

  Status Reject(const std::string& file, uint64_t line, const std::string& reason) {
    ++stats_.records_rejected;
    const bool fail = spec_.on_error == OnError::kFail;
    if (!fail && stats_.records_rejected > spec_.max_logged_errors) return Status::Ok();
    const std::string message = Prefix() + ": " + file + ":" + std::to_string(line) + ": " + reason;
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
  size_t files_before_ = 0;  // files sorting before current_
  FilePosition current_;     // the file opened last, and where its emitted records end
  std::unique_ptr<RecordFileReader> reader_;
  ResumeStream* stream_ = nullptr;  // owned by reader_
  bool pending_ = false;            // row_ holds a record read but not emitted yet (pacing)
  Timestamp pending_time_ = 0;
  uint64_t pending_offset_ = 0;  // where that record ends in its file
  uint64_t pending_line_ = 0;
  bool paced_ = false;
  Timestamp pace_first_time_ = 0;
  Timestamp pace_max_time_ = 0;
  Timestamp pace_wall_start_ = 0;
  // static with reader threads (declared after the layout they copy: stopped first)
  std::unique_ptr<ParseAheadReader> ahead_;
  ParsedBatch* batch_ = nullptr;  // being emitted; owned by ahead_
  size_t batch_cursor_ = 0;       // its next record
  uint64_t chunk_line_ = 1;       // file line where its chunk starts
  // follow
  std::unique_ptr<FileFollower> follower_;

  Row row_;  // reused for every record: consumers copy what they keep
  std::string reason_;
  SourceStats stats_;
  Timestamp max_time_ = kMinTime;
  bool finished_ = false;
  bool polled_ = false;
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
std::string FileSource::SavePosition() const { return impl_->SavePosition(); }

Status FileSource::RestorePosition(std::string_view position) {
  return impl_->RestorePosition(position).WithContext(impl_->Prefix());
}

}  // namespace runnel
