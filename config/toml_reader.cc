#include "config/toml_reader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace runnel::config_internal {

namespace {

bool Before(const toml::source_position& a, const toml::source_position& b) {
  return a.line != b.line ? a.line < b.line : a.column < b.column;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Optimal string alignment distance: a swapped pair of letters is one typo, not two.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string Quoted(std::string_view text, char quote) {
  return std::string(1, quote) + std::string(text) + std::string(1, quote);
}

}  // namespace

SourceFile SourceFileOf(const std::string& path) {
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) directory = ".";
  return SourceFile{path, directory};
}

Result<toml::table> ParseTomlText(std::string_view text, const std::string& path) {
  try {
    return toml::parse(text, std::string_view(path));
  } catch (const toml::parse_error& error) {
    return Status::Invalid(path + ":" + std::to_string(error.source().begin.line) + ": " +
                           std::string(error.description()));
  }
}

Result<std::string> ReadConfigText(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Invalid(path + ": cannot read the " + std::string(what) + ": " +
                           std::strerror(errno) + " (check the path)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return Status::Invalid(path + ": cannot read the " + std::string(what) + ": " +
                           std::strerror(errno));
  }
  return text.str();
}

std::vector<std::pair<const toml::key*, const toml::node*>> TableReader::EntriesInDocumentOrder()
    const {
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [key, value] : table()) entries.emplace_back(&key, &value);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const toml::source_position& pa = a.first->source().begin;
    const toml::source_position& pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return entries;
}

ConfigLocation SourceFile::Locate(const toml::source_region& region) const {
  return ConfigLocation{path, static_cast<int>(region.begin.line),
                        static_cast<int>(region.begin.column)};
}

std::string SourceFile::ResolvePath(std::string_view written) const {
  const std::filesystem::path p(written);
  if (written == "-" || p.is_absolute() || directory.empty()) return std::string(written);
  return (std::filesystem::path(directory) / p).lexically_normal().string();
}

