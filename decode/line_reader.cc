#include "decode/line_reader.h"

#include <cstring>

namespace runnel {

LineReader::LineReader(ByteStream* stream, bool final_input, size_t chunk)
    : buffer_(stream, chunk), final_input_(final_input) {}

ReadOutcome LineReader::Next(std::string_view* line, uint64_t* line_number) {
  constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
  bool at_eof = false;
  const auto fill = [&]() {
    Result<size_t> n = buffer_.Fill();
    if (!n.ok()) {
      status_ = n.status();
      return false;
    }
    if (*n == 0) at_eof = true;
    return true;
  };
  if (at_start_) {
    while (buffer_.size() < kUtf8Bom.size() && !at_eof) {
      if (!fill()) return ReadOutcome::kError;
    }
    if (buffer_.size() < kUtf8Bom.size() && !final_input_) return ReadOutcome::kNeedMore;
    if (std::string_view(buffer_.begin(), buffer_.size()).starts_with(kUtf8Bom)) {
      buffer_.Consume(kUtf8Bom.size());
    }
    at_start_ = false;
  }
  while (true) {
    char* p = buffer_.begin();
    char* e = buffer_.end();
    if (p == e) {
      if (at_eof) return final_input_ ? ReadOutcome::kEnd : ReadOutcome::kNeedMore;
      if (!fill()) return ReadOutcome::kError;
      continue;
    }
    char* nl = static_cast<char*>(std::memchr(p, '\n', static_cast<size_t>(e - p)));
    if (nl == nullptr && !(at_eof && final_input_)) {
      if (at_eof) return ReadOutcome::kNeedMore;
      if (!fill()) return ReadOutcome::kError;
      continue;
    }
    char* line_end = nl != nullptr ? nl : e;
    const size_t span = static_cast<size_t>(line_end - p) + (nl != nullptr ? 1 : 0);
    if (line_end > p && line_end[-1] == '\r') --line_end;
    *line = std::string_view(p, line_end - p);
    *line_number = line_++;
    buffer_.Consume(span);
    return ReadOutcome::kRecord;
  }
}

}  // namespace runnel
