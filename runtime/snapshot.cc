#include "runtime/snapshot.h"

#include <cstring>

namespace runnel {

namespace {

constexpr std::string_view kMagic = "RNSS";
constexpr size_t kMaxVarintBytes = 10;

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }

}  // namespace

SnapshotWriter::SnapshotWriter() { Reset(); }

void SnapshotWriter::Reset() {
  out_.assign(kMagic);
  WriteVarint(kSnapshotFormatVersion);
}

void SnapshotWriter::WriteVarint(uint64_t v) {
  while (v >= 0x80) {
    WriteU8(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  WriteU8(static_cast<uint8_t>(v));
}

void SnapshotWriter::WriteSigned(int64_t v) { WriteVarint(ZigZag(v)); }

void SnapshotWriter::WriteDouble(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof(bits));
  for (int i = 0; i < 8; ++i) WriteU8(static_cast<uint8_t>(bits >> (8 * i)));
}

void SnapshotWriter::WriteString(std::string_view s) {
  WriteVarint(s.size());
  out_.append(s);
}

void SnapshotWriter::WriteValue(const Value& v) {
  WriteU8(static_cast<uint8_t>(v.type()));
  switch (v.type()) {
    case ValueType::kNull:
      break;
    case ValueType::kBool:
      WriteBool(v.AsBool());
      break;
    case ValueType::kInt:
      WriteSigned(v.AsInt());
      break;
    case ValueType::kFloat:
      WriteDouble(v.AsFloat());
      break;
    case ValueType::kString:
      WriteString(v.AsString());
      break;
  }
}

void SnapshotWriter::WriteRow(const Row& row) {
  WriteVarint(row.size());
  for (const Value& v : row) WriteValue(v);
}

Result<SnapshotReader> SnapshotReader::Open(std::string_view bytes) {
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic) {
    return Status::Corruption(
        "operator state snapshot: the bytes do not start with the snapshot magic \"RNSS\" (not "
        "a Runnel snapshot, or damaged): reset the state with --reset-state or replay the log");
  }
  SnapshotReader reader(bytes, kMagic.size());
  uint64_t version = 0;
  RUNNEL_RETURN_IF_ERROR(reader.ReadVarint("format version", &version));
  if (version != kSnapshotFormatVersion) {
    return Status::Corruption("operator state snapshot: format version " + std::to_string(version) +
                              " is not the supported version " +
                              std::to_string(kSnapshotFormatVersion) +
                              ": reset the state with --reset-state or replay the log");
  }
  return reader;
}

Status SnapshotReader::Truncated(std::string_view what) const {
  return Status::Corruption("operator state snapshot truncated while reading " + std::string(what) +
                            " at byte " + std::to_string(pos_) + " of " +
                            std::to_string(bytes_.size()));
}

Status SnapshotReader::Corrupt(std::string_view what, std::string_view problem) const {
  return Status::Corruption("operator state snapshot corrupt at byte " + std::to_string(pos_) +
                            " of " + std::to_string(bytes_.size()) + ": " + std::string(what) +
                            " " + std::string(problem));
}

Status SnapshotReader::ReadU8(std::string_view what, uint8_t* out) {
  if (pos_ >= bytes_.size()) return Truncated(what);
  *out = static_cast<uint8_t>(bytes_[pos_++]);
  return Status::Ok();
}

Status SnapshotReader::ReadBool(std::string_view what, bool* out) {
  uint8_t b = 0;
  RUNNEL_RETURN_IF_ERROR(ReadU8(what, &b));
  if (b > 1) {
    pos_ -= 1;
    return Corrupt(what, "is " + std::to_string(b) + ", not a bool (0 or 1)");
  }
  *out = b == 1;
  return Status::Ok();
}

