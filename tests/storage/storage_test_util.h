// Helpers for the storage tests: a scratch state directory, and a reader that dumps query
// results through its own read-only SQLite connection, the way other programs read Runnel's
// tables. Test-only; single-threaded.
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "runtime/value.h"

namespace runnel::testing {

// A fresh directory under the system temp dir, removed with everything in it at scope end.
class ScratchDir {
 public:
  ScratchDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("runnel-storage-test-" + std::to_string(getpid()) + "-" + std::to_string(++counter));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string path() const { return path_.string(); }
  std::string db_path() const { return (path_ / "runnel.db").string(); }

 private:
  std::filesystem::path path_;
};

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;

// A second connection to `path`; read-only unless `writable`, never creating the file.
inline Connection Connect(const std::string& path, bool writable = false) {
  sqlite3* raw = nullptr;
  int flags = writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Connection db(raw);
  if (rc != SQLITE_OK) return nullptr;
  return db;
}

// Every row of `sql` as one line, fields separated by "|": integers as 42, reals in their
// shortest form with a decimal point or exponent (2.0 prints as 2.0), text in single quotes,
// NULL as NULL. Errors come back as "error: <message>" so assertions show them.
inline std::string Dump(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return std::string("error: ") + sqlite3_errmsg(db);
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
  std::string out;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(stmt.get()); ++i) {
      if (i > 0) out += "|";
      switch (sqlite3_column_type(stmt.get(), i)) {
        case SQLITE_INTEGER:
          out += std::to_string(sqlite3_column_int64(stmt.get(), i));
          break;
        case SQLITE_FLOAT: {
          std::string text = FormatFloat(sqlite3_column_double(stmt.get(), i));
          if (text.find_first_of(".e") == std::string::npos) text += ".0";
          out += text;
          break;
        }
        case SQLITE_TEXT:
          out += "'";
          out.append(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), i)),
                     static_cast<size_t>(sqlite3_column_bytes(stmt.get(), i)));
          out += "'";
          break;
        case SQLITE_NULL:
          out += "NULL";
          break;
        default:
          out += "<blob>";
      }
    }
    out += "\n";
  }
  if (rc != SQLITE_DONE) return std::string("error: ") + sqlite3_errmsg(db);
  return out;
}

// Dump() through a new read-only connection to the database file at `path`.
inline std::string DumpFile(const std::string& path, const std::string& sql) {
  Connection db = Connect(path);
  if (!db) return "error: cannot open " + path;
  return Dump(db.get(), sql);
}

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace runnel::testing
