#include "storage/table_sink.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <string_view>
#include <utility>

#include "storage/sqlite_statement.h"

namespace runnel {
namespace {

bool IsIdentifier(std::string_view name) {
  if (name.empty()) return false;
  auto lower_or_underscore = [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; };
  if (!lower_or_underscore(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_or_underscore(c) || (c >= '0' && c <= '9'); });
}

// SQLite compares identifiers ignoring ASCII case only.
bool SameIdentifier(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view SqlType(ValueType type) {
  switch (type) {
    case ValueType::kBool:
    case ValueType::kInt:
      return " INTEGER";
    case ValueType::kFloat:
      return " REAL";
    case ValueType::kString:
      return " TEXT";
    case ValueType::kNull:
      return "";  // type unknown: no affinity, values stored as given
  }
  return "";
}

// A view column may itself be called rowid, _rowid_ or oid, which hides that alias of the
// real row id; returns one that no column shadows, or "" when all three are taken.
std::string_view RowidAlias(const Schema& schema) {
  for (std::string_view alias : {"rowid", "_rowid_", "oid"}) {
    bool shadowed = false;
    for (const Column& column : schema.columns()) shadowed |= SameIdentifier(column.name, alias);
    if (!shadowed) return alias;
  }
  return "";
}

std::string RowText(const Row& row) {
  std::string text = "(";
  for (size_t i = 0; i < row.size(); ++i) {
    if (i > 0) text += ", ";
    text += row[i].DebugString();
  }
  text += ")";
  return text;
}

}  // namespace

class TableSink::Impl {
 public:
  Impl(StateDatabase* db, std::string table, size_t num_columns)
      : db_(db), table_(std::move(table)), num_columns_(num_columns) {}

  Status Prepare(const Schema& schema, const std::vector<size_t>& key_columns, bool keep_existing);
  void OnChange(const Row& row, Diff diff);
  Status Advance(std::span<const Timestamp> input_watermarks, Timestamp* output_watermark);
  Status Close();
  uint64_t rows_written() const { return rows_written_; }

 private:
  Status Apply(const Row& row, Diff diff);
  Status Repeat(SqliteStatement& statement, const Row& row, uint64_t times, bool is_delete);
  std::string Context(std::string_view operation) const {
    return SqliteContext(db_->path(), std::string(operation) + " (table \"" + table_ + "\")");
  }

