#include "io/changelog_writer.h"

#include <system_error>
#include <utility>

#include "io/posix_file.h"

namespace runnel {

namespace {

// Large enough that a busy sink writes in few system calls, small enough for a gateway.
constexpr size_t kFlushThreshold = size_t{1} << 20;

}  // namespace

ChangelogWriter::ChangelogWriter(ChangelogFormat format, const Schema& schema, int out_fd,
                                 std::string error_name, std::string header)
    : format_(format),
      num_columns_(schema.size()),
      out_fd_(out_fd),
      error_name_(std::move(error_name)),
      json_(schema, format.diff_column),
      out_(std::move(header)) {
  out_.reserve(kFlushThreshold + 4096);
}

ChangelogWriter::~ChangelogWriter() { StopThread(); }

void ChangelogWriter::Add(const Row& row, Diff diff) {
  if (!filling_) {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) {
      filling_ = std::make_unique<Chunk>();
    } else {
      filling_ = std::move(free_.back());
      free_.pop_back();
    }
  }
  Chunk& chunk = *filling_;
  if (chunk.used == chunk.rows.size()) {
    chunk.rows.emplace_back();
    chunk.diffs.emplace_back();
  }
  chunk.rows[chunk.used] = row;
  chunk.diffs[chunk.used] = diff;
  if (++chunk.used == kChunkRows) Hand(std::move(filling_));
}

void ChangelogWriter::Hand(std::unique_ptr<Chunk> chunk) {
  if (!thread_.joinable() && !thread_failed_) {
    try {
      thread_ = std::thread([this] { Work(); });
    } catch (const std::system_error&) {
      // Still correct, only not overlapped: format on this thread from now on.
      thread_failed_ = true;
    }
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (thread_failed_) {
    Take(*chunk);
    free_.push_back(std::move(chunk));
    return;
  }
  if (queued_.size() >= kMaxQueuedChunks) {
    // The writer is behind: share its work instead of waiting (the order of the output is
    // the order of the queue, whoever formats a chunk).
    lock.unlock();
    chunk->text.clear();
    Format(*chunk, chunk->text);
    chunk->formatted = true;
    lock.lock();
    engine_cv_.wait(lock, [this] { return queued_.size() < kMaxQueuedChunks; });
  }
  queued_.push_back(std::move(chunk));
  lock.unlock();
  writer_cv_.notify_one();
}

void ChangelogWriter::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    writer_cv_.wait(lock, [this] { return stop_ || !queued_.empty(); });
    if (queued_.empty()) return;
    std::unique_ptr<Chunk> chunk = std::move(queued_.front());
    queued_.pop_front();
    busy_ = true;
    lock.unlock();
    engine_cv_.notify_one();  // room in the queue
    Take(*chunk);
    lock.lock();
    free_.push_back(std::move(chunk));
    busy_ = false;
    if (queued_.empty()) engine_cv_.notify_one();  // Flush() may be waiting for this
  }
}

void ChangelogWriter::Format(const Chunk& chunk, std::string& text) const {
  for (size_t r = 0; r < chunk.used; ++r) {
    const Row& row = chunk.rows[r];
    const size_t n = std::min(row.size(), num_columns_);
    if (format_.format == FileFormat::kCsv) {
      for (size_t i = 0; i < num_columns_; ++i) {
        if (i > 0) text.push_back(',');
        if (i < n) AppendCsvField(text, row[i]);
      }
      if (format_.diff_column) {
        text.push_back(',');
        AppendCsvField(text, Value::Int(chunk.diffs[r]));
      }
    } else {
      json_.Append(text, row, chunk.diffs[r]);
    }
    text.push_back('\n');
  }
}

void ChangelogWriter::Take(Chunk& chunk) {
  if (chunk.formatted) {
    out_.append(chunk.text);
  } else {
    Format(chunk, out_);
  }
  chunk.used = 0;
  chunk.formatted = false;
  if (out_.size() >= kFlushThreshold) Write();
}

// After a failed write the data of this run is incomplete anyway: drop further output and
// keep reporting the first error.
void ChangelogWriter::Write() {
  if (error_.ok() && !closed_ && !out_.empty()) {
    if (int err = WriteAll(out_fd_, out_); err != 0) {
      error_ = Status::IoError("cannot write " + error_name_ + ": " + ErrnoText(err));
    }
  }
  out_.clear();
}

Status ChangelogWriter::Flush() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    engine_cv_.wait(lock, [this] { return queued_.empty() && !busy_; });
  }
  // The writer is idle: out_ and error_ are this thread's until the next hand-off, and the
  // step's last, partial chunk is formatted here.
  if (filling_) Take(*filling_);
  Write();
  return error_;
}

Status ChangelogWriter::Close() {
  Status status = Flush();
  StopThread();
  closed_ = true;
  return status;
}

void ChangelogWriter::StopThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  writer_cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

}  // namespace runnel
