// Record readers of the file source: one per open file and format, turning its bytes into
// typed rows and event times by the source's layout. A reader reports malformed records as
// kRejected with the reason and line, and keeps going; only I/O errors are Status errors.
// The readers sit on a ByteStream that may be a growing file (kNeedMore), so the replay and
// follow modes reuse them. Internal to io/. Threading: one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "decode/byte_stream.h"
#include "decode/csv_reader.h"
#include "decode/json_decoder.h"
#include "decode/line_reader.h"
#include "decode/text_value.h"
#include "io/file_source.h"
#include "runtime/clock.h"
#include "runtime/schema.h"

namespace runnel {

// How a source derives a record's event time from its time fields (SPEC §2).
class EventTimeRule {
 public:
  enum class Kind {
    kSingle,   // one field; its column is replaced by the epoch ms
    kJoined,   // several fields joined by one space; the columns stay as read
    kArrival,  // the gateway clock on receipt
  };

  // Checks the time settings against the declared fields. `clock` must outlive the rule.
  static Result<EventTimeRule> Create(const FileSourceSpec& spec, const Clock* clock);

  Kind kind() const { return kind_; }
  // Declared field indexes of the time fields, in the order they are joined.
  const std::vector<size_t>& fields() const { return fields_; }

  // The From* functions run per record: they return false with the reason in *reason rather
  // than a Status, so the common success path builds no Status.
  // kSingle: the time from the field's raw text (null and missing are errors).
  bool FromText(std::string_view text, Timestamp* out, std::string* reason) const;
  // kJoined: the time from the raw texts of the time fields, in fields() order.
  bool FromTexts(std::span<const std::string_view> texts, Timestamp* out,
                 std::string* reason) const;
  // kJoined: the time from decoded values (their text forms joined).
  bool FromValues(const Row& row, Timestamp* out, std::string* reason) const;
  Timestamp Now() const { return clock_->NowMillis(); }

 private:
  // FromText beyond integer epoch times.
  Status FromTextSlow(std::string_view trimmed, Timestamp* out) const;
  // Parses joined_ with the format, or as ISO 8601.
  Status ParseJoined(Timestamp* out) const;
  // The time field at position `which` of fields() has no value.
  Status Missing(size_t which = 0) const;
  Status Context(const Status& status) const;
  bool Fail(const Status& status, std::string* reason) const;

  Kind kind_ = Kind::kArrival;
  std::vector<size_t> fields_;
  std::vector<std::string> names_;
  std::string description_;  // "time field 'ts'" or "time fields 'Date' 'Time'"
  TimeUnit unit_ = TimeUnit::kMillis;
  std::optional<std::string> format_;
  NullValues nulls_;
  const Clock* clock_ = nullptr;
  mutable std::string joined_;  // reused across records
};

// What every file of one source shares.
struct RecordLayout {
  std::vector<Column> fields;  // declared names and types, output order
  NullValues nulls;
  EventTimeRule time;
};

class RecordFileReader {
 public:
  // A plain enum per record, like ReadOutcome: I/O errors (kError) are fetched with status().
  enum class Outcome { kRecord, kRejected, kNeedMore, kEnd, kError };

  virtual ~RecordFileReader() = default;

  // kRecord: *row (resized to the layout) and *time hold the next record. kRejected: *reason
  // says why the record at line() was skipped.
  virtual Outcome Next(Row* row, Timestamp* time, std::string* reason) = 0;
  // Line where the last returned record starts.
  virtual uint64_t line() const = 0;
  // Stream offset just past the last record returned (or skipped): where reading would resume.
  // The follow mode compares it with the bytes read to know that no partial line is pending.
  virtual uint64_t offset() const = 0;
  // Line where reading would resume, past the last record returned (or skipped): with offset()
  // taken right after that record, where a restarted source continues.
  virtual uint64_t next_line() const = 0;
  // CSV: stream offset just past the header once it is read (0 before, and for JSON Lines).
  // The follow mode replays these bytes when it reopens a file in the middle.
  virtual uint64_t header_end() const { return 0; }
  // After kError: what failed.
  virtual const Status& status() const = 0;
};

// Reads records from `stream`; for CSV, reads its header first and maps the declared fields to
// its columns (Invalid naming the file and the first missing field). `path` names the file in
// messages; `layout` must outlive the reader. `final_input` as for CsvReader.
Result<std::unique_ptr<RecordFileReader>> OpenRecordStream(std::unique_ptr<ByteStream> stream,
                                                           const std::string& path,
                                                           FileFormat format,
                                                           const RecordLayout* layout,
                                                           bool final_input);

}  // namespace runnel
