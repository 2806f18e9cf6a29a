#include "io/position_codec.h"

namespace runnel {

void PositionWriter::U64(uint64_t value) {
  while (value >= 0x80) {
    out_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<char>(value));
}

void PositionWriter::I64(int64_t value) {
  const uint64_t bits = static_cast<uint64_t>(value);
  U64((bits << 1) ^ (value < 0 ? ~uint64_t{0} : 0));
}

void PositionWriter::Bytes(std::string_view bytes) {
  U64(bytes.size());
  out_.append(bytes);
}

bool PositionReader::U64(uint64_t* value) {
  uint64_t result = 0;
  for (size_t i = 0; i < in_.size() && i < 10; ++i) {
    const uint64_t byte = static_cast<unsigned char>(in_[i]);
    // The tenth byte holds the top bit only.
    if (i == 9 && byte > 1) return false;
    result |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      in_.remove_prefix(i + 1);
      *value = result;
      return true;
    }
  }
  return false;
}

bool PositionReader::I64(int64_t* value) {
  uint64_t bits = 0;
  if (!U64(&bits)) return false;
  *value = static_cast<int64_t>((bits >> 1) ^ (~(bits & 1) + 1));
  return true;
}

bool PositionReader::Bool(bool* value) {
  std::string_view saved = in_;
  uint64_t bits = 0;
  if (!U64(&bits) || bits > 1) {
    in_ = saved;
    return false;
  }
  *value = bits == 1;
  return true;
}

bool PositionReader::Bytes(std::string* bytes) {
  std::string_view saved = in_;
  uint64_t size = 0;
  if (!U64(&size) || size > in_.size()) {
    in_ = saved;
    return false;
  }
  bytes->assign(in_.substr(0, size));
  in_.remove_prefix(size);
  return true;
}

}  // namespace runnel
