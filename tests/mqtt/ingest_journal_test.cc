#include "mqtt/ingest_journal.h"

#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/io/temp_dir.h"

namespace runnel {
namespace {

using testing::TempDir;

std::unique_ptr<IngestJournal> OpenJournal(const std::string& path, JournalOptions options = {}) {
  auto journal = IngestJournal::Open(path, options);
  REQUIRE_MESSAGE(journal.ok(), journal.status().message());
  return std::move(journal).value();
}

// "arrival topic payload" for each record from `position` to the end.
std::vector<std::string> ReadAll(const IngestJournal& journal, uint64_t position) {
  std::vector<std::string> out;
  JournalRecord record;
  while (position < journal.end()) {
    uint64_t next = 0;
    const Status read = journal.Read(position, &record, &next);
    REQUIRE_MESSAGE(read.ok(), read.message());
    out.push_back(std::to_string(record.arrival) + " " + record.topic + " " + record.payload);
    position = next;
  }
  return out;
}

void Append(IngestJournal& journal, Timestamp arrival, const std::string& topic,
            const std::string& payload) {
  const Status appended = journal.Append(arrival, topic, payload);
  REQUIRE_MESSAGE(appended.ok(), appended.message());
}

uint64_t FileSize(const std::string& path) { return std::filesystem::file_size(path); }

TEST_CASE("records appended to a journal read back in order after reopening") {
  TempDir dir;
  const std::string path = dir.Path("env.journal");
  {
    auto journal = OpenJournal(path);
    CHECK(journal->begin() == 0);
    CHECK(journal->end() == 0);
    Append(*journal, 1000, "sensors/a/env", "{\"t\":1}");
    Append(*journal, 1001, "sensors/b/env", std::string("\0\x01\xff", 3));
    Append(*journal, 1002, "sensors/a/env", "");
    CHECK(ReadAll(*journal, 0) ==
          std::vector<std::string>{"1000 sensors/a/env {\"t\":1}",
                                   "1001 sensors/b/env " + std::string("\0\x01\xff", 3),
                                   "1002 sensors/a/env "});
  }
  auto reopened = OpenJournal(path);
  CHECK(reopened->records_at_open() == 3);
  CHECK(reopened->repaired_bytes() == 0);
  CHECK(ReadAll(*reopened, 0).size() == 3);
}

TEST_CASE("a torn tail is cut off on open and later appends follow the last whole record") {
  TempDir dir;
  const std::string path = dir.Path("env.journal");
  uint64_t whole_size = 0;
  {
    auto journal = OpenJournal(path);
    Append(*journal, 1, "t", "first");
    Append(*journal, 2, "t", "second");
    whole_size = 16 + journal->end();
    Append(*journal, 3, "t", "third, torn by kill -9");
  }
  CHECK(FileSize(path) == whole_size + 22 + 1 + 20);  // closing gave the reserve back
  // The process died in the middle of the third write.
  std::filesystem::resize_file(path, FileSize(path) - 5);
  auto journal = OpenJournal(path);
  CHECK(journal->records_at_open() == 2);
  CHECK(journal->repaired_bytes() == 22 + 1 + 20 - 5);
  CHECK(16 + journal->end() == whole_size);
  Append(*journal, 4, "t", "fourth");
  CHECK(ReadAll(*journal, 0) == std::vector<std::string>{"1 t first", "2 t second", "4 t fourth"});
  journal.reset();
  CHECK(FileSize(path) == whole_size + 8 + 12 + 1 + 6);
}

TEST_CASE("a record whose CRC does not match ends the journal at the record before it") {
  TempDir dir;
  const std::string path = dir.Path("env.journal");
  uint64_t first_end = 0;
  {
    auto journal = OpenJournal(path);
    Append(*journal, 1, "t", "good");
    first_end = 16 + journal->end();
    Append(*journal, 2, "t", "flipped");
    Append(*journal, 3, "t", "after");
  }
  {
    // Flip one payload byte of the second record.
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(first_end + 8 + 12 + 1 + 2));
    f.put('X');
  }
  auto journal = OpenJournal(path);
  CHECK(journal->records_at_open() == 1);
  CHECK(ReadAll(*journal, 0) == std::vector<std::string>{"1 t good"});
  journal.reset();
  CHECK(FileSize(path) == first_end);
}

// Records are copied into a shared mapping, not written: the kernel must keep them when the
// process is killed, and the unused reserve after them must not read as a torn record.
TEST_CASE("records appended before a kill -9 are all there, and the reserve is no repair") {
  TempDir dir;
  const std::string path = dir.Path("env.journal");
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto journal = IngestJournal::Open(path, {});
    for (int i = 0; journal.ok() && i < 3; ++i) {
      static_cast<void>((*journal)->Append(i, "t", "kept " + std::to_string(i)));
    }
    ::raise(SIGKILL);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(FileSize(path) >= (1u << 20));  // the reserve, never cut by the killed process
  auto journal = OpenJournal(path);
  CHECK(journal->records_at_open() == 3);
  CHECK(journal->repaired_bytes() == 0);
  CHECK(ReadAll(*journal, 0) == std::vector<std::string>{"0 t kept 0", "1 t kept 1", "2 t kept 2"});
  Append(*journal, 3, "t", "after");
  CHECK(ReadAll(*journal, 0).size() == 4);
}

// The reserve grows as records arrive (1 MiB, then doubling): records on both sides of every
// growth read back, during the run and after reopening.
TEST_CASE("appends beyond the first reserve grow it and keep every record") {
  TempDir dir;
  const std::string path = dir.Path("env.journal");
  std::vector<std::string> expected;
  {
    auto journal = OpenJournal(path);
    for (int i = 0; i < 70; ++i) {
      const std::string payload(100'000 + i, static_cast<char>('a' + i % 26));
      Append(*journal, i, "t", payload);
      expected.push_back(std::to_string(i) + " t " + payload);
    }
    CHECK(journal->end() > (6u << 20));
    CHECK(ReadAll(*journal, 0) == expected);
  }
  auto reopened = OpenJournal(path);
  CHECK(reopened->records_at_open() == 70);
  CHECK(reopened->repaired_bytes() == 0);
  CHECK(ReadAll(*reopened, 0) == expected);
}

// Kilobytes of `path` mapped and resident in this process (its mapping's Rss in smaps).
uint64_t MappedKib(const std::string& path) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_mapping = false;
  while (std::getline(smaps, line)) {
    if (line.size() >= path.size() &&
        line.compare(line.size() - path.size(), path.size(), path) == 0) {
      in_mapping = true;
    } else if (in_mapping && line.rfind("Rss:", 0) == 0) {
      return std::stoull(line.substr(4));
    }
  }
  return 0;
}

TEST_CASE("consumed records leave the process's memory but stay in the journal until compacted") {
  TempDir dir;
  const std::string path = dir.Path("env.journal");
  auto journal = OpenJournal(path);
  std::vector<uint64_t> positions;
  std::vector<std::string> expected;
  for (int i = 0; i < 100; ++i) {
    positions.push_back(journal->end());
    const std::string payload(1000, static_cast<char>('a' + i % 26));
    Append(*journal, i, "t", payload);
    expected.push_back(std::to_string(i) + " t " + payload);
  }
  CHECK(MappedKib(path) >= 96);
  // Half consumed: far below rotate_bytes, so the file stays; its first ~48 KiB are released.
  REQUIRE(journal->Compact(positions[50]).ok());
  CHECK(journal->begin() == 0);
  CHECK(MappedKib(path) <= 56);
  CHECK(ReadAll(*journal, positions[50]) ==
        std::vector<std::string>(expected.begin() + 50, expected.end()));
  Append(*journal, 100, "t", "after the release");
  journal.reset();
  auto reopened = OpenJournal(path);
  CHECK(reopened->records_at_open() == 101);
  const std::vector<std::string> all = ReadAll(*reopened, 0);
  REQUIRE(all.size() == 101);
  CHECK(std::vector<std::string>(all.begin(), all.begin() + 100) == expected);
}

// A full disk must surface as an error from Append() when space is reserved, never as SIGBUS
// while copying into the mapping. A file size limit (RLIMIT_FSIZE, in a child process) makes
// the reservation fail like a full disk would; every record appended before stays readable.
TEST_CASE("when no more space can be reserved, Append fails cleanly and keeps what it had") {
  TempDir dir;
  const std::string path = dir.Path("env.journal");
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of the signal
    const rlimit limit{3u << 20, 3u << 20};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    auto journal = IngestJournal::Open(path, {});
    std::string report = journal.ok() ? "" : "open: " + journal.status().message();
    for (int i = 0; journal.ok() && i < 100; ++i) {
      const Status appended = (*journal)->Append(i, "t", std::string(100'000, 'x'));
      if (!appended.ok()) {
        report = std::to_string(i) + " " + appended.message();
        break;
      }
    }
    static_cast<void>(::write(pipe_fds[1], report.data(), report.size()));
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string report;
  char buf[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof(buf))) > 0;) report.append(buf, n);
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));  // not killed by SIGBUS
  // 1 MiB reserved, then 2 MiB: 20 records of 100 KB fit below the 3 MiB limit, the 21st
  // needs a reserve of 4 MiB.
  CHECK(report ==
        "20 cannot append to MQTT ingest journal " + path + ": File too large (is the disk full?)");
  auto journal = OpenJournal(path);
  CHECK(journal->records_at_open() == 20);
  CHECK(journal->repaired_bytes() == 0);
}

