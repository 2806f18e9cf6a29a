#include "io/file_sink.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "io/changelog_writer.h"
#include "tests/io/temp_dir.h"

namespace runnel {
namespace {

namespace fs = std::filesystem;

using testing::TempDir;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

Schema TestSchema() {
  return Schema({{"device", ValueType::kString},
                 {"ts", ValueType::kInt},
                 {"temp", ValueType::kFloat},
                 {"ok", ValueType::kBool}});
}

// Writes the same changes to a sink of `format`: nulls, empty and awkward strings, floats
// whose shortest form matters, and a retraction.
Status WriteChanges(FileSink& sink) {
  sink.OnChange(0, {Value::String("dev-1"), Value::Int(1000), Value::Float(0.1), Value::Bool(true)},
                1000, 1);
  sink.OnChange(0, {Value(), Value::Int(2000), Value::Float(1e21), Value::Bool(false)}, 2000, 1);
  sink.OnChange(0, {Value::String(""), Value::Int(-3), Value::Float(-0.0), Value()}, -3, 1);
  sink.OnChange(
      0, {Value::String("a,\"b\"\nc"), Value::Int(4), Value::Float(2.5), Value::Bool(true)}, 4, 1);
  sink.OnChange(0, {Value::String("dev-1"), Value::Int(1000), Value::Float(0.1), Value::Bool(true)},
                1000, -1);
  const Timestamp in[] = {4000};
  Timestamp out = kMinTime;
  Status status = sink.Advance(in, &out);
  CHECK(out == 4000);
  return status;
}

TEST_CASE("a CSV file sink writes the header, the changes and their diffs") {
  TempDir dir;
  const std::string path = dir.Path("out/nested/env.csv");
  Result<std::unique_ptr<FileSink>> sink = FileSink::Create({path, FileFormat::kCsv}, TestSchema());
  REQUIRE_MESSAGE(sink.ok(), sink.status().message());
  REQUIRE(WriteChanges(**sink).ok());
  REQUIRE((*sink)->Close().ok());
  CHECK(ReadFile(path) ==
        "device,ts,temp,ok,diff\n"
        "dev-1,1000,0.1,true,1\n"
        ",2000,1e+21,false,1\n"
        "\"\",-3,-0,,1\n"
        "\"a,\"\"b\"\"\nc\",4,2.5,true,1\n"
        "dev-1,1000,0.1,true,-1\n");
  CHECK((*sink)->stats().rows_written == 5);
}

TEST_CASE("a JSON Lines file sink writes one object per change with its diff") {
  TempDir dir;
  const std::string path = dir.Path("env.jsonl");
  Result<std::unique_ptr<FileSink>> sink =
      FileSink::Create({path, FileFormat::kJsonl}, TestSchema());
  REQUIRE(sink.ok());
  REQUIRE(WriteChanges(**sink).ok());
  REQUIRE((*sink)->Close().ok());
  CHECK(ReadFile(path) ==
        "{\"device\":\"dev-1\",\"ts\":1000,\"temp\":0.1,\"ok\":true,\"diff\":1}\n"
        "{\"device\":null,\"ts\":2000,\"temp\":1e+21,\"ok\":false,\"diff\":1}\n"
        "{\"device\":\"\",\"ts\":-3,\"temp\":-0,\"ok\":null,\"diff\":1}\n"
        "{\"device\":\"a,\\\"b\\\"\\nc\",\"ts\":4,\"temp\":2.5,\"ok\":true,\"diff\":1}\n"
        "{\"device\":\"dev-1\",\"ts\":1000,\"temp\":0.1,\"ok\":true,\"diff\":-1}\n");
  CHECK((*sink)->stats().rows_written == 5);
}

TEST_CASE("column names that need quoting or escaping are written so") {
  TempDir dir;
  const Schema schema({{"a b", ValueType::kInt}, {"c,\"d\"", ValueType::kInt}});
  const std::string csv = dir.Path("q.csv");
  const std::string jsonl = dir.Path("q.jsonl");
  auto a = FileSink::Create({csv, FileFormat::kCsv}, schema);
  auto b = FileSink::Create({jsonl, FileFormat::kJsonl}, schema);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  (*a)->OnChange(0, {Value::Int(1), Value::Int(2)}, 0, 1);
  (*b)->OnChange(0, {Value::Int(1), Value::Int(2)}, 0, 1);
  REQUIRE((*a)->Close().ok());
  REQUIRE((*b)->Close().ok());
  CHECK(ReadFile(csv) == "a b,\"c,\"\"d\"\"\",diff\n1,2,1\n");
  CHECK(ReadFile(jsonl) == "{\"a b\":1,\"c,\\\"d\\\"\":2,\"diff\":1}\n");
}

TEST_CASE("a file sink truncates an existing file and writes a header even with no rows") {
  TempDir dir;
  const std::string path = dir.Path("env.csv");
  std::ofstream(path) << "old content that is longer than the new\n";
  auto sink = FileSink::Create({path, FileFormat::kCsv}, TestSchema());
  REQUIRE(sink.ok());
  REQUIRE((*sink)->Close().ok());
  CHECK(ReadFile(path) == "device,ts,temp,ok,diff\n");
  CHECK((*sink)->stats().rows_written == 0);
}

TEST_CASE("a file sink buffers and writes large outputs completely") {
  TempDir dir;
  const std::string path = dir.Path("big.csv");
  auto sink = FileSink::Create({path, FileFormat::kCsv}, Schema({{"n", ValueType::kInt}}));
  REQUIRE(sink.ok());
  std::string expected = "n,diff\n";
  for (int64_t i = 0; i < 300000; ++i) {
    (*sink)->OnChange(0, {Value::Int(i)}, i, 1);
    expected += std::to_string(i) + ",1\n";
  }
  REQUIRE((*sink)->Close().ok());
  CHECK(ReadFile(path) == expected);
  CHECK((*sink)->stats().rows_written == 300000);
}

TEST_CASE("a write error is reported from the next Advance and from Close") {
  if (!fs::exists("/dev/full")) return;
  auto sink = FileSink::Create({"/dev/full", FileFormat::kCsv}, TestSchema());
  REQUIRE(sink.ok());
  Status status = WriteChanges(**sink);
  CHECK(status.code() == StatusCode::kIoError);
  CHECK(status.message() == "cannot write '/dev/full': No space left on device");
  // Later changes are dropped; the first error stays.
  (*sink)->OnChange(0, {Value(), Value(), Value(), Value()}, 0, 1);
  Status closed = (*sink)->Close();
  CHECK(closed.code() == StatusCode::kIoError);
  CHECK(closed.message() == "cannot write '/dev/full': No space left on device");
}

// Steps larger than a chunk are formatted on the sink's writer thread: whatever the step's
// size, everything it wrote is in the file when Advance returns, in order, byte for byte.
TEST_CASE("every step is completely written when Advance returns, in both formats") {
  for (FileFormat format : {FileFormat::kCsv, FileFormat::kJsonl}) {
    TempDir dir;
    const std::string path = dir.Path("steps.out");
    auto sink = FileSink::Create({path, format}, TestSchema());
    REQUIRE(sink.ok());
    std::string expected = format == FileFormat::kCsv ? "device,ts,temp,ok,diff\n" : "";
    int64_t n = 0;
    // Empty, tiny, exactly one chunk, several chunks plus a partial one, more than the queue.
    for (size_t rows :
         {size_t{0}, size_t{1}, ChangelogWriter::kChunkRows, size_t{5000}, size_t{1},
          (ChangelogWriter::kMaxQueuedChunks + 3) * ChangelogWriter::kChunkRows + 7}) {
      for (size_t i = 0; i < rows; ++i, ++n) {
        const Diff diff = n % 3 == 0 ? -1 : 1;
        const std::string device = "dev-" + std::to_string(n % 7) + (n % 11 == 0 ? ",x" : "");
        const Row row{n % 13 == 0 ? Value() : Value::String(device), Value::Int(n),
                      Value::Float(static_cast<double>(n) / 8), Value::Bool(n % 2 == 0)};
        (*sink)->OnChange(0, row, n, diff);
        // n / 8 in shortest round-trip form.
        static const char* const kEighths[] = {"",   ".125", ".25", ".375",
                                               ".5", ".625", ".75", ".875"};
        const std::string temp = std::to_string(n / 8) + kEighths[n % 8];
        const std::string ok = n % 2 == 0 ? "true" : "false";
        if (format == FileFormat::kCsv) {
          const std::string field = n % 13 == 0 ? "" : n % 11 == 0 ? "\"" + device + "\"" : device;
          expected += field + "," + std::to_string(n) + "," + temp + "," + ok + "," +
                      std::to_string(diff) + "\n";
        } else {
          const std::string field = n % 13 == 0 ? "null" : "\"" + device + "\"";
          expected += "{\"device\":" + field + ",\"ts\":" + std::to_string(n) +
                      ",\"temp\":" + temp + ",\"ok\":" + ok + ",\"diff\":" + std::to_string(diff) +
                      "}\n";
        }
      }
      const Timestamp in[] = {n};
      Timestamp out = kMinTime;
      REQUIRE((*sink)->Advance(in, &out).ok());
      REQUIRE(ReadFile(path) == expected);
    }
    REQUIRE((*sink)->Close().ok());
    CHECK(ReadFile(path) == expected);
    CHECK((*sink)->stats().rows_written == static_cast<uint64_t>(n));
  }
}

// A reader that starts late keeps the writer thread blocked in write(2), so the engine finds
// the queue full and formats chunks itself: the text must still come out in order.
TEST_CASE("a slow consumer: chunks formatted by the engine keep their place in the output") {
  TempDir dir;
  const std::string path = dir.Path("slow.fifo");
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  // Opened before the sink (a non-blocking open needs no writer yet), read blocking.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(fd >= 0);
  REQUIRE(::fcntl(fd, F_SETFL, 0) == 0);
  auto sink = FileSink::Create({path, FileFormat::kCsv},
                               Schema({{"n", ValueType::kInt}, {"s", ValueType::kString}}));
  REQUIRE(sink.ok());
  std::string received;
  std::thread reader([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) received.append(buf, n);
    ::close(fd);
  });
  // Lines of about 110 bytes: many times the writer's 1 MiB buffer and the pipe's.
  const std::string text(100, 'x');
  std::string expected = "n,s,diff\n";
  const size_t rows = (3 * ChangelogWriter::kMaxQueuedChunks + 10) * ChangelogWriter::kChunkRows;
  for (size_t i = 0; i < rows; ++i) {
    (*sink)->OnChange(0, {Value::Int(static_cast<int64_t>(i)), Value::String(text)}, 0, 1);
    expected += std::to_string(i) + "," + text + ",1\n";
  }
  const Timestamp in[] = {0};
  Timestamp out = kMinTime;
  CHECK((*sink)->Advance(in, &out).ok());
  CHECK((*sink)->Close().ok());
  reader.join();
  CHECK(received.size() == expected.size());
  CHECK(received == expected);
}

TEST_CASE("a write error on the writer thread is reported from Advance and from Close") {
  if (!fs::exists("/dev/full")) return;
  auto sink = FileSink::Create({"/dev/full", FileFormat::kJsonl}, TestSchema());
  REQUIRE(sink.ok());
  // Far more than the writer's 1 MiB buffer, so the writer thread itself hits the error.
  const Row row{Value::String(std::string(200, 'x')), Value::Int(1), Value::Float(0.5),
                Value::Bool(true)};
  for (int step = 0; step < 2; ++step) {
    for (size_t i = 0; i < 20 * ChangelogWriter::kChunkRows; ++i) (*sink)->OnChange(0, row, 1, 1);
    const Timestamp in[] = {1};
    Timestamp out = kMinTime;
    const Status status = (*sink)->Advance(in, &out);
    CHECK(status.code() == StatusCode::kIoError);
    CHECK(status.message() == "cannot write '/dev/full': No space left on device");
  }
  const Status closed = (*sink)->Close();
  CHECK(closed.code() == StatusCode::kIoError);
  CHECK(closed.message() == "cannot write '/dev/full': No space left on device");
}

TEST_CASE("a file sink that cannot open its file fails to create, naming the file") {
  TempDir dir;
  const std::string path = dir.Path("taken");
  fs::create_directories(path);
  auto sink = FileSink::Create({path, FileFormat::kCsv}, TestSchema());
  REQUIRE(!sink.ok());
  CHECK(sink.status().code() == StatusCode::kIoError);
  CHECK(sink.status().message() == "cannot open '" + path + "' for writing: Is a directory");
}

TEST_CASE("the sink's output watermark is its input watermark") {
  TempDir dir;
  auto sink = FileSink::Create({dir.Path("w.csv"), FileFormat::kCsv}, TestSchema());
  REQUIRE(sink.ok());
  for (Timestamp wm : {kMinTime, Timestamp{5}, kMaxTime}) {
    const Timestamp in[] = {wm};
    Timestamp out = 0;
    REQUIRE((*sink)->Advance(in, &out).ok());
    CHECK(out == wm);
  }
  REQUIRE((*sink)->Close().ok());
}

}  // namespace
}  // namespace runnel
