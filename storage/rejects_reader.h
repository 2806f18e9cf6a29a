// RejectsReader: the dashboard's read-only view of the payloads sources rejected
// (runnel_rejects in the state database), on its own read-only connection so that readers
// never touch the engine's connection and only see committed steps.
// Threading: any thread; calls are serialised by an internal mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/status.h"
#include "runtime/time.h"
#include "storage/sqlite_statement.h"

struct sqlite3;

namespace runnel {

struct RejectedPayload {
  int64_t id = 0;
  std::string source;
  std::string topic;
  Timestamp arrival = 0;
  std::string reason;
  std::string payload;        // the first kMaxPayloadBytes bytes
  int64_t payload_bytes = 0;  // the whole payload's size
};

class RejectsReader {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  static constexpr size_t kMaxPayloadBytes = 4096;

  // Opens `path` read-only. REQUIRES: the engine created and migrated the database first.
  static Result<std::unique_ptr<RejectsReader>> Open(const std::string& path);
  // Takes ownership of `db` (even when opening it failed); only Open() can call this.
  RejectsReader(PrivateTag, sqlite3* db);
  ~RejectsReader();
  RejectsReader(const RejectsReader&) = delete;
  RejectsReader& operator=(const RejectsReader&) = delete;

  // Newest first: up to `limit` rejects with id < `before` (0: from the newest), of `source`
  // only unless it is empty.
  Result<std::vector<RejectedPayload>> Recent(const std::string& source, int64_t before,
                                              size_t limit);

 private:
  sqlite3* db_;
  std::mutex mu_;
  SqliteStatement recent_;
};

}  // namespace runnel
