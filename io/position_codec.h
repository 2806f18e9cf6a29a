// The byte encoding of file source positions (SourcePosition bytes, SPEC §6): unsigned and
// signed varints and length-prefixed strings, appended by PositionWriter and read back by
// PositionReader, whose reads are bounds-checked so that corrupt bytes fail, never overrun.
// Internal to io/. Threading: one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace runnel {

class PositionWriter {
 public:
  void U64(uint64_t value);
  void I64(int64_t value);  // zigzag: small negative numbers stay short
  void Bool(bool value) { U64(value ? 1 : 0); }
  void Bytes(std::string_view bytes);
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

class PositionReader {
 public:
  explicit PositionReader(std::string_view in) : in_(in) {}

  // Each read returns false, and leaves the output alone, when the bytes end too early or do
  // not encode the value (an over-long varint, a bool that is neither 0 nor 1).
  bool U64(uint64_t* value);
  bool I64(int64_t* value);
  bool Bool(bool* value);
  bool Bytes(std::string* bytes);
  bool AtEnd() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace runnel
