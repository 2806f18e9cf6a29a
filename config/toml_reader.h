// TableReader: typed, position-aware access to one TOML table of a pipeline file, so that
// every error reads "FILE:LINE: <entry>: <key path>: <what> (<what to do>)". Internal to the
// config module, the only module that includes toml++. Value types; not synchronised.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/pipeline_config.h"
#include "runtime/status.h"
#include "runtime/time.h"

namespace runnel::config_internal {

// Facts about the file being parsed that every reader needs.
struct SourceFile {
  std::string path;       // as given, for messages
  std::string directory;  // relative paths in the file resolve against it

  ConfigLocation Locate(const toml::source_region& region) const;
  // Absolute paths and "-" (stdout) stay as written.
  std::string ResolvePath(std::string_view written) const;
};

// The SourceFile of `path`: its directory, or "." for a bare file name.
SourceFile SourceFileOf(const std::string& path);

// Parses TOML text; a syntax error reads "FILE:LINE: description".
Result<toml::table> ParseTomlText(std::string_view text, const std::string& path);

// Reads a whole file; `what` names it in messages ("pipeline file", "device profile").
Result<std::string> ReadConfigText(const std::string& path, std::string_view what);

// A string value and the position of its opening quote.
struct StringAt {
  std::string value;
  ConfigLocation where;
};

// "a string", "an integer", ... for "expected X, got Y" messages.
std::string DescribeType(const toml::node& node);
// The candidate closest to `word` (edit distance, ignoring case), if close enough to be a
// plausible typo; ties go to the earlier candidate.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);
// "[a-z_][a-z0-9_]*": source, view and table names.
bool IsIdentifier(std::string_view text);
// "[A-Za-z_][A-Za-z0-9_]*": field names, which come from CSV headers and JSON keys.
bool IsFieldName(std::string_view text);
// "FILE:LINE: context: key_path: what"; empty parts are left out.
Status ConfigError(const ConfigLocation& at, std::string_view context, std::string_view key_path,
                   std::string_view what);
// "a, b and c".
std::string JoinWords(const std::vector<std::string>& words, std::string_view last_separator);

class TableReader {
 public:
  // `context` names the entry ("source 'env'", "" for top-level sections); `path` is the key
  // path of this table inside it ("window", "runtime"), "" for the entry itself.
  TableReader(const SourceFile& file, const toml::table& table, std::string context,
              std::string path);

  const SourceFile& file() const { return *file_; }
  const toml::table& table() const { return *table_; }
  // The entries in the order written: toml::table is ordered by key, but for fields the order
  // written is the column order users expect.
  std::vector<std::pair<const toml::key*, const toml::node*>> EntriesInDocumentOrder() const;
  const std::string& context() const { return context_; }
  void set_context(std::string context) { context_ = std::move(context); }
  // Where the table starts: its [header] or the opening brace of an inline table.
  ConfigLocation where() const { return file_->Locate(table_->source()); }

  bool Has(std::string_view key) const { return table_->get(key) != nullptr; }
  const toml::node* Find(std::string_view key) const { return table_->get(key); }
  ConfigLocation KeyWhere(std::string_view key) const;
  ConfigLocation ValueWhere(std::string_view key) const;
  // Among `keys`, the present one that comes first (last) in the document; "" if none. The
  // last of two conflicting keys is the one to blame.
  std::string_view FirstOf(std::initializer_list<std::string_view> keys) const;
  std::string_view LastOf(std::initializer_list<std::string_view> keys) const;

  // "FILE:LINE: context: path.key: what", at the key's value.
  Status KeyError(std::string_view key, std::string_view what) const;
  // "FILE:LINE: context: path: what", at the table.
  Status TableError(std::string_view what) const;
  // "FILE:LINE: context: key_path: what", anywhere.
  Status ErrorAt(const ConfigLocation& at, std::string_view key_path, std::string_view what) const;
  std::string KeyPath(std::string_view key) const;