std::string DescribeType(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  const std::string lower = Lower(word);
  std::optional<std::string> best;
  size_t best_distance = 0;
  for (const std::string& candidate : candidates) {
    const size_t longest = std::max(word.size(), candidate.size());
    // A third of the letters wrong still reads as a typo; more reads as another word.
    const size_t limit = std::clamp<size_t>(longest / 3, 1, 3);
    const size_t distance = EditDistance(lower, Lower(candidate));
    if (distance > limit || distance >= longest) continue;
    if (!best || distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

bool IsIdentifier(std::string_view text) {
  if (text.empty() || std::isdigit(static_cast<unsigned char>(text[0]))) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsFieldName(std::string_view text) {
  if (text.empty() || std::isdigit(static_cast<unsigned char>(text[0]))) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

Status ConfigError(const ConfigLocation& at, std::string_view context, std::string_view key_path,
                   std::string_view what) {
  std::string message = at.Prefix() + ": ";
  if (!context.empty()) message += std::string(context) + ": ";
  if (!key_path.empty()) message += std::string(key_path) + ": ";
  message += what;
  return Status::Invalid(std::move(message));
}

std::string JoinWords(const std::vector<std::string>& words, std::string_view last_separator) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? std::string(last_separator) : std::string(", ");
    out += words[i];
  }
  return out;
}

TableReader::TableReader(const SourceFile& file, const toml::table& table, std::string context,
                         std::string path)
    : file_(&file), table_(&table), context_(std::move(context)), path_(std::move(path)) {}

ConfigLocation TableReader::KeyWhere(std::string_view key) const {
  auto it = table_->find(key);
  if (it == table_->end()) return where();
  return file_->Locate(it->first.source());
}

ConfigLocation TableReader::ValueWhere(std::string_view key) const {
  const toml::node* node = Find(key);
  return node ? file_->Locate(node->source()) : where();
}

std::string_view TableReader::FirstOf(std::initializer_list<std::string_view> keys) const {
  std::string_view first;
  std::optional<toml::source_position> first_position;
  for (std::string_view key : keys) {
    auto it = table_->find(key);
    if (it == table_->end()) continue;
    if (!first_position || Before(it->first.source().begin, *first_position)) {
      first = key;
      first_position = it->first.source().begin;
    }
  }
  return first;
}

std::string_view TableReader::LastOf(std::initializer_list<std::string_view> keys) const {
  std::string_view last;
  std::optional<toml::source_position> last_position;
  for (std::string_view key : keys) {
    auto it = table_->find(key);
    if (it == table_->end()) continue;
    if (!last_position || Before(*last_position, it->first.source().begin)) {
      last = key;
      last_position = it->first.source().begin;
    }
  }
  return last;
}

std::string TableReader::KeyPath(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

Status TableReader::ErrorAt(const ConfigLocation& at, std::string_view key_path,
                            std::string_view what) const {
  return ConfigError(at, context_, key_path, what);
}

Status TableReader::KeyError(std::string_view key, std::string_view what) const {
  return ErrorAt(ValueWhere(key), KeyPath(key), what);
}

Status TableReader::TableError(std::string_view what) const {
  return ErrorAt(where(), path_, what);
}

Status TableReader::CheckKeys(std::initializer_list<std::string_view> allowed) const {
  const toml::key* first_unknown = nullptr;
  for (auto&& [key, node] : *table_) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
    if (!first_unknown || Before(key.source().begin, first_unknown->source().begin)) {
      first_unknown = &key;
    }
  }
  if (!first_unknown) return Status::Ok();
  std::vector<std::string> names(allowed.begin(), allowed.end());
  std::string what = "unknown key " + Quoted(first_unknown->str(), '\'');
  if (auto match = ClosestMatch(first_unknown->str(), names)) {
    what += " (did you mean " + Quoted(*match, '\'') + "?)";
  } else {
    what += " (allowed keys: " + JoinWords(names, ", ") + ")";
  }
  return ErrorAt(file_->Locate(first_unknown->source()), path_, what);
}

Status TableReader::Require(std::string_view key, std::string_view hint) const {
  if (Has(key)) return Status::Ok();
  return TableError("missing key " + Quoted(key, '\'') + " (" + std::string(hint) + ")");
}

Status TableReader::TypeError(std::string_view key, const toml::node& node,
                              std::string_view expected, std::string_view hint) const {
  std::string what = "expected " + std::string(expected) + ", got " + DescribeType(node);
  if (!hint.empty()) what += " (" + std::string(hint) + ")";
  return KeyError(key, what);
}

Status TableReader::UnknownChoice(std::string_view key, std::string_view value,
                                  const std::vector<std::string>& choices) const {
  std::string what = "invalid value " + Quoted(value, '"');
  if (auto match = ClosestMatch(value, choices)) {
    what += " (did you mean " + Quoted(*match, '"') + "?)";
  } else {
    std::vector<std::string> quoted;
    for (const std::string& choice : choices) quoted.push_back(Quoted(choice, '"'));
    what += " (use " + JoinWords(quoted, " or ") + ")";
  }
  return KeyError(key, what);
}

Result<std::optional<std::string>> TableReader::GetString(std::string_view key) const {
  const toml::node* node = Find(key);
  if (!node) return std::optional<std::string>();
  const auto* value = node->as_string();
  if (!value) return TypeError(key, *node, "a string");
  return std::optional<std::string>(value->get());
}

Result<std::optional<StringAt>> TableReader::GetStringAt(std::string_view key) const {
  auto text = GetString(key);
  if (!text.ok()) return text.status();
  if (!*text) return std::optional<StringAt>();
  return std::optional<StringAt>(StringAt{std::move(**text), ValueWhere(key)});
}

Result<std::optional<std::string>> TableReader::GetNonEmptyString(std::string_view key) const {
  auto text = GetString(key);
  if (text.ok() && *text && (*text)->empty()) return KeyError(key, "must not be empty");
  return text;
}

Result<std::optional<std::string>> TableReader::GetIdentifier(std::string_view key) const {
  auto text = GetString(key);
  if (text.ok() && *text && !IsIdentifier(**text)) {
    return KeyError(key, Quoted(**text, '"') +
                             " is not a valid name (use lowercase letters, digits and '_', not "
                             "starting with a digit)");
  }
  return text;
}

Result<std::optional<std::string>> TableReader::GetPath(std::string_view key) const {
  auto text = GetNonEmptyString(key);
  if (!text.ok() || !*text) return text;
  return std::optional<std::string>(file_->ResolvePath(**text));
}

Result<std::optional<bool>> TableReader::GetBool(std::string_view key) const {
  const toml::node* node = Find(key);
  if (!node) return std::optional<bool>();
  const auto* value = node->as_boolean();
  if (!value) return TypeError(key, *node, "a boolean", "write true or false, without quotes");
  return std::optional<bool>(value->get());
}

Result<std::optional<int64_t>> TableReader::GetInt(std::string_view key, int64_t min,
                                                   int64_t max) const {
  const toml::node* node = Find(key);
  if (!node) return std::optional<int64_t>();
  const auto* value = node->as_integer();
  if (!value) return TypeError(key, *node, "an integer");
  const int64_t v = value->get();
  if (v < min || v > max) {
    return KeyError(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                             ", got " + std::to_string(v));
  }
  return std::optional<int64_t>(v);
}

Result<std::optional<double>> TableReader::GetNonNegativeNumber(std::string_view key) const {
  const toml::node* node = Find(key);
  if (!node) return std::optional<double>();
  double v = 0;
  if (const auto* i = node->as_integer()) {
    v = static_cast<double>(i->get());
  } else if (const auto* f = node->as_floating_point()) {
    v = f->get();
  } else {
    return TypeError(key, *node, "a number");
  }
  if (!std::isfinite(v) || v < 0) {
    std::ostringstream written;
    written << v;
    return KeyError(key, "must be a number of zero or more, got " + written.str());
  }
  return std::optional<double>(v);
}

Result<std::optional<Duration>> TableReader::GetDuration(std::string_view key,
                                                         bool positive) const {
  const toml::node* node = Find(key);
  if (!node) return std::optional<Duration>();
  const auto* text = node->as_string();
  if (!text) return TypeError(key, *node, "a duration string", "write it in quotes, e.g. \"5s\"");
  auto duration = ParseDuration(text->get());
  if (!duration.ok()) return KeyError(key, duration.status().message());
  if (positive && *duration == 0) {
    return KeyError(key, "must be longer than zero (write e.g. \"1s\" or \"1m\")");
  }
  return std::optional<Duration>(*duration);
}

Result<std::optional<std::vector<StringAt>>> TableReader::GetStringArray(
    std::string_view key) const {
  const toml::node* node = Find(key);
  if (!node) return std::optional<std::vector<StringAt>>();
  const toml::array* array = node->as_array();
  if (!array) {
    std::string hint;
    if (const auto* text = node->as_string()) hint = "write [\"" + text->get() + "\"]";
    return TypeError(key, *node, "an array of strings", hint);
  }
  std::vector<StringAt> out;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const auto* text = element.as_string();
    if (!text) {
      return ErrorAt(
          file_->Locate(element.source()), KeyPath(key),
          "item " + std::to_string(i + 1) + ": expected a string, got " + DescribeType(element));
    }
    out.push_back(StringAt{text->get(), file_->Locate(element.source())});
  }
  return std::optional<std::vector<StringAt>>(std::move(out));
}

Result<TableReader> TableReader::GetTable(std::string_view key) const {
  const toml::node* node = Find(key);
  if (!node) return TableError("missing key '" + std::string(key) + "'");
  const toml::table* table = node->as_table();
  if (!table) return TypeError(key, *node, "a table", "write " + std::string(key) + " = { ... }");
  return TableReader(*file_, *table, context_, KeyPath(key));
}

}  // namespace runnel::config_internal
