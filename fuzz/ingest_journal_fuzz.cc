// libFuzzer target for IngestJournal: any bytes as the journal file (a disk that corrupted it,
// a torn copy). Open() either refuses the file or repairs it; then every record it kept must
// read back, their count must match, and appending and compacting must work on what remains.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "mqtt/ingest_journal.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

// One journal path for the whole run, in a fresh directory.
const std::string& JournalPath() {
  static const std::string path = [] {
    char dir[] = "/tmp/runnel-journal-fuzz-XXXXXX";
    Check(::mkdtemp(dir) != nullptr);
    return std::string(dir) + "/env.journal";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace runnel;
  const std::string& path = JournalPath();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  Check(fd >= 0);
  Check(::write(fd, data, size) == static_cast<ssize_t>(size));
  ::close(fd);

  JournalOptions options;
  options.empty_bytes = 0;  // exercise emptying on every input
  auto journal = IngestJournal::Open(path, options);
  if (!journal.ok()) {
    Check(journal.status().code() == StatusCode::kCorruption);
    return 0;
  }
  IngestJournal& j = **journal;
  Check(j.begin() <= j.end());
  uint64_t position = j.begin();
  uint64_t records = 0;
  JournalRecord record;
  while (position < j.end()) {
    uint64_t next = 0;
    Check(j.Read(position, &record, &next).ok());
    Check(next > position);
    position = next;
    ++records;
  }
  Check(position == j.end());
  Check(records == j.records_at_open());
  Result<uint64_t> before = j.RecordsBefore(j.end());
  Check(before.ok() && *before == records);

  const uint64_t appended_at = j.end();
  Check(j.Append(42, "sensors/a/env", "{\"t\":1}").ok());
  uint64_t next = 0;
  Check(j.Read(appended_at, &record, &next).ok());
  Check(record.arrival == 42 && record.topic == "sensors/a/env" && record.payload == "{\"t\":1}");
  Check(j.Compact(next).ok());
  Check(j.begin() == next && j.end() == next);
  return 0;
}
