#include "runtime/snapshot.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

namespace runnel {
namespace {

// Writes one of everything the encoding knows.
std::string Sample() {
  SnapshotWriter w;
  w.WriteU8(0xab);
  w.WriteBool(true);
  w.WriteVarint(0);
  w.WriteVarint(std::numeric_limits<uint64_t>::max());
  w.WriteSigned(-1);
  w.WriteSigned(std::numeric_limits<int64_t>::min());
  w.WriteTimestamp(kMinTime);
  w.WriteTimestamp(kMaxTime);
  w.WriteTimestamp(1700000000123);
  w.WriteDouble(-0.0);
  w.WriteDouble(0.1);
  w.WriteDouble(std::numeric_limits<double>::denorm_min());
  w.WriteString("");
  w.WriteString(std::string("a\0b", 3));
  w.WriteRow({Value::Null(), Value::Bool(false), Value::Int(-42), Value::Float(2.5),
              Value::String("dev-1")});
  w.WriteRow({});
  return w.Release();
}

// Reads Sample() back, checking each item; returns the first error.
Status ReadSample(std::string_view bytes) {
  RUNNEL_ASSIGN_OR_RETURN(SnapshotReader r, SnapshotReader::Open(bytes));
  uint8_t u8 = 0;
  RUNNEL_RETURN_IF_ERROR(r.ReadU8("u8", &u8));
  CHECK(u8 == 0xab);
  bool b = false;
  RUNNEL_RETURN_IF_ERROR(r.ReadBool("bool", &b));
  CHECK(b);
  uint64_t u = 1;
  RUNNEL_RETURN_IF_ERROR(r.ReadVarint("zero", &u));
  CHECK(u == 0);
  RUNNEL_RETURN_IF_ERROR(r.ReadVarint("max", &u));
  CHECK(u == std::numeric_limits<uint64_t>::max());
  int64_t i = 0;
  RUNNEL_RETURN_IF_ERROR(r.ReadSigned("minus one", &i));
  CHECK(i == -1);
  RUNNEL_RETURN_IF_ERROR(r.ReadSigned("int64 min", &i));
  CHECK(i == std::numeric_limits<int64_t>::min());
  Timestamp t = 0;
  RUNNEL_RETURN_IF_ERROR(r.ReadTimestamp("-inf", &t));
  CHECK(t == kMinTime);
  RUNNEL_RETURN_IF_ERROR(r.ReadTimestamp("+inf", &t));
  CHECK(t == kMaxTime);
  RUNNEL_RETURN_IF_ERROR(r.ReadTimestamp("time", &t));
  CHECK(t == 1700000000123);
  double d = 1;
  RUNNEL_RETURN_IF_ERROR(r.ReadDouble("-0.0", &d));
  CHECK(d == 0.0);
  CHECK(std::signbit(d));
  RUNNEL_RETURN_IF_ERROR(r.ReadDouble("0.1", &d));
  CHECK(d == 0.1);
  RUNNEL_RETURN_IF_ERROR(r.ReadDouble("denormal", &d));
  CHECK(d == std::numeric_limits<double>::denorm_min());
  std::string s = "x";
  RUNNEL_RETURN_IF_ERROR(r.ReadString("empty", &s));
  CHECK(s.empty());
  RUNNEL_RETURN_IF_ERROR(r.ReadString("nul", &s));
  CHECK(s == std::string("a\0b", 3));
  Row row;
  RUNNEL_RETURN_IF_ERROR(r.ReadRow("row", &row));
  CHECK(row == Row{Value::Null(), Value::Bool(false), Value::Int(-42), Value::Float(2.5),
                   Value::String("dev-1")});
  RUNNEL_RETURN_IF_ERROR(r.ReadRow("empty row", &row));
  CHECK(row.empty());
  return r.ExpectEnd();
}

TEST_CASE("a snapshot reads back every item it wrote, bit for bit") {
  const Status status = ReadSample(Sample());
  CHECK_MESSAGE(status.ok(), status.message());
}

TEST_CASE("a snapshot cut at any byte fails with Corruption naming what was being read") {
  const std::string bytes = Sample();
  for (size_t size = 0; size < bytes.size(); ++size) {
    const Status status = ReadSample(std::string_view(bytes).substr(0, size));
    REQUIRE_MESSAGE(!status.ok(), "cut at ", size);
    CHECK(status.code() == StatusCode::kCorruption);
  }
  // The magic is 4 bytes and the version 1: the first item is then the "u8".
  CHECK(ReadSample(std::string_view(bytes).substr(0, 5)).message() ==
        "operator state snapshot truncated while reading u8 at byte 5 of 5");
  // Inside the row's string value.
  CHECK(ReadSample(std::string_view(bytes).substr(0, bytes.size() - 4))
            .message()
            .find("truncated while reading row") != std::string::npos);
}

TEST_CASE("a snapshot with trailing bytes is refused") {
  const Status status = ReadSample(Sample() + "x");
  CHECK(status.code() == StatusCode::kCorruption);
  CHECK(status.message().find("1 unread bytes") != std::string::npos);
}

TEST_CASE("a reset writer writes exactly what a new writer would") {
  SnapshotWriter reused;
  reused.WriteRow({Value::String("a long first record that outgrows the buffer"), Value::Int(7)});
  reused.Reset();
  const Row row = {Value::String("dev-1"), Value::Float(21.5), Value()};
  reused.WriteRow(row);
  SnapshotWriter fresh;
  fresh.WriteRow(row);
  CHECK(reused.bytes() == fresh.bytes());
  Result<SnapshotReader> reader = SnapshotReader::Open(reused.bytes());
  REQUIRE(reader.ok());
  Row back;
  REQUIRE(reader->ReadRow("row", &back).ok());
  CHECK(back == row);
}

TEST_CASE("foreign bytes and other format versions are refused before any state is read") {
  Result<SnapshotReader> foreign = SnapshotReader::Open("SQLite format 3");
  REQUIRE(!foreign.ok());
  CHECK(foreign.status().code() == StatusCode::kCorruption);
  CHECK(foreign.status().message().find("magic") != std::string::npos);

  std::string other = SnapshotWriter().Release();
  other.back() = static_cast<char>(kSnapshotFormatVersion + 1);
  Result<SnapshotReader> version = SnapshotReader::Open(other);
  REQUIRE(!version.ok());
  CHECK(version.status().message() ==
        "operator state snapshot: format version 2 is not the supported version 1: reset the "
        "state with --reset-state or replay the log");
}

TEST_CASE("corrupt items are refused: bad bool, bad value tag, oversized varint and count") {
  const std::string header = SnapshotWriter().Release();
  bool b = false;
  Value v;
  uint64_t u = 0;
  size_t n = 0;
  // The reader views its bytes: they must outlive it.
  const std::string bad_bool = header + "\x02";
  const std::string bad_tag = header + "\x07";
  const std::string overflow = header + std::string(10, '\xff') + "\x01";
  const std::string endless = header + std::string(11, '\x80');
  const std::string big_count = header + "\x64" + "abc";           // 100 items in 3 bytes
  const std::string big_string = header + "\xff\xff\xff\xff\x0f";  // a 4 GiB string

  Result<SnapshotReader> r = SnapshotReader::Open(bad_bool);
  REQUIRE(r.ok());
  CHECK(r->ReadBool("flag", &b).message() ==
        "operator state snapshot corrupt at byte 5 of 6: flag is 2, not a bool (0 or 1)");

  r = SnapshotReader::Open(bad_tag);
  REQUIRE(r.ok());
  CHECK(r->ReadValue("key", &v).message() ==
        "operator state snapshot corrupt at byte 5 of 6: key has value type tag 7 (expected 0-4)");

  r = SnapshotReader::Open(overflow);
  REQUIRE(r.ok());
  CHECK(r->ReadVarint("seq", &u).message().find("seq overflows 64 bits") != std::string::npos);

  r = SnapshotReader::Open(endless);
  REQUIRE(r.ok());
  CHECK(r->ReadVarint("seq", &u).code() == StatusCode::kCorruption);

  r = SnapshotReader::Open(big_count);
  REQUIRE(r.ok());
  CHECK(r->ReadCount("windows", 1, &n).message() ==
        "operator state snapshot corrupt at byte 6 of 9: windows count 100 exceeds the 3 bytes "
        "left");

  r = SnapshotReader::Open(big_string);
  REQUIRE(r.ok());
  std::string s;
  CHECK(r->ReadString("name", &s).code() == StatusCode::kCorruption);
}

TEST_CASE("the encoding is compact: small numbers take one byte") {
  SnapshotWriter w;
  const size_t header = w.bytes().size();
  w.WriteVarint(127);
  w.WriteSigned(-64);
  w.WriteValue(Value::Int(3));
  CHECK(w.bytes().size() - header == 4);
}

}  // namespace
}  // namespace runnel
