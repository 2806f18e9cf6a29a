#include "decode/csv_reader.h"

#include <algorithm>
#include <cstring>

namespace runnel {

namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

char* FindChar(char* p, char* e, char c) {
  return static_cast<char*>(std::memchr(p, c, static_cast<size_t>(e - p)));
}

// Finds the line break that ends the record starting at p, honouring quotes (a quote opens a
// quoted field only at the start of a field; elsewhere it is a literal). Returns nullptr when
// the buffer ends first, or `e` at the end of a final input.
char* FindQuotedRecordEnd(char* p, char* e, bool at_eof) {
  char* const incomplete = at_eof ? e : nullptr;
  char* s = p;
  while (true) {
    if (s < e && *s == '"') {
      ++s;
      while (true) {
        char* q = FindChar(s, e, '"');
        if (q == nullptr) return incomplete;
        s = q + 1;
        if (s == e) return incomplete;  // cannot tell a closing quote from a "" escape yet
        if (*s != '"') break;
        ++s;
      }
    }
    while (s < e && *s != ',' && *s != '\n') ++s;
    if (s == e) return incomplete;
    if (*s == '\n') return s;
    ++s;
  }
}

}  // namespace

CsvReader::CsvReader(ByteStream* stream, bool final_input, size_t chunk)
    : buffer_(stream, chunk), final_input_(final_input) {}

void CsvReader::SplitPlain(char* p, char* line_end, CsvRecord* record) {
  while (true) {
    char* comma = FindChar(p, line_end, ',');
    if (comma == nullptr) {
      record->fields.push_back({std::string_view(p, line_end - p), false});
      return;
    }
    record->fields.push_back({std::string_view(p, comma - p), false});
    p = comma + 1;
  }
}

size_t CsvReader::ParseQuoted(char* p, char* e, bool at_eof, CsvRecord* record) {
  char* end = FindQuotedRecordEnd(p, e, at_eof);
  if (end == nullptr) return 0;
  const size_t span = static_cast<size_t>(end - p) + (end < e ? 1 : 0);
  line_ += 1 + static_cast<uint64_t>(std::count(p, end, '\n'));
  if (end > p && end[-1] == '\r') --end;  // outside quotes: the quote would end the field

  // Unescapes each quoted field in place: the text only shrinks, so writes never overtake
  // the bytes still to be read.
  char* s = p;
  while (true) {
    if (s < end && *s == '"') {
      char* const start = s;
      char* out = s;
      char* r = s + 1;
      bool closed = false;
      while (true) {
        char* q = FindChar(r, end, '"');
        char* const stop = q == nullptr ? end : q;
        std::memmove(out, r, static_cast<size_t>(stop - r));
        out += stop - r;
        r = stop;
        if (q == nullptr) break;
        if (r + 1 < end && r[1] == '"') {
          *out++ = '"';
          r += 2;
          continue;
        }
        ++r;
        closed = true;
        break;
      }
      record->fields.push_back({std::string_view(start, out - start), true});
      if (!closed) {
        record->error = "unterminated quoted field";
        return span;
      }
      s = r;
      if (s < end && *s != ',') {
        record->error = "unexpected character after a closing quote";
        return span;
      }
    } else {
      char* comma = FindChar(s, end, ',');
      char* const stop = comma == nullptr ? end : comma;
      record->fields.push_back({std::string_view(s, stop - s), false});
      s = stop;
    }
    if (s >= end) return span;
    ++s;  // the comma
  }
}

Result<ReadOutcome> CsvReader::Next(CsvRecord* record) {
  record->fields.clear();
  record->error = {};
  bool at_eof = false;  // the stream had nothing more during this call
  const auto fill = [&]() -> Status {
    RUNNEL_ASSIGN_OR_RETURN(size_t n, buffer_.Fill());
    if (n == 0) at_eof = true;
    return Status::Ok();
  };

  if (at_start_) {
    while (buffer_.size() < kUtf8Bom.size() && !at_eof) RUNNEL_RETURN_IF_ERROR(fill());
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
      RUNNEL_RETURN_IF_ERROR(fill());
      continue;
    }
    const bool eof_ends_record = at_eof && final_input_;
    char* nl = FindChar(p, e, '\n');
    char* line_end = nl != nullptr ? nl : (eof_ends_record ? e : nullptr);
    if (line_end == nullptr) {
      if (at_eof) return ReadOutcome::kNeedMore;
      RUNNEL_RETURN_IF_ERROR(fill());
      continue;
    }
    record->line = line_;
    record->offset = buffer_.offset();
    if (FindChar(p, line_end, '"') == nullptr) {
      const size_t span = static_cast<size_t>(line_end - p) + (nl != nullptr ? 1 : 0);
      ++line_;
      char* content_end = line_end;
      if (content_end > p && content_end[-1] == '\r') --content_end;
      if (content_end == p) {  // an empty line is no record
        buffer_.Consume(span);
        continue;
      }
      SplitPlain(p, content_end, record);
      buffer_.Consume(span);
      return ReadOutcome::kRecord;
    }
    // A quote may hide line breaks inside a field: the record may run past this line.
    const size_t span = ParseQuoted(p, e, eof_ends_record, record);
    if (span == 0) {
      if (at_eof) return ReadOutcome::kNeedMore;
      RUNNEL_RETURN_IF_ERROR(fill());
      continue;
    }
    buffer_.Consume(span);
    return record->error.empty() ? ReadOutcome::kRecord : ReadOutcome::kMalformed;
  }
}

}  // namespace runnel