  // Refuses keys outside `allowed`, reporting the one earliest in the document and
  // suggesting a close match.
  Status CheckKeys(std::initializer_list<std::string_view> allowed) const;
  // "missing key 'KEY' (HINT)" when absent.
  Status Require(std::string_view key, std::string_view hint) const;

  // The Read* functions leave `*out` untouched when the key is absent, so that callers
  // pre-fill defaults. `Out` is T or std::optional<T>.
  template <class Out>
  Status ReadString(std::string_view key, Out* out) const {
    return Assign(GetString(key), out);
  }
  template <class Out>
  Status ReadNonEmptyString(std::string_view key, Out* out) const {
    return Assign(GetNonEmptyString(key), out);
  }
  template <class Out>
  Status ReadIdentifier(std::string_view key, Out* out) const {
    return Assign(GetIdentifier(key), out);
  }
  template <class Out>
  Status ReadPath(std::string_view key, Out* out) const {
    return Assign(GetPath(key), out);
  }
  template <class Out>
  Status ReadBool(std::string_view key, Out* out) const {
    return Assign(GetBool(key), out);
  }
  template <class Out>
  Status ReadInt(std::string_view key, int64_t min, int64_t max, Out* out) const {
    return Assign(GetInt(key, min, max), out);
  }
  // An integer or a float, finite and not negative.
  template <class Out>
  Status ReadNonNegativeNumber(std::string_view key, Out* out) const {
    return Assign(GetNonNegativeNumber(key), out);
  }
  // A duration string; `positive` refuses zero.
  template <class Out>
  Status ReadDuration(std::string_view key, bool positive, Out* out) const {
    return Assign(GetDuration(key, positive), out);
  }
  template <class E, class Out>
  Status ReadEnum(std::string_view key,
                  std::initializer_list<std::pair<std::string_view, E>> choices, Out* out) const {
    auto text = GetString(key);
    if (!text.ok()) return text.status();
    if (!*text) return Status::Ok();
    std::vector<std::string> names;
    for (const auto& [name, value] : choices) {
      if (name == **text) {
        *out = value;
        return Status::Ok();
      }
      names.emplace_back(name);
    }
    return UnknownChoice(key, **text, names);
  }
  // An array of strings (possibly empty), each with its position.
  template <class Out>
  Status ReadStringArray(std::string_view key, Out* out) const {
    return Assign(GetStringArray(key), out);
  }
  Result<std::optional<std::vector<StringAt>>> GetStringArray(std::string_view key) const;
  // The table under `key`. REQUIRES: Has(key).
  Result<TableReader> GetTable(std::string_view key) const;
  Result<std::optional<StringAt>> GetStringAt(std::string_view key) const;

  Result<std::optional<std::string>> GetString(std::string_view key) const;
  Result<std::optional<std::string>> GetNonEmptyString(std::string_view key) const;
  Result<std::optional<std::string>> GetIdentifier(std::string_view key) const;
  Result<std::optional<std::string>> GetPath(std::string_view key) const;
  Result<std::optional<bool>> GetBool(std::string_view key) const;
  Result<std::optional<int64_t>> GetInt(std::string_view key, int64_t min, int64_t max) const;
  Result<std::optional<double>> GetNonNegativeNumber(std::string_view key) const;
  Result<std::optional<Duration>> GetDuration(std::string_view key, bool positive) const;

  Status TypeError(std::string_view key, const toml::node& node, std::string_view expected,
                   std::string_view hint = {}) const;
  Status UnknownChoice(std::string_view key, std::string_view value,
                       const std::vector<std::string>& choices) const;

 private:
  template <class T, class Out>
  static Status Assign(Result<std::optional<T>> value, Out* out) {
    if (!value.ok()) return value.status();
    if (*value) *out = std::move(**value);
    return Status::Ok();
  }

  const SourceFile* file_;
  const toml::table* table_;
  std::string context_;
  std::string path_;
};

}  // namespace runnel::config_internal
