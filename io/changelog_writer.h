// ChangelogWriter: formats a view's changes as CSV or JSON Lines (FileSink's encoding) and
// writes them to a file descriptor. The changes of a large step are formatted and written on
// a writer thread while the engine thread goes on producing the step; a small step is
// formatted on the engine thread, so it costs no thread hand-off.
// Threading: Add(), Flush() and Close() on one thread (the engine's); the writer thread is
// internal and is joined by Close() or the destructor.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "decode/record_encoder.h"
#include "io/file_source.h"
#include "runtime/schema.h"
#include "runtime/status.h"
#include "runtime/value.h"

namespace runnel {

struct ChangelogFormat {
  FileFormat format = FileFormat::kCsv;
  bool diff_column = true;  // false: plain records without `diff`
};

class ChangelogWriter {
 public:
  // Changes handed to the writer thread at once; at most kMaxQueuedChunks wait for it, then
  // Add() waits (backpressure on the engine thread, memory bounded).
  static constexpr size_t kChunkRows = 4096;
  static constexpr size_t kMaxQueuedChunks = 3;

  // `out_fd` stays owned by the caller and must outlive the writer (or its Close()).
  // `error_name` names the output in write errors ("'out.csv'", "standard output").
  // `header`: bytes written before the first change (a CSV header, or nothing).
  ChangelogWriter(ChangelogFormat format, const Schema& schema, int out_fd, std::string error_name,
                  std::string header);
  ~ChangelogWriter();
  ChangelogWriter(const ChangelogWriter&) = delete;
  ChangelogWriter& operator=(const ChangelogWriter&) = delete;

  void Add(const Row& row, Diff diff);
  // Returns once every change added so far is written; reports the first write error (after
  // which further changes are dropped).
  Status Flush();
  // Flush, then stops the writer thread; nothing is written after it (the caller may close
  // the descriptor). No Add() after it.
  Status Close();

 private:
  // Changes copied from the engine; the rows keep their capacity when a chunk is reused, so
  // copying a change into a chunk allocates nothing in the steady state.
  struct Chunk {
    std::vector<Row> rows;
    std::vector<Diff> diffs;
    size_t used = 0;
    // Set when the engine thread formatted the chunk itself (the writer was behind).
    bool formatted = false;
    std::string text;
  };

  // Queues a full chunk for the writer thread (started on first use). When the queue is full
  // the calling thread formats the chunk itself rather than wait; when no writer thread can
  // be started it formats and writes it.
  void Hand(std::unique_ptr<Chunk> chunk);
  void Work();
  // Appends the chunk's lines to `text`.
  void Format(const Chunk& chunk, std::string& text) const;
  // Appends a chunk's lines to out_ and writes out_ once it is large; called by whichever
  // thread owns out_ and error_ at the time.
  void Take(Chunk& chunk);
  void Write();
  void StopThread();

  const ChangelogFormat format_;
  const size_t num_columns_;
  const int out_fd_;
  const std::string error_name_;
  const JsonChangeEncoder json_;

  std::unique_ptr<Chunk> filling_;  // engine thread only

  // Owned by the writer thread while it is busy or has queued chunks, else by the engine.
  std::string out_;
  Status error_;

  std::mutex mu_;
  std::condition_variable writer_cv_;  // the writer waits for a chunk or stop
  std::condition_variable engine_cv_;  // the engine waits for room or for the writer to idle
  std::deque<std::unique_ptr<Chunk>> queued_;
  std::vector<std::unique_ptr<Chunk>> free_;
  bool busy_ = false;  // the writer is formatting a chunk it took from queued_
  bool stop_ = false;
  bool thread_failed_ = false;  // engine thread only: no writer thread could be started
  bool closed_ = false;         // set by Close() once the writer thread is joined
  std::thread thread_;
};

}  // namespace runnel
