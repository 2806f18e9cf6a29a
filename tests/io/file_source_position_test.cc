#include "io/file_source_position.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "io/file_source.h"
#include "runtime/clock.h"
#include "runtime/logger.h"
#include "tests/io/polled_source.h"
#include "tests/io/temp_dir.h"

namespace runnel {
namespace {

namespace fs = std::filesystem;

using testing::Append;
using testing::CsvSpec;
using testing::Lines;
using testing::Polled;
using testing::TempDir;

// Polls `spec` to its end (static, replay) or until `expected` records came (follow), in
// one run.
Lines ReadUninterrupted(const FileSourceSpec& spec, ManualClock* clock, size_t expected) {
  Polled p(spec);
  Lines all;
  for (int polls = 0; polls < 10'000; ++polls) {
    auto [status, lines] = p.Poll(1000);
    all.insert(all.end(), lines.begin(), lines.end());
    if (status == PollStatus::kFinished) break;
    if (spec.mode == FileSourceMode::kFollow && all.size() >= expected) break;
    if (clock != nullptr) clock->Advance(100);
  }
  return all;
}

// The same input read by a chain of short runs: each opens a fresh source, restores what the
// previous one saved, polls a few random batches and saves its position.
Lines ReadWithRestarts(const FileSourceSpec& spec, ManualClock* clock, size_t expected,
                       unsigned seed, std::string* position) {
  std::mt19937 rng(seed);
  Lines all;
  for (int run = 0; run < 10'000; ++run) {
    Polled p(spec);
    if (!position->empty()) {
      Status restored = p.source->RestorePosition(*position);
      REQUIRE_MESSAGE(restored.ok(), restored.message());
    }
    bool finished = false;
    const int polls = static_cast<int>(rng() % 3) + 1;
    for (int i = 0; i < polls && !finished; ++i) {
      auto [status, lines] = p.Poll(rng() % 4 + 1);
      all.insert(all.end(), lines.begin(), lines.end());
      finished = status == PollStatus::kFinished;
      if (clock != nullptr) clock->Advance(100);
    }
    *position = p.source->SavePosition();
    if (finished) {
      CHECK(p.source->watermark() == kMaxTime);
      CHECK(p.source->stats().records_read == all.size());
      break;
    }
    if (spec.mode == FileSourceMode::kFollow && all.size() >= expected) break;
  }
  return all;
}

// Three CSV files: a byte order mark, CRLF line ends, blank lines, a quoted field holding a
// line break, a malformed line, an empty file.
void WriteCsvInput(const TempDir& dir) {
  dir.Write("logs/a.csv",
            "\xEF\xBB\xBF"
            "device,ts,temp\r\na,1,1.5\r\n\r\nb,2,2\r\n\"c\nc\",3,3\r\nbad line\r\nd,4,4\r\n");
  dir.Write("logs/b.csv", "");
  dir.Write("logs/c.csv", "temp,ts,device\n5,5,e\n\n6,6,f\n7,7,g\n8,8,h\n");
}

TEST_CASE("static and replay sources restarted anywhere continue exactly where they stopped") {
  TempDir dir;
  WriteCsvInput(dir);
  for (FileSourceMode mode : {FileSourceMode::kStatic, FileSourceMode::kReplay}) {
    FileSourceSpec spec = CsvSpec(dir.Path("logs"));
    spec.mode = mode;
    const Lines whole = ReadUninterrupted(spec, nullptr, 0);
    REQUIRE(whole.size() == 8);
    for (unsigned seed = 1; seed <= 20; ++seed) {
      CAPTURE(seed);
      std::string position;
      CHECK(ReadWithRestarts(spec, nullptr, 0, seed, &position) == whole);
      // Restarted after the end, with nothing new: nothing more, and the end at once.
      Polled again(spec);
      REQUIRE(again.source->RestorePosition(position).ok());
      CHECK(again.Poll() == std::pair(PollStatus::kFinished, Lines{}));
      CHECK(again.source->stats().records_read == 8);
      CHECK(again.source->stats().records_rejected == 1);
    }
  }
}

TEST_CASE("JSON Lines replay restarted anywhere continues exactly where it stopped") {
  TempDir dir;
  dir.Write("logs/1.jsonl",
            "{\"device\":\"a\",\"ts\":1,\"temp\":1}\n\n{\"device\":\"b\",\"ts\":2,\"temp\":2}\n"
            "{oops\n{\"device\":\"c\",\"ts\":3,\"temp\":3}");
  dir.Write("logs/2.jsonl", "{\"device\":\"d\",\"ts\":4,\"temp\":4}\n");
  FileSourceSpec spec = CsvSpec(dir.Path("logs"));
  spec.format = FileFormat::kJsonl;
  spec.mode = FileSourceMode::kReplay;
  const Lines whole = ReadUninterrupted(spec, nullptr, 0);
  REQUIRE(whole.size() == 4);
  for (unsigned seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    std::string position;
    CHECK(ReadWithRestarts(spec, nullptr, 0, seed, &position) == whole);
  }
}

TEST_CASE("a restored source reports bad lines with their line numbers in the file") {
  TempDir dir;
  const std::string file =
      dir.Write("env.csv", "device,ts,temp\na,1,1\n\"b\nb\",2,2\n\nc,3,3\nbad\nd,4,4\n");
  FileSourceSpec spec = CsvSpec(file);
  spec.mode = FileSourceMode::kReplay;
  Polled first(spec);
  CHECK(first.Poll(2).second.size() == 2);
  Polled second(spec);
  REQUIRE(second.source->RestorePosition(first.source->SavePosition()).ok());
  CHECK(second.Poll() ==
        std::pair(PollStatus::kFinished, Lines{"3: \"c\" 3 3 (1)", "4: \"d\" 4 4 (1)"}));
  CHECK(second.Logged("source 'env': " + file + ":7: expected 3 fields, found 1"));
}

TEST_CASE("a restored replay source keeps its watermark and counts") {
  TempDir dir;
  FileSourceSpec spec = CsvSpec(dir.Write("env.csv", "device,ts,temp\na,5000,1\nb,3000,2\n"));
  spec.mode = FileSourceMode::kReplay;
  spec.max_delay = 1000;
  Polled first(spec);
  first.Poll(2);
  CHECK(first.source->watermark() == 4000);
  Polled second(spec);
  REQUIRE(second.source->RestorePosition(first.source->SavePosition()).ok());
  CHECK(second.source->watermark() == 4000);
  CHECK(second.source->stats().records_read == 2);
}

TEST_CASE("a restored static source reads only what grew and the files sorting after") {
  TempDir dir;
  dir.Write("logs/b.csv", "device,ts,temp\nb,2,2\n");
  FileSourceSpec spec = CsvSpec(dir.Path("logs"));
  Polled first(spec);
  CHECK(first.Poll().first == PollStatus::kFinished);
  const std::string position = first.source->SavePosition();
  Append(dir.Path("logs/b.csv"), "b,3,3\n");
  dir.Write("logs/c.csv", "device,ts,temp\nc,4,4\n");
  dir.Write("logs/a.csv", "device,ts,temp\na,1,1\n");
  Polled second(spec);
  REQUIRE(second.source->RestorePosition(position).ok());
  CHECK(second.Poll() ==
        std::pair(PollStatus::kFinished, Lines{"3: \"b\" 3 3 (1)", "4: \"c\" 4 4 (1)"}));
  CHECK(second.Logged("the last run read the input whole; reading what was added since"));
  CHECK(second.Logged("1 new file(s) sort before '" + dir.Path("logs/b.csv") +
                      "', which was being read when the last run stopped; they are not read"));
  CHECK(second.source->watermark() == kMaxTime);
}

TEST_CASE("a restored static source refuses a file shorter than what it read") {
  TempDir dir;
  const std::string file = dir.Write("env.csv", "device,ts,temp\na,1,1\nb,2,2\n");
  FileSourceSpec spec = CsvSpec(file);
  Polled first(spec);
  first.Poll();
  dir.Write("env.csv", "device,ts,temp\nc,3,3\n");
  Polled second(spec);
  const Status restored = second.source->RestorePosition(first.source->SavePosition());
  CHECK(restored.code() == StatusCode::kInvalid);
  CHECK(restored.message() == "source 'env': '" + file +
                                  "' has 21 bytes, fewer than the 27 already read: it was "
                                  "truncated or replaced since the last run; restore it, or "
                                  "start over with --reset-state");
}

TEST_CASE("a restored static source warns about a replaced file and reads on past the offset") {
  TempDir dir;
  const std::string file = dir.Write("env.csv", "device,ts,temp\na,1,1\n");
  FileSourceSpec spec = CsvSpec(file);
  Polled first(spec);
  first.Poll();
  // Rewritten through a new file renamed over the old one, as editors and copy tools do.
  dir.Write("new.tmp", "device,ts,temp\na,1,1\nb,2,2\n");
  fs::rename(dir.Path("new.tmp"), file);
  Polled second(spec);
  REQUIRE(second.source->RestorePosition(first.source->SavePosition()).ok());
  CHECK(second.Poll() == std::pair(PollStatus::kFinished, Lines{"2: \"b\" 2 2 (1)"}));
  CHECK(second.Logged("'" + file + "' is another file than in the last run (its inode changed)"));
}

TEST_CASE("a restored static source whose current file is gone reads the files after it") {
  TempDir dir;
  dir.Write("logs/a.csv", "device,ts,temp\na,1,1\n");
  dir.Write("logs/b.csv", "device,ts,temp\nb,2,2\n");
  FileSourceSpec spec = CsvSpec(dir.Path("logs"));
  Polled first(spec);
  first.Poll(1);
  const std::string position = first.source->SavePosition();
  fs::remove(dir.Path("logs/a.csv"));
  Polled second(spec);
  REQUIRE(second.source->RestorePosition(position).ok());
  CHECK(second.Poll() == std::pair(PollStatus::kFinished, Lines{"2: \"b\" 2 2 (1)"}));
  CHECK(second.Logged("'" + dir.Path("logs/a.csv") +
                      "', which was being read when the last "
                      "run stopped, is gone; reading the files after it"));
}

TEST_CASE("corrupt position bytes are a Corruption naming the source, never a crash") {
  TempDir dir;
  dir.Write("logs/a.csv", "device,ts,temp\na,1,1\nb,2,2\n");
  for (FileSourceMode mode : {FileSourceMode::kReplay, FileSourceMode::kFollow}) {
    ManualClock clock(0);
    FileSourceSpec spec = CsvSpec(dir.Path("logs"));
    spec.mode = mode;
    spec.clock = &clock;
    Polled first(spec);
    first.Poll(1);
    const std::string position = first.source->SavePosition();
    // Every strict prefix lacks a field.
    for (size_t size = 0; size < position.size(); ++size) {
      Polled p(spec);
      const Status restored = p.source->RestorePosition(position.substr(0, size));
      CHECK(restored.code() == StatusCode::kCorruption);
      CHECK(restored.message().starts_with("source 'env': saved file position is corrupt: "));
    }
    Polled trailing(spec);
    CHECK(trailing.source->RestorePosition(position + "x").message() ==
          "source 'env': saved file position is corrupt: trailing bytes; start over with "
          "--reset-state");
    Polled future(spec);
    CHECK(future.source->RestorePosition("\x63" + position.substr(1)).message() ==
          "source 'env': saved file position is corrupt: unknown version 99; start over with "
          "--reset-state");
    // Random damage: refused or taken, but read within bounds (the sanitizer build checks).
    std::mt19937 rng(7);
    for (int i = 0; i < 200; ++i) {
      std::string damaged = position;
      damaged[rng() % damaged.size()] = static_cast<char>(rng());
      Polled p(spec);
      (void)p.source->RestorePosition(damaged);
    }
  }
}

TEST_CASE("a position of another mode, or one restored after polling, is refused") {
  TempDir dir;
  const std::string file = dir.Write("env.csv", "device,ts,temp\na,1,1\n");
  ManualClock clock(0);
  FileSourceSpec follow = CsvSpec(file);
  follow.mode = FileSourceMode::kFollow;
  follow.clock = &clock;
  Polled followed(follow);
  FileSourceSpec replay = CsvSpec(file);
  replay.mode = FileSourceMode::kReplay;
  Polled replayed(replay);
  CHECK(replayed.source->RestorePosition(followed.source->SavePosition()).message() ==
        "source 'env': the saved position is of a follow source, this one is not: restore the "
        "old mode, or start over with --reset-state");
  replayed.Poll();
  CHECK(replayed.source->RestorePosition(replayed.source->SavePosition()).message() ==
        "source 'env': a position can only be restored before the first poll");
  // static and replay positions are the same: a source may switch between the two.
  FileSourceSpec batch = CsvSpec(file);
  Polled statically(batch);
  REQUIRE(statically.source->RestorePosition(replayed.source->SavePosition()).ok());
  CHECK(statically.Poll() == std::pair(PollStatus::kFinished, Lines{}));
}

TEST_CASE("a position survives its encoding unchanged") {
  FileSourcePosition position;
  position.mode = FileSourceMode::kFollow;
  position.records_read = 300;
  position.records_rejected = 2;
  position.max_time = -5;
  position.followed = {{"a.log", 1, 2, 300, 7, 20}, {"b.log", 1, 3, 0, 1, 0}};
  position.cursor = 1;
  Result<FileSourcePosition> decoded = DecodeFileSourcePosition(EncodeFileSourcePosition(position));
  REQUIRE(decoded.ok());
  CHECK(*decoded == position);
  position = {};
  position.mode = FileSourceMode::kReplay;
  position.max_time = kMinTime;
  position.finished = true;
  position.current = {"x.csv", 9, 10, 1 << 20, 4000, 15};
  position.files_before = 3;
  decoded = DecodeFileSourcePosition(EncodeFileSourcePosition(position));
  REQUIRE(decoded.ok());
  CHECK(*decoded == position);
}

// ---- follow ----

FileSourceSpec FollowSpec(const std::string& path, ManualClock* clock) {
  FileSourceSpec spec = CsvSpec(path);
  spec.mode = FileSourceMode::kFollow;
  spec.clock = clock;
  return spec;
}

TEST_CASE("follow restarted anywhere continues exactly where it stopped") {
  TempDir dir;
  WriteCsvInput(dir);
  for (unsigned seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    ManualClock clock(0);
    const FileSourceSpec spec = FollowSpec(dir.Path("logs"), &clock);
    const Lines whole = ReadUninterrupted(spec, &clock, 8);
    REQUIRE(whole.size() == 8);
    std::string position;
    CHECK(ReadWithRestarts(spec, &clock, 8, seed, &position) == whole);
    // Lines appended while stopped come next, and nothing else.
    Append(dir.Path("logs/a.csv"), "i,9,9\n");
    Polled again(spec);
    REQUIRE(again.source->RestorePosition(position).ok());
    CHECK(again.Poll() == std::pair(PollStatus::kProgress, Lines{"9: \"i\" 9 9 (1)"}));
    WriteCsvInput(dir);
  }
}

TEST_CASE("follow after a restart reads the rest of a file rotated while stopped") {
  TempDir dir;
  const std::string file = dir.Write("env.csv", "device,ts,temp\na,1,1\n");
  ManualClock clock(0);
  const FileSourceSpec spec = FollowSpec(file, &clock);
  Polled first(spec);
  CHECK(first.Poll().second.size() == 1);
  const std::string position = first.source->SavePosition();
  Append(file, "b,2,2\n");
  fs::rename(file, file + ".1");
  dir.Write("env.csv", "device,ts,temp\nc,3,3\n");
  Polled second(spec);
  REQUIRE(second.source->RestorePosition(position).ok());
  CHECK(second.Poll() ==
        std::pair(PollStatus::kProgress, Lines{"2: \"b\" 2 2 (1)", "3: \"c\" 3 3 (1)"}));
  CHECK(second.Logged("'" + file + "' was rotated to '" + file + ".1' while stopped"));
  // The rotated file is read to its end, then no longer followed.
  Append(file + ".1", "x,9,9\n");
  Append(file, "d,4,4\n");
  clock.Advance(1000);
  CHECK(second.Poll() == std::pair(PollStatus::kProgress, Lines{"4: \"d\" 4 4 (1)"}));
}

TEST_CASE("follow after a restart keeps a file renamed within its glob") {
  TempDir dir;
  const std::string file = dir.Write("app.csv", "device,ts,temp\na,1,1\n");
  ManualClock clock(0);
  const FileSourceSpec spec = FollowSpec(dir.Path("*.csv"), &clock);
  Polled first(spec);
  CHECK(first.Poll().second.size() == 1);
  const std::string position = first.source->SavePosition();
  fs::rename(file, dir.Path("app-1.csv"));
  Append(dir.Path("app-1.csv"), "b,2,2\n");
  dir.Write("app.csv", "device,ts,temp\nc,3,3\n");
  Polled second(spec);
  REQUIRE(second.source->RestorePosition(position).ok());
  CHECK(second.Poll() ==
        std::pair(PollStatus::kProgress, Lines{"2: \"b\" 2 2 (1)", "3: \"c\" 3 3 (1)"}));
  CHECK(second.Logged("'" + file + "' is now '" + dir.Path("app-1.csv") + "'"));
}

TEST_CASE("follow after a restart reads truncated and new files from the start") {
  TempDir dir;
  dir.Write("logs/a.csv", "device,ts,temp\na,1,1\nb,2,2\n");
  ManualClock clock(0);
  const FileSourceSpec spec = FollowSpec(dir.Path("logs"), &clock);
  Polled first(spec);
  CHECK(first.Poll().second.size() == 2);
  const std::string position = first.source->SavePosition();
  dir.Write("logs/a.csv", "device,ts,temp\nc,3,3\n");
  dir.Write("logs/0.csv", "device,ts,temp\nd,4,4\n");
  Polled second(spec);
  REQUIRE(second.source->RestorePosition(position).ok());
  CHECK(second.Poll() ==
        std::pair(PollStatus::kProgress, Lines{"3: \"c\" 3 3 (1)", "4: \"d\" 4 4 (1)"}));
  CHECK(second.Logged("'" + dir.Path("logs/a.csv") +
                      "' was truncated to 21 bytes while stopped, after 27 were read; reading "
                      "it again from the start"));
}

TEST_CASE("follow after a restart reports a file that is gone") {
  TempDir dir;
  dir.Write("logs/a.csv", "device,ts,temp\na,1,1\n");
  dir.Write("logs/b.csv", "device,ts,temp\nb,2,2\n");
  ManualClock clock(0);
  FileSourceSpec spec = FollowSpec(dir.Path("logs"), &clock);
  spec.max_delay = 1;
  Polled first(spec);
  CHECK(first.Poll().second.size() == 2);
  const std::string position = first.source->SavePosition();
  fs::remove(dir.Path("logs/a.csv"));
  Polled second(spec);
  REQUIRE(second.source->RestorePosition(position).ok());
  CHECK(second.source->watermark() == 1);
  CHECK(second.Poll() == std::pair(PollStatus::kIdle, Lines{}));
  CHECK(second.Logged("'" + dir.Path("logs/a.csv") +
                      "' is gone since the last run; whatever was written to it after byte 21 "
                      "is lost"));
}

}  // namespace
}  // namespace runnel
