#include "io/file_source.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "io/file_follower.h"
#include "io/record_file_reader.h"
#include "runtime/clock.h"
#include "runtime/logger.h"
#include "tests/io/polled_source.h"
#include "tests/io/temp_dir.h"

namespace runnel {
namespace {

namespace fs = std::filesystem;

using testing::Append;
using testing::Collector;
using testing::CsvSpec;
using testing::Lines;
using testing::Polled;
using testing::TempDir;

// Opens the source and polls it until it finishes; returns the changes it emitted.
Lines Drain(FileSourceSpec spec, Logger* logger = nullptr, size_t batch = 1000) {
  CapturingLogger unused;
  Result<std::unique_ptr<FileSource>> source =
      FileSource::Open(std::move(spec), logger ? logger : &unused);
  REQUIRE_MESSAGE(source.ok(), source.status().message());
  Collector collector;
  (*source)->output().Connect(&collector, 0);
  for (int polls = 0; polls < 100000; ++polls) {
    Result<PollStatus> status = (*source)->Poll(batch);
    REQUIRE_MESSAGE(status.ok(), status.status().message());
    if (*status == PollStatus::kFinished) break;
    CHECK(*status == PollStatus::kProgress);
  }
  CHECK((*source)->watermark() == kMaxTime);
  return collector.changes;
}

std::string OpenError(FileSourceSpec spec) {
  CapturingLogger logger;
  Result<std::unique_ptr<FileSource>> source = FileSource::Open(std::move(spec), &logger);
  if (source.ok()) return "opened";
  return source.status().message();
}

TEST_CASE("a CSV file source maps header columns by name and emits typed records") {
  TempDir dir;
  const std::string file = dir.Write("env.csv",
                                     "ts,extra,device,temp\n"
                                     "1000,x,dev-1,21.5\n"
                                     "2000,y,dev-2,-3\n"
                                     "3000,z,,\n");
  CHECK(Drain(CsvSpec(file)) == Lines{"1000: \"dev-1\" 1000 21.5 (1)",
                                      "2000: \"dev-2\" 2000 -3 (1)", "3000: null 3000 null (1)"});
}

TEST_CASE("a static file source is bounded, holds -inf until read whole, then +inf") {
  TempDir dir;
  const std::string file = dir.Write("env.csv", "device,ts,temp\na,1,1.0\nb,2,2.0\nc,3,3.0\n");
  CapturingLogger logger;
  Result<std::unique_ptr<FileSource>> source = FileSource::Open(CsvSpec(file), &logger);
  REQUIRE(source.ok());
  Collector collector;
  (*source)->output().Connect(&collector, 0);
  CHECK((*source)->bounded());
  CHECK((*source)->watermark() == kMinTime);
  CHECK(*(*source)->Poll(2) == PollStatus::kProgress);
  CHECK(collector.changes.size() == 2);
  CHECK((*source)->watermark() == kMinTime);
  // The call that reaches the end emits what is left and reports the end at once.
  CHECK(*(*source)->Poll(2) == PollStatus::kFinished);
  CHECK(collector.changes.size() == 3);
  CHECK((*source)->watermark() == kMaxTime);
  CHECK(*(*source)->Poll(2) == PollStatus::kFinished);
  CHECK((*source)->stats().records_read == 3);
  CHECK((*source)->stats().records_rejected == 0);
}

TEST_CASE("the output schema is the declared fields with a single time field as int") {
  FileSourceSpec spec = CsvSpec("unused.csv");
  spec.fields[1].type = ValueType::kString;
  Schema schema = FileSource::OutputSchema(spec);
  REQUIRE(schema.size() == 3);
  CHECK(schema.column(0).name == "device");
  CHECK(schema.column(0).type == ValueType::kString);
  CHECK(schema.column(1).name == "ts");
  CHECK(schema.column(1).type == ValueType::kInt);
  CHECK(schema.column(2).type == ValueType::kFloat);

  spec.time_fields = {"device", "ts"};
  CHECK(FileSource::OutputSchema(spec).column(1).type == ValueType::kString);
  spec.time_fields = {};
  spec.time_arrival = true;
  CHECK(FileSource::OutputSchema(spec).column(1).type == ValueType::kString);
}

TEST_CASE("a directory source reads its files with the format's extension in name order") {
  TempDir dir;
  dir.Write("logs/b.csv", "device,ts,temp\nb,2,2\n");
  dir.Write("logs/a.csv", "device,ts,temp\na,1,1\n");
  dir.Write("logs/c.CSV", "device,ts,temp\nc,3,3\n");
  dir.Write("logs/notes.txt", "device,ts,temp\nx,9,9\n");
  dir.Write("logs/.partial.csv", "device,ts,temp\nx,9,9\n");
  dir.Write("logs/sub/d.csv", "device,ts,temp\nx,9,9\n");
  CHECK(Drain(CsvSpec(dir.Path("logs")), nullptr, 1) ==
        Lines{"1: \"a\" 1 1 (1)", "2: \"b\" 2 2 (1)", "3: \"c\" 3 3 (1)"});
}

TEST_CASE("a glob source reads the matching files in byte order of their names") {
  TempDir dir;
  dir.Write("part-2.csv", "device,ts,temp\np2,2,0\n");
  dir.Write("part-10.csv", "device,ts,temp\np10,10,0\n");
  dir.Write("part-1.csv", "device,ts,temp\np1,1,0\n");
  dir.Write("other.csv", "device,ts,temp\nx,9,9\n");
  CHECK(Drain(CsvSpec(dir.Path("part-*.csv"))) ==
        Lines{"1: \"p1\" 1 0 (1)", "10: \"p10\" 10 0 (1)", "2: \"p2\" 2 0 (1)"});
}

TEST_CASE("a path that matches no file is an error naming the path") {
  TempDir dir;
  CHECK(OpenError(CsvSpec(dir.Path("none-*.csv"))) ==
        "source 'env': no file matches '" + dir.Path("none-*.csv") + "'");
  CHECK(OpenError(CsvSpec(dir.Path("missing.csv"))) ==
        "source 'env': '" + dir.Path("missing.csv") + "' does not exist");
  dir.Write("empty/readme.txt", "");
  CHECK(OpenError(CsvSpec(dir.Path("empty"))) ==
        "source 'env': directory '" + dir.Path("empty") + "' holds no .csv files");
}

TEST_CASE("a header without a declared field is an error naming the file and the field") {
  TempDir dir;
  const std::string a = dir.Write("a.csv", "device,ts\nx,1\n");
  CHECK(OpenError(CsvSpec(a)) ==
        "source 'env': " + a + ": field 'temp' is not in the header (columns: device, ts)");

  // A later file is checked when the source reaches it.
  TempDir two;
  two.Write("1.csv", "device,ts,temp\nx,1,1\n");
  const std::string bad = two.Write("2.csv", "device,time,temp\ny,2,2\n");
  CapturingLogger logger;
  Result<std::unique_ptr<FileSource>> source = FileSource::Open(CsvSpec(two.Path()), &logger);
  REQUIRE(source.ok());
  Result<PollStatus> status = (*source)->Poll(100);
  REQUIRE(!status.ok());
  CHECK(status.status().code() == StatusCode::kInvalid);
  CHECK(status.status().message() ==
        "source 'env': " + bad + ": field 'ts' is not in the header (columns: device, time, temp)");
}

TEST_CASE("malformed records are counted, the first few logged with file and line") {
  TempDir dir;
  const std::string file = dir.Write("env.csv",
                                     "device,ts,temp\n"
                                     "a,1,1.5\n"
                                     "b,2\n"
                                     "c,3,warm\n"
                                     "d,,4\n"
                                     "\"e\"x,5,5\n"
                                     "f,6,6,6\n"
                                     "g,7,7\n");
  FileSourceSpec spec = CsvSpec(file);
  spec.max_logged_errors = 4;
  CapturingLogger logger;
  Result<std::unique_ptr<FileSource>> source = FileSource::Open(spec, &logger);
  REQUIRE(source.ok());
  Collector collector;
  (*source)->output().Connect(&collector, 0);
  while (*(*source)->Poll(100) != PollStatus::kFinished) {
  }
  CHECK(collector.changes == Lines{"1: \"a\" 1 1.5 (1)", "7: \"g\" 7 7 (1)"});
  CHECK((*source)->stats().records_read == 2);
  CHECK((*source)->stats().records_rejected == 5);
  CHECK(logger.messages() ==
        Lines{"warning: source 'env': " + file + ":3: expected 3 fields, found 2",
              "warning: source 'env': " + file + ":4: field 'temp': invalid float \"warm\"",
              "warning: source 'env': " + file + ":5: time field 'ts' is missing",
              "warning: source 'env': " + file + ":6: unexpected character after a closing quote"});
}

TEST_CASE("with on_error = fail the first malformed record stops the source") {
  TempDir dir;
  const std::string file = dir.Write("env.csv", "device,ts,temp\na,1,1\nb,later,2\nc,3,3\n");
  FileSourceSpec spec = CsvSpec(file);
  spec.on_error = OnError::kFail;
  CapturingLogger logger;
  Result<std::unique_ptr<FileSource>> source = FileSource::Open(spec, &logger);
  REQUIRE(source.ok());
  Result<PollStatus> status = (*source)->Poll(100);
  REQUIRE(!status.ok());
  CHECK(status.status().code() == StatusCode::kInvalid);
  CHECK(status.status().message() ==
        "source 'env': " + file + ":3: time field 'ts': \"later\" is not a number of milliseconds");
  CHECK((*source)->stats().records_rejected == 1);
}

TEST_CASE("null_values and empty fields read as null, a quoted empty string stays a string") {
  TempDir dir;
  const std::string file = dir.Write("env.csv",
                                     "device,ts,temp\n"
                                     "NA,1,-200\n"
                                     "\"\",2,NA\n"
                                     "a,3,-200.5\n");
  FileSourceSpec spec = CsvSpec(file);
  spec.null_values = {"NA", "-200"};
  CHECK(Drain(spec) == Lines{"1: null 1 null (1)", "2: \"\" 2 null (1)", "3: \"a\" 3 -200.5 (1)"});
}

TEST_CASE("two time columns are joined by a space and parsed with time_format") {
  TempDir dir;
  const std::string file = dir.Write("air.csv",
                                     "Date,Time,CO\r\n"
                                     "10/03/2004,18.00.00,2.6\r\n"
                                     "10/03/2004,19.00.00,-200\r\n"
                                     "10/03/2004,,1\r\n");
  FileSourceSpec spec;
  spec.name = "air";
  spec.path = file;
  spec.fields = {
      {"Date", ValueType::kString}, {"Time", ValueType::kString}, {"CO", ValueType::kFloat}};
  spec.time_fields = {"Date", "Time"};
  spec.time_format = "%d/%m/%Y %H.%M.%S";
  spec.null_values = {"-200"};
  CapturingLogger logger;
  CHECK(Drain(spec, &logger) == Lines{"1078941600000: \"10/03/2004\" \"18.00.00\" 2.6 (1)",
                                      "1078945200000: \"10/03/2004\" \"19.00.00\" null (1)"});
  CHECK(logger.messages() == Lines{"warning: source 'air': " + file +
                                   ":4: time fields 'Date' 'Time': 'Time' is missing"});
}

TEST_CASE("ISO 8601 and float-second times become epoch milliseconds") {
  TempDir dir;
  const std::string iso = dir.Write("iso.csv",
                                    "device,ts\n"
                                    "a,2004-03-10T18:00:00.250+01:00\n"
                                    "b,2004-02-30\n");
  FileSourceSpec spec;
  spec.name = "iso";
  spec.path = iso;
  spec.fields = {{"device", ValueType::kString}, {"ts", ValueType::kString}};
  spec.time_fields = {"ts"};
  spec.time_unit = TimeUnit::kIso8601;
  CapturingLogger logger;
  CHECK(Drain(spec, &logger) == Lines{"1078938000250: \"a\" 1078938000250 (1)"});
  CHECK(logger.messages() ==
        Lines{"warning: source 'iso': " + iso +
              ":3: time field 'ts': invalid ISO 8601 time \"2004-02-30\": day out of range for the "
              "month (expected e.g. \"2004-03-10T18:00:00.250+01:00\" or \"2004-03-10\")"});

  const std::string secs = dir.Write("secs.csv", "device,ts\na,1700000000.1234\nb,-1.5\n");
  spec.path = secs;
  spec.fields[1].type = ValueType::kFloat;
  spec.time_unit = TimeUnit::kSeconds;
  CHECK(Drain(spec) == Lines{"1700000000123: \"a\" 1700000000123 (1)", "-1500: \"b\" -1500 (1)"});
}

TEST_CASE("a CSV file with a byte order mark, CRLF and quoted multi-line fields reads whole") {
  TempDir dir;
  const std::string file = dir.Write("notes.csv",
                                     "\xEF\xBB\xBF"
                                     "device,ts,temp,note\r\n"
                                     "a,1,1,\"line one\r\nline two, \"\"quoted\"\"\"\r\n"
                                     "b,2,2,plain\r\n");
  FileSourceSpec spec = CsvSpec(file);
  spec.fields.push_back({"note", ValueType::kString});
  CapturingLogger logger;
  CHECK(Drain(spec, &logger) == Lines{"1: \"a\" 1 1 \"line one\r\nline two, \"quoted\"\" (1)",
                                      "2: \"b\" 2 2 \"plain\" (1)"});
  CHECK(logger.messages().empty());
}

TEST_CASE("an empty file has no records") {
  TempDir dir;
  CHECK(Drain(CsvSpec(dir.Write("empty.csv", ""))) == Lines{});
  CHECK(Drain(CsvSpec(dir.Write("header.csv", "device,ts,temp\n"))) == Lines{});
}

TEST_CASE("a JSON Lines source decodes objects by key and rejects bad lines by number") {
  TempDir dir;
  const std::string file =
      dir.Write("env.jsonl",
                "{\"device\": \"a\", \"ts\": 1000, \"temp\": 21.5, \"x\": [1]}\n"
                "\n"
                "{\"device\": \"b\", \"ts\": \"2000\", \"temp\": \"3\"}\r\n"
                "{\"device\": \"c\", \"ts\": 3000, \"temp\": true}\n"
                "{\"device\": \"d\", \"ts\": 4000.0}\n"
                "{\"device\": \"e\", \"ts\": null}\n"
                "{\"device\": \"f\", \"ts\": 6000\n"
                "   \n");
  FileSourceSpec spec = CsvSpec(file);
  spec.format = FileFormat::kJsonl;
  CapturingLogger logger;
  CHECK(Drain(spec, &logger) ==
        Lines{"1000: \"a\" 1000 21.5 (1)", "2000: \"b\" 2000 3 (1)", "4000: \"d\" 4000 null (1)"});
  CHECK(logger.messages() ==
        Lines{"warning: source 'env': " + file + ":4: field 'temp': expected float, found a bool",
              "warning: source 'env': " + file + ":6: time field 'ts' is missing",
              "warning: source 'env': " + file +
                  ":7: invalid JSON: The JSON document has an improper structure: missing or "
                  "superfluous commas, braces, missing keys, etc."});
}

TEST_CASE("a JSON Lines directory reads .jsonl files; joined times come from typed values") {
  TempDir dir;
  dir.Write("in/b.jsonl", "{\"day\": \"2004-03-10\", \"hour\": \"18:00\", \"n\": 2}\n");
  dir.Write("in/a.jsonl", "{\"day\": \"2004-03-10\", \"hour\": \"17:00\", \"n\": 1}\n");
  dir.Write("in/c.csv", "day,hour,n\n");
  FileSourceSpec spec;
  spec.name = "j";
  spec.path = dir.Path("in");
  spec.format = FileFormat::kJsonl;
  spec.fields = {{"day", ValueType::kString}, {"hour", ValueType::kString}, {"n", ValueType::kInt}};
  spec.time_fields = {"day", "hour"};
  CHECK(Drain(spec) == Lines{"1078938000000: \"2004-03-10\" \"17:00\" 1 (1)",
                             "1078941600000: \"2004-03-10\" \"18:00\" 2 (1)"});
}

TEST_CASE("arrival-time sources stamp records with the wall clock") {
  TempDir dir;
  FileSourceSpec spec = CsvSpec(dir.Write("env.csv", "device,ts,temp\na,1,1\n"));
  spec.time_fields = {};
  spec.time_arrival = true;
  const Timestamp before = SystemClock().NowMillis();
  Lines changes = Drain(spec);
  const Timestamp after = SystemClock().NowMillis();
  REQUIRE(changes.size() == 1);
  const Timestamp stamped = std::stoll(changes[0]);
  CHECK(stamped >= before);
  CHECK(stamped <= after);
  CHECK(changes[0].substr(changes[0].find(':')) == ": \"a\" 1 1 (1)");
}

TEST_CASE("invalid source settings are rejected at open") {
  TempDir dir;
  const std::string file = dir.Write("env.csv", "device,ts,temp\n");
  FileSourceSpec spec = CsvSpec(file);
  spec.speed = 1;
  CHECK(OpenError(spec) == "source 'env': speed only applies to mode replay");
  spec = CsvSpec(file);
  spec.time_fields = {"time"};
  CHECK(OpenError(spec) == "source 'env': time field 'time' is not among the declared fields");
  spec.time_fields = {};
  CHECK(OpenError(spec) ==
        "source 'env': no time field (set time = \"FIELD\", or time = \"arrival\")");
  spec = CsvSpec(file);
  spec.fields.push_back({"ts", ValueType::kInt});
  CHECK(OpenError(spec) == "source 'env': field 'ts' is declared twice");
}

// ---- replay and follow ----

using Step = std::pair<PollStatus, Lines>;

TEST_CASE("replay emits batch by batch; its watermark trails the largest time by max_delay") {
  TempDir dir;
  FileSourceSpec spec =
      CsvSpec(dir.Write("env.csv", "device,ts,temp\na,5000,1\nb,3000,2\nc,9000,3\nd,8000,4\n"));
  spec.mode = FileSourceMode::kReplay;
  spec.max_delay = 2000;
  Polled p(spec);
  CHECK_FALSE(p.source->bounded());
  CHECK(p.source->watermark() == kMinTime);
  CHECK(p.Poll(1) == Step{PollStatus::kProgress, {"5000: \"a\" 5000 1 (1)"}});
  CHECK(p.source->watermark() == 3000);
  CHECK(p.Poll(1) == Step{PollStatus::kProgress, {"3000: \"b\" 3000 2 (1)"}});
  CHECK(p.source->watermark() == 3000);  // an earlier time never moves it back
  CHECK(p.Poll(2) ==
        Step{PollStatus::kProgress, {"9000: \"c\" 9000 3 (1)", "8000: \"d\" 8000 4 (1)"}});
  CHECK(p.source->watermark() == 7000);
  // The end of the input finishes the source, so a replay run ends like a static one.
  CHECK(p.Poll(2) == Step{PollStatus::kFinished, {}});
  CHECK(p.source->watermark() == kMaxTime);
  CHECK(p.Poll(2) == Step{PollStatus::kFinished, {}});
  CHECK(p.source->stats().records_read == 4);
}

TEST_CASE("replay reads several files as one stream in name order, skipping bad lines") {
  TempDir dir;
  dir.Write("logs/2.csv", "device,ts,temp\nb,20,2\nbad\n");
  dir.Write("logs/1.csv", "device,ts,temp\na,10,1\n");
  FileSourceSpec spec = CsvSpec(dir.Path("logs"));
  spec.mode = FileSourceMode::kReplay;
  Polled p(spec);
  CHECK(p.Poll(5) == Step{PollStatus::kFinished, {"10: \"a\" 10 1 (1)", "20: \"b\" 20 2 (1)"}});
  CHECK(p.source->stats().records_rejected == 1);
  CHECK(p.Logged("2.csv:3: expected 3 fields, found 1"));
}

TEST_CASE("replay at speed 1 paces records by event time on the injected clock") {
  TempDir dir;
  FileSourceSpec spec = CsvSpec(
      dir.Write("env.csv", "device,ts,temp\na,1000,1\nb,1500,2\nc,1200,3\nd,4000,4\ne,4000,5\n"));
  spec.mode = FileSourceMode::kReplay;
  spec.speed = 1;
  ManualClock clock(1'700'000'000'000);
  spec.clock = &clock;
  Polled p(spec);
  // The first record goes at once and starts the clock of the replay.
  CHECK(p.Poll() == Step{PollStatus::kProgress, {"1000: \"a\" 1000 1 (1)"}});
  CHECK(p.source->watermark() == 1000);
  CHECK(p.Poll() == Step{PollStatus::kIdle, {}});
  clock.Advance(499);
  CHECK(p.Poll() == Step{PollStatus::kIdle, {}});
  clock.Advance(1);
  // 1200 comes after 1500: time does not run backwards, so it goes at once.
  CHECK(p.Poll() ==
        Step{PollStatus::kProgress, {"1500: \"b\" 1500 2 (1)", "1200: \"c\" 1200 3 (1)"}});
  clock.Advance(2499);
  CHECK(p.Poll() == Step{PollStatus::kIdle, {}});
  clock.Advance(1);
  CHECK(p.Poll(1) == Step{PollStatus::kProgress, {"4000: \"d\" 4000 4 (1)"}});
  CHECK(p.Poll(1) == Step{PollStatus::kProgress, {"4000: \"e\" 4000 5 (1)"}});
  CHECK(p.Poll() == Step{PollStatus::kFinished, {}});
  CHECK(p.source->watermark() == kMaxTime);
}

TEST_CASE("replay at speed 2 runs twice as fast as the event times") {
  TempDir dir;
  FileSourceSpec spec = CsvSpec(dir.Write("env.csv", "device,ts,temp\na,0,1\nb,10000,2\n"));
  spec.mode = FileSourceMode::kReplay;
  spec.speed = 2;
  ManualClock clock(0);
  spec.clock = &clock;
  Polled p(spec);
  CHECK(p.Poll().second.size() == 1);
  clock.Advance(4999);
  CHECK(p.Poll() == Step{PollStatus::kIdle, {}});
  clock.Advance(1);
  // The poll that emits the last record also reports the end of the input.
  CHECK(p.Poll() == Step{PollStatus::kFinished, {"10000: \"b\" 10000 2 (1)"}});
}

// A follow-mode spec on a manual clock; polls see new data once the clock passes the rescan
// interval (100 ms).
FileSourceSpec FollowSpec(const std::string& path, ManualClock* clock) {
  FileSourceSpec spec = CsvSpec(path);
  spec.mode = FileSourceMode::kFollow;
  spec.clock = clock;
  return spec;
}

TEST_CASE("follow reads what exists, then appended lines; a partial last line waits") {
  TempDir dir;
  const std::string file = dir.Write("env.csv", "device,ts,temp\na,1000,1\nb,2000,2\n");
  ManualClock clock(0);
  FileSourceSpec spec = FollowSpec(file, &clock);
  spec.max_delay = 500;
  Polled p(spec);
  CHECK_FALSE(p.source->bounded());
  CHECK(p.Poll() ==
        Step{PollStatus::kProgress, {"1000: \"a\" 1000 1 (1)", "2000: \"b\" 2000 2 (1)"}});
  CHECK(p.source->watermark() == 1500);
  CHECK(p.Poll() == Step{PollStatus::kIdle, {}});
  Append(file, "c,3000,3\nd,40");
  // Idle polls do not look at the file again before the rescan interval.
  CHECK(p.Poll() == Step{PollStatus::kIdle, {}});
  clock.Advance(100);
  CHECK(p.Poll() == Step{PollStatus::kProgress, {"3000: \"c\" 3000 3 (1)"}});
  clock.Advance(100);
  CHECK(p.Poll() == Step{PollStatus::kIdle, {}});
  Append(file, "00,4\n");
  clock.Advance(100);
  CHECK(p.Poll() == Step{PollStatus::kProgress, {"4000: \"d\" 4000 4 (1)"}});
  CHECK(p.source->watermark() == 3500);
  // Follow never finishes.
  clock.Advance(100);
  CHECK(p.Poll() == Step{PollStatus::kIdle, {}});
  CHECK(p.source->watermark() == 3500);
}

TEST_CASE("a wall clock stepping backwards does not stall follow") {
  TempDir dir;
  const std::string file = dir.Write("env.csv", "device,ts,temp\na,1,1\n");
  ManualClock clock(1'700'000'000'000);
  Polled p(FollowSpec(file, &clock));
  CHECK(p.Poll().second.size() == 1);
  CHECK(p.Poll() == Step{PollStatus::kIdle, {}});
  clock.Set(1'000'000'000'000);  // an NTP step at boot
  Append(file, "b,2,2\n");
  CHECK(p.Poll() == Step{PollStatus::kProgress, {"2: \"b\" 2 2 (1)"}});
  Append(file, "c,3,3\n");
  clock.Advance(100);
  CHECK(p.Poll() == Step{PollStatus::kProgress, {"3: \"c\" 3 3 (1)"}});
}

TEST_CASE("follow on a directory picks up new files in name order, and waits for the first") {
  TempDir dir;
  std::filesystem::create_directories(dir.Path("logs"));
  ManualClock clock(0);
  Polled p(FollowSpec(dir.Path("logs"), &clock));
  CHECK(p.Logged("nothing matches"));
  CHECK(p.source->watermark() == kMinTime);
  CHECK(p.Poll() == Step{PollStatus::kIdle, {}});
  dir.Write("logs/b.csv", "device,ts,temp\nb,2,2\n");
  clock.Advance(100);
  CHECK(p.Poll() == Step{PollStatus::kProgress, {"2: \"b\" 2 2 (1)"}});
  dir.Write("logs/d.csv", "device,ts,temp\nd,4,4\n");
  dir.Write("logs/c.csv", "device,ts,temp\nc,3,3\n");
  dir.Write("logs/.e.csv", "device,ts,temp\ne,5,5\n");  // hidden: a copy in progress
  clock.Advance(100);
  CHECK(p.Poll() == Step{PollStatus::kProgress, {"3: \"c\" 3 3 (1)", "4: \"d\" 4 4 (1)"}});
  CHECK(p.Logged("following new file '" + dir.Path("logs/c.csv") + "'"));
  // A new file whose header lacks a field is skipped with a warning, not fatal.
  dir.Write("logs/f.csv", "device,time,temp\nf,6,6\n");
  clock.Advance(100);
  CHECK(p.Poll() == Step{PollStatus::kIdle, {}});
  CHECK(p.Logged("field 'ts' is not in the header"));
  Append(dir.Path("logs/b.csv"), "b,7,7\n");
  clock.Advance(100);
  CHECK(p.Poll() == Step{PollStatus::kProgress, {"7: \"b\" 7 7 (1)"}});
}

TEST_CASE("follow reads a truncated file again from the start") {
  TempDir dir;
  const std::string file = dir.Write("env.csv", "device,ts,temp\na,1,1\nb,2,2\nc,3,3\n");
  ManualClock clock(0);
  Polled p(FollowSpec(file, &clock));
  CHECK(p.Poll().second.size() == 3);
  dir.Write("env.csv", "device,ts,temp\nd,4,4\n");  // rewritten in place, shorter
  clock.Advance(100);
  CHECK(p.Poll() == Step{PollStatus::kProgress, {"4: \"d\" 4 4 (1)"}});
  CHECK(p.Logged("'" + file + "' was truncated to 21 bytes after 33 were read"));
}

TEST_CASE("follow finishes a rotated file, then reads its successor from the start") {
  TempDir dir;
  const std::string file = dir.Write("env.csv", "device,ts,temp\na,1,1\n");
  ManualClock clock(0);
  Polled p(FollowSpec(file, &clock));
  CHECK(p.Poll().second.size() == 1);
  // The writer appends a last line, then the log rotates: renamed away, a new file created.
  Append(file, "b,2,2\n");
  std::filesystem::rename(file, file + ".1");
  dir.Write("env.csv", "device,ts,temp\nc,3,3\n");
  clock.Advance(100);
  CHECK(p.Poll() == Step{PollStatus::kProgress, {"2: \"b\" 2 2 (1)", "3: \"c\" 3 3 (1)"}});
  CHECK(p.Logged("'" + file + "' was rotated or removed; reading it to its end"));
  Append(file + ".1", "x,9,9\n");  // the old file is no longer followed
  Append(file, "d,4,4\n");
  clock.Advance(100);
  CHECK(p.Poll() == Step{PollStatus::kProgress, {"4: \"d\" 4 4 (1)"}});
}

TEST_CASE("follow keeps a file renamed within a glob, without reading it twice") {
  TempDir dir;
  const std::string file = dir.Write("app.csv", "device,ts,temp\na,1,1\n");
  ManualClock clock(0);
  Polled p(FollowSpec(dir.Path("*.csv"), &clock));
  CHECK(p.Poll().second.size() == 1);
  std::filesystem::rename(file, dir.Path("app-1.csv"));
  dir.Write("app.csv", "device,ts,temp\nb,2,2\n");
  Append(dir.Path("app-1.csv"), "c,3,3\n");
  clock.Advance(100);
  CHECK(p.Poll() == Step{PollStatus::kProgress, {"3: \"c\" 3 3 (1)", "2: \"b\" 2 2 (1)"}});
}

TEST_CASE("follow reads JSON Lines as they are appended") {
  TempDir dir;
  const std::string file = dir.Write("env.jsonl", "{\"device\":\"a\",\"ts\":1,\"temp\":1.5}\n");
  ManualClock clock(0);
  FileSourceSpec spec = FollowSpec(file, &clock);
  spec.format = FileFormat::kJsonl;
  Polled p(spec);
  CHECK(p.Poll() == Step{PollStatus::kProgress, {"1: \"a\" 1 1.5 (1)"}});
  Append(file, "{\"device\":\"b\",\"ts\":2,\"temp\":2.5}\n{\"device\":");
  clock.Advance(100);
  CHECK(p.Poll() == Step{PollStatus::kProgress, {"2: \"b\" 2 2.5 (1)"}});
}

TEST_CASE("an idle followed file is closed and reopened where it stopped when it grows") {
  TempDir dir;
  const std::string file = dir.Write("env.csv", "device,ts,temp\na,1,1\n");
  ManualClock clock(0);
  RecordLayout layout;
  layout.fields = {
      {"device", ValueType::kString}, {"ts", ValueType::kInt}, {"temp", ValueType::kFloat}};
  Result<EventTimeRule> rule = EventTimeRule::Create(CsvSpec(file), &clock);
  REQUIRE(rule.ok());
  layout.time = *rule;
  CapturingLogger logger;
  FileFollower::Options options;
  options.path = dir.Path("*.csv");
  options.extensions = {".csv"};
  options.layout = &layout;
  options.clock = &clock;
  options.logger = &logger;
  options.prefix = "source 'env'";
  Result<std::unique_ptr<FileFollower>> opened = FileFollower::Open(options);
  REQUIRE(opened.ok());
  FileFollower& follower = **opened;
  Row row;
  Timestamp time = 0;
  std::string reason;
  using Outcome = RecordFileReader::Outcome;
  CHECK(follower.Next(&row, &time, &reason) == Outcome::kRecord);
  CHECK(follower.line() == 2);
  CHECK(follower.Next(&row, &time, &reason) == Outcome::kNeedMore);
  CHECK(follower.open_files() == 1);
  clock.Advance(10'000);
  CHECK(follower.Next(&row, &time, &reason) == Outcome::kNeedMore);
  CHECK(follower.files() == 1);
  CHECK(follower.open_files() == 0);
  Append(file, "b,2,2\nnot a record\nc,3,3\n");
  clock.Advance(100);
  CHECK(follower.Next(&row, &time, &reason) == Outcome::kRecord);
  CHECK(follower.open_files() == 1);
  CHECK(time == 2);
  CHECK(row[0] == Value::String("b"));
  // Lines keep their numbers in the file across the reopening.
  CHECK(follower.line() == 3);
  CHECK(follower.Next(&row, &time, &reason) == Outcome::kRejected);
  CHECK(follower.line() == 4);
  CHECK(reason == "expected 3 fields, found 1");
  CHECK(follower.Next(&row, &time, &reason) == Outcome::kRecord);
  CHECK(follower.line() == 5);
  CHECK(follower.file() == file);
}

}  // namespace
}  // namespace runnel
