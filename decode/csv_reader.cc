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

bool CsvReader::SplitPlain(char* p, char* line_end, CsvRecord* record) {
  // Writes through a pointer into the kept storage: on the hot path it never reallocates, and
  // this skips push_back's capacity check and size update per field.
  std::vector<CsvField>& fields = record->fields_;
  if (fields.size() < 8) fields.resize(8);
  CsvField* out = fields.data();
  size_t n = 0;
  while (true) {
    if (p < line_end && *p == '"') return false;
    char* comma = FindChar(p, line_end, ',');
    char* const stop = comma == nullptr ? line_end : comma;
    if (n == fields.size()) {
      fields.resize(2 * n);
      out = fields.data();
    }
    out[n++] = {std::string_view(p, stop - p), false};
    if (comma == nullptr) break;
    p = comma + 1;
  }
  record->count_ = n;
  record->error_ = {};
  return true;
}

size_t CsvReader::ParseQuoted(char* p, char* e, bool at_eof, CsvRecord* record) {
  char* end = FindQuotedRecordEnd(p, e, at_eof);
  if (end == nullptr) return 0;
  const size_t span = static_cast<size_t>(end - p) + (end < e ? 1 : 0);
  line_ += 1 + static_cast<uint64_t>(std::count(p, end, '\n'));
  if (end > p && end[-1] == '\r') --end;  // outside quotes: the quote would end the field

  std::vector<CsvField>& fields = record->fields_;
  fields.clear();
  record->error_ = {};
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
      fields.push_back({std::string_view(start, out - start), true});
      s = r;
      if (!closed) {
        record->error_ = "unterminated quoted field";
      } else if (s < end && *s != ',') {
        record->error_ = "unexpected character after a closing quote";
      }
      if (!record->error_.empty()) break;
    } else {
      char* comma = FindChar(s, end, ',');
      char* const stop = comma == nullptr ? end : comma;
      fields.push_back({std::string_view(s, stop - s), false});
      s = stop;
    }
    if (s >= end) break;
    ++s;  // the comma
  }
  record->count_ = fields.size();
  return span;
}

bool CsvReader::Fill(bool* at_eof) {
  Result<size_t> n = buffer_.Fill();
  if (!n.ok()) {
    status_ = n.status();
    return false;
  }
  if (*n == 0) *at_eof = true;
  return true;
}

ReadOutcome CsvReader::Next(CsvRecord* record) {
  bool at_eof = false;  // the stream had nothing more during this call
  if (at_start_) {
    while (buffer_.size() < kUtf8Bom.size() && !at_eof) {
      if (!Fill(&at_eof)) return ReadOutcome::kError;
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
      if (!Fill(&at_eof)) return ReadOutcome::kError;
      continue;
    }
    const bool eof_ends_record = at_eof && final_input_;
    char* nl = FindChar(p, e, '\n');
    char* line_end = nl != nullptr ? nl : (eof_ends_record ? e : nullptr);
    if (line_end == nullptr) {
      if (at_eof) return ReadOutcome::kNeedMore;
      if (!Fill(&at_eof)) return ReadOutcome::kError;
      continue;
    }
    record->line_ = line_;
    record->offset_ = buffer_.offset();
    const size_t line_span = static_cast<size_t>(line_end - p) + (nl != nullptr ? 1 : 0);
    char* content_end = line_end;
    if (content_end > p && content_end[-1] == '\r') --content_end;
    if (content_end == p) {  // an empty line is no record
      buffer_.Consume(line_span);
      ++line_;
      continue;
    }
    if (SplitPlain(p, content_end, record)) {
      buffer_.Consume(line_span);
      ++line_;
      return ReadOutcome::kRecord;
    }
    // A field opens with a quote and may hide line breaks: the record may run past this line.
    const size_t span = ParseQuoted(p, e, eof_ends_record, record);
    if (span == 0) {
      if (at_eof) return ReadOutcome::kNeedMore;
      if (!Fill(&at_eof)) return ReadOutcome::kError;
      continue;
    }
    buffer_.Consume(span);
    return record->error_.empty() ? ReadOutcome::kRecord : ReadOutcome::kMalformed;
  }
}

}  // namespace runnel