  StateDatabase* db_;
  std::string table_;
  size_t num_columns_;
  SqliteStatement insert_;
  SqliteStatement delete_;
  Status error_;  // the first failure of OnChange, returned by the next Advance
  bool error_reported_ = false;
  uint64_t rows_written_ = 0;
};

Status TableSink::Impl::Prepare(const Schema& schema, const std::vector<size_t>& key_columns,
                                bool keep_existing) {
  sqlite3* handle = db_->handle();
  const std::string table = QuoteIdentifier(table_);
  std::string columns;      // "a","b"
  std::string definitions;  // "a" INTEGER, "b" TEXT
  for (size_t i = 0; i < schema.size(); ++i) {
    if (i > 0) {
      columns += ", ";
      definitions += ", ";
    }
    const std::string quoted = QuoteIdentifier(schema.column(i).name);
    columns += quoted;
    definitions += quoted;
    definitions += SqlType(schema.column(i).type);
  }

  // A run that starts over recomputes the table from its inputs. Doing this in the step
  // transaction keeps the previous run's rows visible to readers until the first step
  // commits, instead of an empty table in between. A restored run continues the table it
  // had committed together with its checkpoint.
  RUNNEL_RETURN_IF_ERROR(db_->EnsureTransaction());
  if (!keep_existing) {
    RUNNEL_RETURN_IF_ERROR(
        SqliteExec(handle, "DROP TABLE IF EXISTS " + table, Context("drop old table")));
  }
  RUNNEL_RETURN_IF_ERROR(
      SqliteExec(handle, "CREATE TABLE IF NOT EXISTS " + table + " (" + definitions + ")",
                 Context("create table")));
  if (!key_columns.empty()) {
    std::string keys;
    for (size_t i = 0; i < key_columns.size(); ++i) {
      if (i > 0) keys += ", ";
      keys += QuoteIdentifier(schema.column(key_columns[i]).name);
    }
    // The runnel_ prefix is reserved for Runnel's own objects, so no sink table can take
    // this name; indexes share the namespace of tables in SQLite.
    const std::string index = QuoteIdentifier("runnel_key_" + table_);
    RUNNEL_RETURN_IF_ERROR(SqliteExec(
        handle, "CREATE INDEX IF NOT EXISTS " + index + " ON " + table + " (" + keys + ")",
        Context("create index")));
  }

  std::string placeholders;
  std::string match;  // "a" IS ?1 AND "b" IS ?2: IS, because NULL = NULL is not true
  for (size_t i = 0; i < schema.size(); ++i) {
    const std::string parameter = "?" + std::to_string(i + 1);
    if (i > 0) {
      placeholders += ", ";
      match += " AND ";
    }
    placeholders += parameter;
    match += QuoteIdentifier(schema.column(i).name) + " IS " + parameter;
  }
  RUNNEL_ASSIGN_OR_RETURN(
      insert_,
      SqliteStatement::Prepare(
          handle, "INSERT INTO " + table + " (" + columns + ") VALUES (" + placeholders + ")",
          Context("insert row"), /*persistent=*/true));

  const std::string_view rowid = RowidAlias(schema);
  // Deletes exactly one of several equal rows: retracting one copy must leave the others.
  RUNNEL_ASSIGN_OR_RETURN(
      delete_, SqliteStatement::Prepare(handle,
                                        "DELETE FROM " + table + " WHERE " + std::string(rowid) +
                                            " = (SELECT " + std::string(rowid) + " FROM " + table +
                                            " WHERE " + match + " LIMIT 1)",
                                        Context("delete row"), /*persistent=*/true));
  return Status::Ok();
}

void TableSink::Impl::OnChange(const Row& row, Diff diff) {
  // After a failure the step is lost anyway (the run stops at Advance); writing on would only
  // pile up errors.
  if (!error_.ok() || diff == 0) return;
  Status status = Apply(row, diff);
  if (!status.ok()) error_ = std::move(status);
}

Status TableSink::Impl::Apply(const Row& row, Diff diff) {
  if (row.size() != num_columns_) {
    return Status::Runtime("table sink \"" + table_ + "\": a row has " +
                           std::to_string(row.size()) + " values but the table has " +
                           std::to_string(num_columns_) + " columns (internal error)");
  }
  RUNNEL_RETURN_IF_ERROR(db_->EnsureTransaction());
  // Unsigned magnitude: -diff would overflow for the most negative Diff.
  const uint64_t times = diff > 0 ? static_cast<uint64_t>(diff) : 0 - static_cast<uint64_t>(diff);
  SqliteStatement& statement = diff > 0 ? insert_ : delete_;
  Status status = Repeat(statement, row, times, diff < 0);
  // The statement holds pointers into `row`'s strings, which the caller may free next.
  statement.ClearBindings();
  return status;
}

Status TableSink::Impl::Repeat(SqliteStatement& statement, const Row& row, uint64_t times,
                               bool is_delete) {
  for (size_t i = 0; i < row.size(); ++i) {
    RUNNEL_RETURN_IF_ERROR(statement.Bind(static_cast<int>(i + 1), row[i]));
  }
  sqlite3* handle = db_->handle();
  for (uint64_t n = 0; n < times; ++n) {
    RUNNEL_RETURN_IF_ERROR(statement.Run());
    if (is_delete && sqlite3_changes64(handle) == 0) {
      return Status::Runtime("table sink \"" + table_ + "\": retraction of row " + RowText(row) +
                             ", which is not in the table (internal error: an upstream operator "
                             "retracted more than it emitted)");
    }
    ++rows_written_;
  }
  return Status::Ok();
}

Status TableSink::Impl::Advance(std::span<const Timestamp> input_watermarks,
                                Timestamp* output_watermark) {
  // Nothing is buffered: rows are in the table as soon as they arrive.
  *output_watermark = input_watermarks.empty()
                          ? kMaxTime
                          : *std::min_element(input_watermarks.begin(), input_watermarks.end());
  // No commit here: the planner commits the whole step (every sink, later the checkpoint)
  // once, from a Dataflow step listener.
  if (!error_.ok()) error_reported_ = true;
  return error_;
}

Status TableSink::Impl::Close() {
  insert_.Finalize();
  delete_.Finalize();
  // A failure after the last Advance would otherwise go unnoticed.
  if (!error_.ok() && !error_reported_) {
    error_reported_ = true;
    return error_;
  }
  return Status::Ok();
}

Result<std::unique_ptr<TableSink>> TableSink::Create(StateDatabase* db, std::string table,
                                                     const Schema& schema,
                                                     std::vector<size_t> key_columns,
                                                     bool keep_existing) {
  if (!IsIdentifier(table)) {
    return Status::Invalid("table name \"" + table +
                           "\" is not an identifier: use lower-case letters, digits and _, not "
                           "starting with a digit");
  }
  // runnel_ holds Runnel's own tables (runnel_meta, later the input log and checkpoints);
  // sqlite_ is refused by SQLite itself, with a less helpful message.
  for (std::string_view reserved : {"runnel_", "sqlite_"}) {
    if (table.starts_with(reserved)) {
      return Status::Invalid("table name \"" + table + "\" is reserved: names starting with " +
                             std::string(reserved) + " belong to " +
                             (reserved == "runnel_" ? "Runnel" : "SQLite") +
                             "; choose another table name");
    }
  }
  if (schema.size() == 0) {
    return Status::Invalid("table sink \"" + table + "\": the view has no columns");
  }
  for (size_t i = 0; i < schema.size(); ++i) {
    const std::string& name = schema.column(i).name;
    if (name.empty() || name.find('\0') != std::string::npos) {
      return Status::Invalid("table sink \"" + table + "\": column " + std::to_string(i + 1) +
                             " has no usable name");
    }
    for (size_t j = 0; j < i; ++j) {
      if (SameIdentifier(name, schema.column(j).name)) {
        return Status::Invalid("table sink \"" + table + "\": columns \"" + schema.column(j).name +
                               "\" and \"" + name +
                               "\" differ only in case, which SQLite does not distinguish");
      }
    }
  }
  if (RowidAlias(schema).empty()) {
    return Status::Invalid("table sink \"" + table +
                           "\": columns named rowid, _rowid_ and oid together hide SQLite's row "
                           "id; rename one of them");
  }
  for (size_t key : key_columns) {
    if (key >= schema.size()) {
      return Status::Invalid("table sink \"" + table + "\": key column " + std::to_string(key) +
                             " is out of range (internal error)");
    }
  }

  auto impl = std::make_unique<Impl>(db, std::move(table), schema.size());
  RUNNEL_RETURN_IF_ERROR(impl->Prepare(schema, key_columns, keep_existing));
  return std::make_unique<TableSink>(PrivateTag(), std::move(impl));
}

TableSink::TableSink(PrivateTag, std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TableSink::~TableSink() = default;

void TableSink::OnChange(int /*port*/, const Row& row, Timestamp /*time*/, Diff diff) {
  impl_->OnChange(row, diff);
}

Status TableSink::Advance(std::span<const Timestamp> input_watermarks,
                          Timestamp* output_watermark) {
  return impl_->Advance(input_watermarks, output_watermark);
}

Status TableSink::Close() { return impl_->Close(); }

OperatorStats TableSink::stats() const {
  OperatorStats stats;
  stats.rows_written = impl_->rows_written();
  return stats;
}

}  // namespace runnel