// Opens a journal file holding `contents`; it must be refused as Corruption with the message
// `path` + `reason`.
void ExpectRefused(const std::string& contents, const std::string& reason) {
  TempDir dir;
  const std::string path = dir.Write("env.journal", contents);
  auto journal = IngestJournal::Open(path, {});
  REQUIRE_FALSE(journal.ok());
  CHECK(journal.status().code() == StatusCode::kCorruption);
  CHECK(journal.status().message() == path + reason);
}

// Found by fuzz/ingest_journal_fuzz.cc: a damaged header claiming a base near 2^64 made
// positions overflow on the next append.
TEST_CASE("a journal whose header claims an impossible position is refused") {
  ExpectRefused(std::string("RNLJRNL1") + std::string(8, '\xff'),
                " starts at position 18446744073709551615, beyond any journal: the file is "
                "damaged (move it away, or start over with --reset-state)");
}

TEST_CASE("a file that is not a journal is refused") {
  ExpectRefused("hello, I am a text file",
                " is not a Runnel MQTT ingest journal (move it away, or start over with "
                "--reset-state)");
}

TEST_CASE("compacting a fully consumed journal empties it and keeps positions growing") {
  TempDir dir;
  const std::string path = dir.Path("env.journal");
  JournalOptions options;
  options.empty_bytes = 40;
  auto journal = OpenJournal(path, options);
  Append(*journal, 1, "t", "a");  // 22 bytes each
  const uint64_t first = journal->end();
  // All consumed, but fewer than empty_bytes: not worth a new file yet.
  REQUIRE(journal->Compact(first).ok());
  CHECK(journal->begin() == 0);
  Append(*journal, 2, "t", "b");
  const uint64_t end = journal->end();
  REQUIRE(journal->Compact(end).ok());
  CHECK(journal->begin() == end);
  CHECK(journal->end() == end);
  CHECK(ReadAll(*journal, end).empty());
  Append(*journal, 3, "t", "c");
  CHECK(ReadAll(*journal, end) == std::vector<std::string>{"3 t c"});
  journal.reset();
  auto reopened = OpenJournal(path);
  CHECK(reopened->begin() == end);
  CHECK(ReadAll(*reopened, end) == std::vector<std::string>{"3 t c"});
}

