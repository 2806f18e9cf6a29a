// Static file sources parsed ahead on reader threads, against the same sources parsed on the
// engine thread (reader_threads = 0): the same records, rejects, messages, counts and restart
// positions, whatever the chunk and batch sizes.
#include "io/parse_ahead_reader.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "io/file_chunker.h"
#include "io/file_source.h"
#include "runtime/logger.h"
#include "tests/io/polled_source.h"
#include "tests/io/temp_dir.h"

namespace runnel {
namespace {

using testing::Collector;
using testing::CsvSpec;
using testing::Lines;
using testing::TempDir;

// Everything a source run shows from outside.
struct Outcome {
  Lines changes;
  Lines messages;
  uint64_t records_read = 0;
  uint64_t records_rejected = 0;
  std::string position;
  std::string error;  // the status that stopped it, or empty
  bool operator==(const Outcome&) const = default;
};

// Opens `spec` (restoring `position` unless empty) and polls it with random budgets until it
// finishes, fails, or `max_polls` polls were made.
Outcome Read(const FileSourceSpec& spec, std::mt19937& rng, const std::string& position = "",
             int max_polls = 1'000'000) {
  Outcome out;
  CapturingLogger logger;
  Result<std::unique_ptr<FileSource>> opened = FileSource::Open(spec, &logger);
  REQUIRE_MESSAGE(opened.ok(), opened.status().message());
  FileSource& source = **opened;
  Collector collector;
  source.output().Connect(&collector, 0);
  if (!position.empty()) REQUIRE(source.RestorePosition(position).ok());
  for (int polls = 0; polls < max_polls; ++polls) {
    Result<PollStatus> status = source.Poll(rng() % 7 + 1);
    if (!status.ok()) {
      out.error = status.status().message();
      break;
    }
    if (*status == PollStatus::kFinished) break;
  }
  out.changes = collector.changes;
  out.messages = logger.messages();
  out.records_read = source.stats().records_read;
  out.records_rejected = source.stats().records_rejected;
  out.position = source.SavePosition();
  return out;
}

std::string Pick(std::mt19937& rng, const std::vector<std::string>& choices) {
  return choices[rng() % choices.size()];
}

// A random CSV log: columns in random order (one extra), values good, null, "NA" or bad,
// LF or CRLF, blank lines, rows of the wrong width, sometimes a byte order mark, a quoted
// field (with a comma or a line break inside) or no line break at the end.
std::string RandomCsv(std::mt19937& rng, int rows) {
  if (rng() % 8 == 0) return "";
  std::vector<std::string> columns = {"device", "ts", "temp", "note"};
  std::shuffle(columns.begin(), columns.end(), rng);
  std::string text = rng() % 6 == 0 ? "\xEF\xBB\xBF" : "";
  const auto eol = [&] { return rng() % 3 == 0 ? std::string("\r\n") : std::string("\n"); };
  for (size_t c = 0; c < columns.size(); ++c) text += (c > 0 ? "," : "") + columns[c];
  text += eol();
  const bool quotes = rng() % 3 == 0;
  for (int r = 0; r < rows; ++r) {
    if (rng() % 10 == 0) text += eol();  // a blank line
    if (rng() % 25 == 0) {
      text += "x,1" + eol();  // too few fields
      continue;
    }
    for (size_t c = 0; c < columns.size(); ++c) {
      if (c > 0) text += ",";
      const std::string& name = columns[c];
      if (name == "device") {
        text += Pick(rng, {"a", "b", "NA", "", "dev-" + std::to_string(rng() % 100)});
        if (quotes && rng() % 12 == 0) text += Pick(rng, {"\"q,1\"", "\"line\nbreak\""});
      } else if (name == "ts") {
        text += rng() % 30 == 0 ? Pick(rng, {"", "soon", "NA"}) : std::to_string(rng() % 100000);
      } else if (name == "temp") {
        text += Pick(rng, {"1.5", "-3", "NA", "", "warm", std::to_string(rng() % 1000) + ".25"});
      } else {
        text += Pick(rng, {"", "ok", "a b"});
      }
    }
    if (r + 1 < rows || rng() % 2 == 0) text += eol();
  }
  return text;
}

// A random JSON Lines log: good objects, nulls, wrong types, broken JSON, blank lines, LF or
// CRLF, lines that start with a byte order mark (`bom_lines`: only the file's first one is
// skipped, which a reader restarted at such a line does not know).
std::string RandomJsonl(std::mt19937& rng, int rows, bool bom_lines) {
  std::string text = rng() % 6 == 0 ? "\xEF\xBB\xBF" : "";
  for (int r = 0; r < rows; ++r) {
    const std::string eol = rng() % 3 == 0 ? "\r\n" : "\n";
    switch (rng() % 12) {
      case 0:
        text += "{broken" + eol;
        continue;
      case 1:
        text += eol;
        continue;
      case 2:
        if (!bom_lines) break;
        text += "\xEF\xBB\xBF{\"device\":\"bom\",\"ts\":1,\"temp\":1}" + eol;
        continue;
      default:
        break;
    }
    text += "{\"device\":" + Pick(rng, {"\"a\"", "\"b\"", "null", "\"NA\"", "\"x\\ny\""}) +
            ",\"ts\":" + Pick(rng, {std::to_string(rng() % 100000), "\"soon\"", "null"}) +
            ",\"temp\":" + Pick(rng, {"1.5", "-3", "\"hot\"", "null", "7"}) + "}";
    if (r + 1 < rows || rng() % 2 == 0) text += eol;
  }
  return text;
}

FileSourceSpec RandomSpec(const TempDir& dir, std::mt19937& rng, FileFormat format,
                          bool bom_lines = true) {
  const std::string ext = format == FileFormat::kCsv ? ".csv" : ".jsonl";
  const int files = static_cast<int>(rng() % 3) + 1;
  for (int f = 0; f < files; ++f) {
    const int rows = static_cast<int>(rng() % 60);
    dir.Write("logs/" + std::to_string(f) + ext, format == FileFormat::kCsv
                                                     ? RandomCsv(rng, rows)
                                                     : RandomJsonl(rng, rows, bom_lines));
  }
  FileSourceSpec spec = CsvSpec(dir.Path("logs"));
  spec.format = format;
  spec.null_values = {"NA"};
  spec.max_logged_errors = 1000;
  if (rng() % 4 == 0) spec.time_unit = TimeUnit::kSeconds;
  return spec;
}

TEST_CASE("parsed ahead in chunks, random logs read exactly as parsed on the engine thread") {
  uint64_t total = 0;
  for (FileFormat format : {FileFormat::kCsv, FileFormat::kJsonl}) {
    for (unsigned seed = 1; seed <= 60; ++seed) {
      CAPTURE(seed);
      CAPTURE(format == FileFormat::kCsv);
      std::mt19937 rng(seed);
      TempDir dir;
      FileSourceSpec sequential = RandomSpec(dir, rng, format);
      sequential.on_error = seed % 5 == 0 ? OnError::kFail : OnError::kSkip;
      sequential.reader_threads = 0;
      FileSourceSpec ahead = sequential;
      ahead.reader_threads = rng() % 3 + 1;
      ahead.chunk_bytes = rng() % 80 + 1;
      ahead.batch_records = rng() % 5 + 1;
      std::mt19937 polls(seed);
      const Outcome expected = Read(sequential, polls);
      total += expected.records_read + expected.records_rejected;
      CHECK(Read(ahead, polls) == expected);
    }
  }
  CHECK(total > 3000);
}

TEST_CASE("parsed ahead, a source restarted anywhere continues exactly where it stopped") {
  for (unsigned seed = 1; seed <= 30; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    TempDir dir;
    FileSourceSpec spec = RandomSpec(
        dir, rng, seed % 2 == 0 ? FileFormat::kCsv : FileFormat::kJsonl, /*bom_lines=*/false);
    spec.reader_threads = 0;
    const Outcome whole = Read(spec, rng);
    spec.reader_threads = 2;
    spec.chunk_bytes = rng() % 40 + 1;
    spec.batch_records = rng() % 4 + 1;
    Lines changes;
    std::string position;
    for (int run = 0; run < 10'000; ++run) {
      Outcome part = Read(spec, rng, position, static_cast<int>(rng() % 3) + 1);
      changes.insert(changes.end(), part.changes.begin(), part.changes.end());
      const bool moved = part.position != position;
      position = part.position;
      if (!moved && part.records_read + part.records_rejected ==
                        whole.records_read + whole.records_rejected) {
        break;
      }
    }
    CHECK(changes == whole.changes);
    CHECK(position == whole.position);
  }
}

TEST_CASE("a CSV file is cut at line breaks up to its first quote, then read on whole") {
  TempDir dir;
  const std::string path =
      dir.Write("a.csv", "device,ts,temp\na,1,1\nb,2,2\nc,3,3\n\"d\nd\",4,4\ne,5,5\nf,6,6\n");
  RecordLayout layout;
  layout.fields = {
      {"device", ValueType::kString}, {"ts", ValueType::kInt}, {"temp", ValueType::kFloat}};
  FileSourceSpec spec = CsvSpec(path);
  layout.time = *EventTimeRule::Create(spec, nullptr);
  FileChunker::Options options;
  options.files = {path};
  options.layout = &layout;
  options.chunk_bytes = 1;
  FileChunker chunker(std::move(options));
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  while (std::optional<FileChunk> chunk = chunker.Next()) {
    REQUIRE(chunk->error.ok());
    ranges.emplace_back(chunk->start, chunk->end);
    CHECK(chunk->prefix == (chunk->start > 0 ? "device,ts,temp\n" : ""));
  }
  // The header with the first record (a cut is at least chunk_bytes past the start), then a
  // record per chunk, then everything from the line that holds a quote on.
  CHECK(ranges == std::vector<std::pair<uint64_t, uint64_t>>{
                      {0, 21}, {21, 27}, {27, 33}, {33, ResumeStream::kToEnd}});
}

TEST_CASE("parsed ahead, quoted line breaks and the lines after them read correctly") {
  TempDir dir;
  const std::string path =
      dir.Write("a.csv", "device,ts,temp\na,1,1\nb,2,2\n\"c\nc\",3,3\nd,4,4\n\"e,e\",5,5\nf,6,6");
  FileSourceSpec spec = CsvSpec(path);
  spec.reader_threads = 2;
  spec.chunk_bytes = 1;
  spec.batch_records = 1;
  std::mt19937 rng(7);
  const Outcome out = Read(spec, rng);
  CHECK(out.error.empty());
  CHECK(out.changes == Lines{"1: \"a\" 1 1 (1)", "2: \"b\" 2 2 (1)", "3: \"c\nc\" 3 3 (1)",
                             "4: \"d\" 4 4 (1)", "5: \"e,e\" 5 5 (1)", "6: \"f\" 6 6 (1)"});
}

TEST_CASE("parsed ahead, on_error = fail stops at the first bad record and emits none after") {
  TempDir dir;
  std::string text = "device,ts,temp\n";
  for (int i = 0; i < 500; ++i) text += "a," + std::to_string(i) + ",1\n";
  text += "b,later,2\n";
  for (int i = 0; i < 500; ++i) text += "c," + std::to_string(i) + ",3\n";
  const std::string path = dir.Write("a.csv", text);
  FileSourceSpec spec = CsvSpec(path);
  spec.on_error = OnError::kFail;
  spec.reader_threads = 2;
  spec.chunk_bytes = 64;
  spec.batch_records = 16;
  std::mt19937 rng(3);
  const Outcome out = Read(spec, rng);
  CHECK(out.error == "source 'env': " + path +
                         ":502: time field 'ts': \"later\" is not a number of milliseconds");
  CHECK(out.records_read == 500);
  CHECK(out.changes.size() == 500);
  CHECK(out.changes.back() == "499: \"a\" 499 1 (1)");
}

TEST_CASE("parsed ahead, a later file without a declared field fails after the files before") {
  TempDir dir;
  dir.Write("logs/1.csv", "device,ts,temp\na,1,1\n");
  dir.Write("logs/2.csv", "device,time,temp\nb,2,2\n");
  FileSourceSpec spec = CsvSpec(dir.Path("logs"));
  spec.reader_threads = 2;
  std::mt19937 rng(1);
  const Outcome out = Read(spec, rng);
  CHECK(out.changes == Lines{"1: \"a\" 1 1 (1)"});
  CHECK(out.error == "source 'env': " + dir.Path("logs/2.csv") +
                         ": field 'ts' is not in the header (columns: device, time, temp)");
}

TEST_CASE("a source destroyed in the middle of a parse-ahead stops and joins its threads") {
  TempDir dir;
  std::string text = "device,ts,temp\n";
  for (int i = 0; i < 20'000; ++i) text += "a," + std::to_string(i) + ",1.5\n";
  FileSourceSpec spec = CsvSpec(dir.Write("a.csv", text));
  spec.reader_threads = 3;
  spec.chunk_bytes = 1024;
  spec.batch_records = 8;
  for (int polls = 0; polls < 3; ++polls) {
    std::mt19937 rng(static_cast<unsigned>(polls));
    // The reader threads fill their queues and wait; destroying the source must end them.
    const Outcome out = Read(spec, rng, "", polls);
    CHECK(out.records_read <= static_cast<uint64_t>(7 * polls));
  }
}

}  // namespace
}  // namespace runnel