Status SnapshotReader::ReadVarint(std::string_view what, uint64_t* out) {
  uint64_t v = 0;
  for (size_t i = 0; i < kMaxVarintBytes; ++i) {
    uint8_t b = 0;
    RUNNEL_RETURN_IF_ERROR(ReadU8(what, &b));
    // The tenth byte holds only the top bit of a 64-bit value.
    if (i == kMaxVarintBytes - 1 && b > 1) return Corrupt(what, "overflows 64 bits");
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      *out = v;
      return Status::Ok();
    }
  }
  return Corrupt(what, "is a varint longer than 10 bytes");
}

Status SnapshotReader::ReadSigned(std::string_view what, int64_t* out) {
  uint64_t v = 0;
  RUNNEL_RETURN_IF_ERROR(ReadVarint(what, &v));
  *out = UnZigZag(v);
  return Status::Ok();
}

Status SnapshotReader::ReadDouble(std::string_view what, double* out) {
  if (remaining() < 8) return Truncated(what);
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) {
    bits |= static_cast<uint64_t>(static_cast<uint8_t>(bytes_[pos_ + i])) << (8 * i);
  }
  pos_ += 8;
  std::memcpy(out, &bits, sizeof(bits));
  return Status::Ok();
}

Status SnapshotReader::ReadString(std::string_view what, std::string* out) {
  uint64_t size = 0;
  RUNNEL_RETURN_IF_ERROR(ReadVarint(what, &size));
  if (size > remaining()) return Truncated(what);
  out->assign(bytes_.substr(pos_, size));
  pos_ += size;
  return Status::Ok();
}

Status SnapshotReader::ReadValue(std::string_view what, Value* out) {
  uint8_t tag = 0;
  RUNNEL_RETURN_IF_ERROR(ReadU8(what, &tag));
  switch (static_cast<ValueType>(tag)) {
    case ValueType::kNull:
      *out = Value::Null();
      return Status::Ok();
    case ValueType::kBool: {
      bool b = false;
      RUNNEL_RETURN_IF_ERROR(ReadBool(what, &b));
      *out = Value::Bool(b);
      return Status::Ok();
    }
    case ValueType::kInt: {
      int64_t i = 0;
      RUNNEL_RETURN_IF_ERROR(ReadSigned(what, &i));
      *out = Value::Int(i);
      return Status::Ok();
    }
    case ValueType::kFloat: {
      double d = 0;
      RUNNEL_RETURN_IF_ERROR(ReadDouble(what, &d));
      *out = Value::Float(d);
      return Status::Ok();
    }
    case ValueType::kString: {
      std::string s;
      RUNNEL_RETURN_IF_ERROR(ReadString(what, &s));
      *out = Value::String(std::move(s));
      return Status::Ok();
    }
  }
  pos_ -= 1;
  return Corrupt(what, "has value type tag " + std::to_string(tag) + " (expected 0-4)");
}

Status SnapshotReader::ReadRow(std::string_view what, Row* out) {
  size_t size = 0;
  RUNNEL_RETURN_IF_ERROR(ReadCount(what, 1, &size));
  out->resize(size);
  for (Value& v : *out) RUNNEL_RETURN_IF_ERROR(ReadValue(what, &v));
  return Status::Ok();
}

Status SnapshotReader::ReadCount(std::string_view what, size_t min_item_bytes, size_t* out) {
  uint64_t n = 0;
  RUNNEL_RETURN_IF_ERROR(ReadVarint(what, &n));
  if (min_item_bytes > 0 && n > remaining() / min_item_bytes) {
    return Corrupt(what, "count " + std::to_string(n) + " exceeds the " +
                             std::to_string(remaining()) + " bytes left");
  }
  *out = static_cast<size_t>(n);
  return Status::Ok();
}

Status SnapshotReader::ExpectEnd() const {
  if (pos_ == bytes_.size()) return Status::Ok();
  return Status::Corruption("operator state snapshot has " + std::to_string(remaining()) +
                            " unread bytes after its end at byte " + std::to_string(pos_) +
                            " (damaged, or written by a different operator definition)");
}

}  // namespace runnel