TEST_CASE("compaction keeps unconsumed records and rotates only once enough is consumed") {
  TempDir dir;
  const std::string path = dir.Path("env.journal");
  JournalOptions options;
  options.rotate_bytes = 60;
  auto journal = OpenJournal(path, options);
  std::vector<uint64_t> positions;
  for (int i = 0; i < 5; ++i) {
    positions.push_back(journal->end());
    Append(*journal, i, "t", "payload" + std::to_string(i));  // 29 bytes each
  }
  // 29 consumed bytes: below rotate_bytes and records remain, so nothing changes.
  REQUIRE(journal->Compact(positions[1]).ok());
  CHECK(journal->begin() == 0);
  // 87 consumed bytes: the file is rewritten with the two unconsumed records only.
  REQUIRE(journal->Compact(positions[3]).ok());
  CHECK(journal->begin() == positions[3]);
  CHECK(ReadAll(*journal, positions[3]) ==
        std::vector<std::string>{"3 t payload3", "4 t payload4"});
  auto before = journal->RecordsBefore(positions[4]);
  REQUIRE(before.ok());
  CHECK(*before == 1);
  journal.reset();
  CHECK(FileSize(path) == 16 + 2 * 29);
}

// Read() serves records from a 256 KiB read-ahead buffer: records appended after it was
// filled, records larger than it, records straddling its end and a position past the end must
// all read exactly as written.
TEST_CASE("reads through the read-ahead buffer see appends, large records and the end") {
  TempDir dir;
  auto journal = OpenJournal(dir.Path("env.journal"));
  Append(*journal, 1, "t", "first");
  CHECK(ReadAll(*journal, 0) == std::vector<std::string>{"1 t first"});
  const uint64_t second = journal->end();
  Append(*journal, 2, "t", "second");  // after the buffer was filled up to the old end
  CHECK(ReadAll(*journal, second) == std::vector<std::string>{"2 t second"});

  const uint64_t third = journal->end();
  std::vector<std::string> expected;
  for (int i = 0; i < 40; ++i) {  // 40 x 10 KiB: the buffer is refilled mid-record
    const std::string payload(10'000 + i, static_cast<char>('a' + i % 26));
    Append(*journal, 10 + i, "t", payload);
    expected.push_back(std::to_string(10 + i) + " t " + payload);
  }
  const std::string large(300'000, 'x');  // larger than the buffer
  Append(*journal, 99, "t", large);
  expected.push_back("99 t " + large);
  CHECK(ReadAll(*journal, third) == expected);

  JournalRecord record;
  uint64_t next = 0;
  const Status past_end = journal->Read(journal->end(), &record, &next);
  REQUIRE_FALSE(past_end.ok());
  CHECK(past_end.code() == StatusCode::kCorruption);
}

TEST_CASE("a restored position outside the journal or inside a record is refused") {
  TempDir dir;
  auto journal = OpenJournal(dir.Path("env.journal"));
  Append(*journal, 1, "t", "a");
  Append(*journal, 2, "t", "b");
  CHECK(*journal->RecordsBefore(0) == 0);
  CHECK(*journal->RecordsBefore(journal->end()) == 2);
  auto inside = journal->RecordsBefore(3);
  REQUIRE_FALSE(inside.ok());
  CHECK(inside.status().code() == StatusCode::kCorruption);
  auto beyond = journal->RecordsBefore(journal->end() + 1);
  REQUIRE_FALSE(beyond.ok());
  CHECK(beyond.status().code() == StatusCode::kCorruption);
}

}  // namespace
}  // namespace runnel
