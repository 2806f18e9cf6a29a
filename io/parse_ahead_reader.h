// ParseAheadReader: parses the files of a static source on reader threads while the engine
// thread emits what is parsed and runs the operators. The chunks of a FileChunker are parsed
// in parallel, one thread per chunk, into ParsedBatches that the engine thread takes in input
// order. Memory is bounded: at most threads + 1 chunks are in flight, each holding at most
// kMaxQueuedBatches parsed batches that the engine thread has not taken yet.
// Threading: Next() and Release() on one thread (the engine's); the destructor, on that
// thread too, stops the reader threads and joins them.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "io/file_chunker.h"
#include "io/parsed_batch.h"
#include "io/record_file_reader.h"
#include "runtime/status.h"

namespace runnel {

class ParseAheadReader {
 public:
  static constexpr size_t kMaxQueuedBatches = 8;

  struct Options {
    FileChunker::Options chunks;
    size_t threads = 1;
    size_t batch_records = 2048;
  };

  // Starts the reader threads (IoError when none can be started). options.chunks.layout is
  // copied for each thread (its time rule keeps scratch space).
  static Result<std::unique_ptr<ParseAheadReader>> Start(Options options);
  ~ParseAheadReader();
  ParseAheadReader(const ParseAheadReader&) = delete;
  ParseAheadReader& operator=(const ParseAheadReader&) = delete;

  // The next batch in input order, waiting for it to be parsed; the last one has end kInput.
  // The batch stays valid until it is given back with Release().
  ParsedBatch* Next();
  void Release(ParsedBatch* batch);

 private:
  // A chunk being parsed, and its batches not taken yet.
  struct Slot {
    std::deque<ParsedBatch*> ready;
    bool done = false;  // its last batch is in `ready` (or was taken)
  };

  ParseAheadReader(Options options, RecordLayout layout);
  void Work();
  // Plans the next chunk and gives it a slot, in input order; false: no more chunks, or
  // stopping.
  bool TakeChunk(FileChunk* chunk, Slot** slot);
  void ParseChunk(FileChunk chunk, Slot* slot, RecordLayout* layout);
  ParsedBatch* NewBatch();
  // Queues `batch` on `slot`, waiting while the slot is full; false: stopping.
  bool Push(Slot* slot, ParsedBatch* batch, bool last);

  const size_t batch_records_;
  const size_t max_slots_;
  const FileFormat format_;
  const RecordLayout layout_;  // copied by each reader thread

  std::mutex plan_mu_;  // taken before mu_; serialises the chunker
  FileChunker chunker_;

  std::mutex mu_;
  std::condition_variable consumer_cv_;  // the engine thread waits for a batch
  std::condition_variable worker_cv_;    // reader threads wait for room
  std::deque<Slot> slots_;               // chunks in input order; front: being taken
  bool chunks_done_ = false;             // the chunker has no more chunks
  bool stop_ = false;
  bool consumer_waiting_ = false;
  std::vector<std::unique_ptr<ParsedBatch>> batches_;  // every batch made
  std::vector<ParsedBatch*> free_;
  ParsedBatch input_end_;

  std::vector<std::thread> threads_;
};

}  // namespace runnel
