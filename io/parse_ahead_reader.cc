#include "io/parse_ahead_reader.h"

#include <sys/resource.h>
#include <unistd.h>

#include <system_error>
#include <utility>

namespace runnel {

namespace {

// Added to the reader threads' nice value (Linux: per thread).
constexpr int kNiceness = 5;

FileChunker::Options WithLayout(FileChunker::Options options, const RecordLayout* layout) {
  options.layout = layout;
  return options;
}

}  // namespace

Result<std::unique_ptr<ParseAheadReader>> ParseAheadReader::Start(Options options) {
  RecordLayout layout = *options.chunks.layout;
  std::unique_ptr<ParseAheadReader> reader(
      new ParseAheadReader(std::move(options), std::move(layout)));
  const size_t threads = reader->max_slots_ - 1;
  std::string failure;
  for (size_t i = 0; i < threads; ++i) {
    try {
      reader->threads_.emplace_back([r = reader.get()] { r->Work(); });
    } catch (const std::system_error& e) {
      failure = e.what();
      break;
    }
  }
  if (reader->threads_.empty()) {
    return Status::IoError("cannot start a reader thread: " + failure +
                           " (set [runtime] reader_threads = 0 to parse on the engine thread)");
  }
  return reader;
}

ParseAheadReader::ParseAheadReader(Options options, RecordLayout layout)
    : batch_records_(std::max<size_t>(options.batch_records, 1)),
      max_slots_(std::max<size_t>(options.threads, 1) + 1),
      format_(options.chunks.format),
      layout_(std::move(layout)),
      chunker_(WithLayout(std::move(options.chunks), &layout_)) {
  input_end_.end = ParsedBatch::End::kInput;
}

ParseAheadReader::~ParseAheadReader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  worker_cv_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

ParsedBatch* ParseAheadReader::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (!slots_.empty()) {
      Slot& head = slots_.front();
      if (!head.ready.empty()) {
        ParsedBatch* batch = head.ready.front();
        head.ready.pop_front();
        if (head.ready.empty() && head.done) slots_.pop_front();
        lock.unlock();
        worker_cv_.notify_all();  // room in the slot, or for a new chunk
        return batch;
      }
    } else if (chunks_done_) {
      return &input_end_;
    }
    consumer_waiting_ = true;
    consumer_cv_.wait(lock);
    consumer_waiting_ = false;
  }
}

void ParseAheadReader::Release(ParsedBatch* batch) {
  if (batch == &input_end_) return;
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(batch);
}

void ParseAheadReader::Work() {
  // Below the engine thread: when the cores are short, the engine thread runs its operators
  // first and the reader threads parse with what is left (their queues hold the lead). Only
  // advice: a failure changes nothing else.
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kNiceness);
  // Each thread parses with its own copy: the time rule keeps scratch space per record.
  RecordLayout layout = layout_;
  FileChunk chunk;
  Slot* slot = nullptr;
  while (TakeChunk(&chunk, &slot)) ParseChunk(std::move(chunk), slot, &layout);
}

bool ParseAheadReader::TakeChunk(FileChunk* chunk, Slot** slot) {
  std::lock_guard<std::mutex> plan_lock(plan_mu_);
  {
    // Memory stays bounded: no chunk starts more than max_slots_ ahead of the engine thread.
    std::unique_lock<std::mutex> lock(mu_);
    worker_cv_.wait(lock, [this] { return stop_ || chunks_done_ || slots_.size() < max_slots_; });
    if (stop_ || chunks_done_) return false;
  }
  std::optional<FileChunk> next = chunker_.Next();  // file I/O: outside mu_
  std::lock_guard<std::mutex> lock(mu_);
  if (!next) {
    chunks_done_ = true;
    if (consumer_waiting_) consumer_cv_.notify_one();
    return false;
  }
  *chunk = std::move(*next);
  slots_.emplace_back();
  *slot = &slots_.back();
  return true;
}

ParsedBatch* ParseAheadReader::NewBatch() {
  ParsedBatch* batch = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!free_.empty()) {
      batch = free_.back();
      free_.pop_back();
    } else {
      batches_.push_back(std::make_unique<ParsedBatch>());
      batch = batches_.back().get();
    }
  }
  batch->Clear();
  return batch;
}

bool ParseAheadReader::Push(Slot* slot, ParsedBatch* batch, bool last) {
  std::unique_lock<std::mutex> lock(mu_);
  worker_cv_.wait(lock, [&] { return stop_ || slot->ready.size() < kMaxQueuedBatches; });
  if (stop_) return false;
  slot->ready.push_back(batch);
  slot->done = last;
  // Only the front slot's batches can be taken: waking the engine thread for another slot's
  // would only cost a wake-up.
  if (consumer_waiting_ && slot == &slots_.front()) consumer_cv_.notify_one();
  return true;
}

void ParseAheadReader::ParseChunk(FileChunk chunk, Slot* slot, RecordLayout* layout) {
  ParsedBatch* batch = NewBatch();
  batch->opens_file = chunk.opens_file;
  batch->file = chunk.file;
  batch->position = chunk.position;
  if (!chunk.error.ok()) {
    batch->end = ParsedBatch::End::kError;
    batch->status = chunk.error;
    Push(slot, batch, true);
    return;
  }
  // Lines count from the chunk's start; the engine thread knows where that is in the file.
  auto owned = std::make_unique<ResumeStream>(std::move(chunk.fd), chunk.path,
                                              std::move(chunk.prefix), chunk.start,
                                              /*line_base=*/1, chunk.end);
  ResumeStream* stream = owned.get();
  Result<std::unique_ptr<RecordFileReader>> opened =
      OpenRecordStream(std::move(owned), chunk.path, format_, layout, /*final_input=*/true);
  if (!opened.ok()) {
    batch->end = ParsedBatch::End::kError;
    batch->status = opened.status();
    Push(slot, batch, true);
    return;
  }
  RecordFileReader& reader = **opened;
  std::string reason;
  Timestamp time = 0;
  while (true) {
    if (batch->records.size() == batch_records_) {
      if (!Push(slot, batch, false)) return;
      batch = NewBatch();
    }
    const size_t i = batch->records.size();
    if (batch->rows.size() == i) batch->rows.emplace_back();
    switch (reader.Next(&batch->rows[i], &time, &reason)) {
      case RecordFileReader::Outcome::kRecord:
        batch->records.push_back(
            {time, stream->FileOffset(reader.offset()), stream->FileLine(reader.next_line()), -1});
        continue;
      case RecordFileReader::Outcome::kRejected:
        batch->records.push_back({0, stream->FileOffset(reader.offset()),
                                  stream->FileLine(reader.next_line()),
                                  static_cast<int32_t>(batch->rejects.size())});
        batch->rejects.push_back({stream->FileLine(reader.line()), reason});
        continue;
      case RecordFileReader::Outcome::kEnd:
      case RecordFileReader::Outcome::kNeedMore:  // not with a final input
        batch->end = ParsedBatch::End::kChunk;
        batch->newlines = stream->newlines();
        break;
      case RecordFileReader::Outcome::kError:
        batch->end = ParsedBatch::End::kError;
        batch->status = reader.status();
        break;
    }
    Push(slot, batch, true);
    return;
  }
}

}  // namespace runnel
