// SnapshotWriter / SnapshotReader: the binary encoding of operator state for checkpoints.
// A snapshot opens with a magic and a format version, then holds whatever the operators write:
// varints (zigzag for signed), length-prefixed strings, doubles as their exact bits, Values,
// Rows and Timestamps (kMinTime/kMaxTime included). Every read is bounds-checked: truncated or
// corrupt bytes give Status::Corruption naming what was being read, never undefined behaviour.
// Value types; not synchronised.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/status.h"
#include "runtime/time.h"
#include "runtime/value.h"

namespace runnel {

// Bumped when the encoding of any operator's state changes incompatibly; a reader refuses
// other versions (the state is then rebuilt by replaying the input log).
inline constexpr uint32_t kSnapshotFormatVersion = 1;

class SnapshotWriter {
 public:
  // Starts the buffer with the magic and kSnapshotFormatVersion.
  SnapshotWriter();
  // Starts over as a new writer, keeping the buffer's memory: a writer reused for every record
  // of a stream allocates once, not a few times per record.
  void Reset();

  void WriteU8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void WriteBool(bool v) { WriteU8(v ? 1 : 0); }
  void WriteVarint(uint64_t v);
  // Zigzag: small magnitudes of either sign stay short.
  void WriteSigned(int64_t v);
  void WriteTimestamp(Timestamp t) { WriteSigned(t); }
  // The IEEE bits, little endian: NaN payloads and -0.0 survive.
  void WriteDouble(double d);
  void WriteString(std::string_view s);
  void WriteValue(const Value& v);
  void WriteRow(const Row& row);

  const std::string& bytes() const { return out_; }
  std::string Release() { return std::move(out_); }

 private:
  std::string out_;
};

class SnapshotReader {
 public:
  // Checks the magic and the format version.
  static Result<SnapshotReader> Open(std::string_view bytes);

  // `what` names the item for the error message ("window count", "aggregate sum").
  Status ReadU8(std::string_view what, uint8_t* out);
  Status ReadBool(std::string_view what, bool* out);
  Status ReadVarint(std::string_view what, uint64_t* out);
  Status ReadSigned(std::string_view what, int64_t* out);
  Status ReadTimestamp(std::string_view what, Timestamp* out) { return ReadSigned(what, out); }
  Status ReadDouble(std::string_view what, double* out);
  Status ReadString(std::string_view what, std::string* out);
  Status ReadValue(std::string_view what, Value* out);
  Status ReadRow(std::string_view what, Row* out);
  // A count of items that each take at least `min_item_bytes` bytes: a count the remaining
  // bytes cannot hold is corruption, so a corrupt count never drives a huge allocation.
  Status ReadCount(std::string_view what, size_t min_item_bytes, size_t* out);

  // Corruption unless every byte was read.
  Status ExpectEnd() const;
  // A Corruption status for a value that decoded but is not acceptable here.
  Status Corrupt(std::string_view what, std::string_view problem) const;

  size_t remaining() const { return bytes_.size() - pos_; }

 private:
  explicit SnapshotReader(std::string_view bytes, size_t pos) : bytes_(bytes), pos_(pos) {}
  Status Truncated(std::string_view what) const;

  std::string_view bytes_;
  size_t pos_;
};

}  // namespace runnel
