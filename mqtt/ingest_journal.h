// IngestJournal: the append-only file <state_dir>/mqtt/<source>.journal where an MQTT source
// keeps every message before Paho acknowledges it to the broker (see docs/mqtt.md). Records are
// framed [length, CRC32, arrival, topic, payload] and copied into a shared memory mapping of
// space reserved ahead (the kernel keeps the pages when the process is killed); a torn or
// corrupt tail (kill -9 mid-copy, a bad disk block) is detected and cut off on open, with the
// unused reserve. Positions are logical byte offsets that stay valid when Compact() drops
// consumed records. Threading: Append() may be called from any thread (serialised inside);
// Read(), Compact() and the accessors from one engine thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "runtime/status.h"
#include "runtime/time.h"

namespace runnel {

struct JournalOptions {
  // fdatasync after every append: records survive power loss, not only a killed process.
  bool sync = false;
  // Compact() rewrites the file once this many consumed bytes precede the kept records.
  uint64_t rotate_bytes = 64ull << 20;
  // Compact() empties a fully consumed file once it holds this many bytes. Emptying creates a
  // file and renames it over the old one, too costly for every step of a busy stream.
  uint64_t empty_bytes = 1ull << 20;
};

struct JournalRecord {
  Timestamp arrival = 0;
  std::string topic;
  std::string payload;
};

class IngestJournal {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // Opens or creates `path` (its directory must exist). A torn or corrupt tail is truncated
  // (see repaired_bytes()); a file that is not a journal is refused with Corruption.
  static Result<std::unique_ptr<IngestJournal>> Open(const std::string& path,
                                                     JournalOptions options);

  IngestJournal(PrivateTag, std::string path, JournalOptions options, int fd, char* map,
                uint64_t map_size, uint64_t base, uint64_t end, uint64_t records,
                uint64_t repaired);
  ~IngestJournal();
  IngestJournal(const IngestJournal&) = delete;
  IngestJournal& operator=(const IngestJournal&) = delete;

  // Appends one record: once it returns OK the record survives the process being killed (and
  // power loss with options.sync). IoError when no more space can be reserved (disk full).
  Status Append(Timestamp arrival, std::string_view topic, std::string_view payload);

  // Reads the record at `position` and sets *next to the position after it.
  // REQUIRES: begin() <= position < end(), and position is a record boundary.
  Status Read(uint64_t position, JournalRecord* out, uint64_t* next) const;

  // Checks that `position` is a record boundary in [begin(), end()] (a restored position)
  // and counts the records before it.
  Result<uint64_t> RecordsBefore(uint64_t position) const;

  // Drops the records before `position` (consumed and durable downstream) when that is cheap
  // and worth it: all records are consumed and at least empty_bytes precede `position`, or at
  // least rotate_bytes do; else only their pages leave the process's memory. The
  // unconsumed tail is copied into a new file that atomically replaces the old one, so no
  // record after `position` is ever lost. REQUIRES: a record boundary in [begin(), end()].
  Status Compact(uint64_t position);

  uint64_t begin() const { return base_; }
  uint64_t end() const { return end_.load(std::memory_order_acquire); }
  // Bytes cut off by Open() as a torn or corrupt tail.
  uint64_t repaired_bytes() const { return repaired_; }
  // Records present when the journal was opened (after repair).
  uint64_t records_at_open() const { return records_at_open_; }
  const std::string& path() const { return path_; }

 private:
  // Reserves and maps at least `needed` bytes of the file. REQUIRES: append_mu_ held.
  Status Grow(uint64_t needed);
  Status ReadExact(uint64_t file_offset, char* out, size_t n) const;
  // Bytes [position, position + n) of the journal (Corruption past end()), from read_ahead_,
  // which is refilled from `position` on when it does not hold them all.
  Result<std::string_view> ReadAhead(uint64_t position, size_t n) const;

  const std::string path_;
  const JournalOptions options_;
  std::mutex append_mu_;  // serialises Append with itself and with Compact's file swap
  int fd_;
  char* map_;  // the file's first map_size_ bytes, all reserved on disk
  uint64_t map_size_;
  uint64_t released_ = 0;  // bytes at the start of the mapping dropped by Compact()
  uint64_t base_;          // logical position of the first byte after the header
  std::atomic<uint64_t> end_;
  const uint64_t records_at_open_;
  const uint64_t repaired_;
  // Engine thread only (Read). Logical positions keep their bytes across Compact(), so the
  // buffer stays valid when the file is replaced.
  mutable std::string read_ahead_;
  mutable uint64_t read_ahead_at_ = 0;
};

}  // namespace runnel
