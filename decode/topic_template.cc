#include "decode/topic_template.h"

#include <algorithm>

namespace runnel {

namespace {

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool IsFieldName(std::string_view text) {
  if (text.empty() || (text[0] >= '0' && text[0] <= '9')) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

Result<TopicTemplate> TopicTemplate::Parse(std::string_view text, TopicUse use) {
  if (text.empty())
    return Status::Invalid("the topic is empty (write e.g. \"sensors/{device}/env\")");
  if (text.size() > kMaxTopicBytes) {
    return Status::Invalid("the topic is longer than MQTT's limit of 65535 bytes");
  }
  if (text.find('\0') != std::string_view::npos) {
    return Status::Invalid("the topic contains a NUL character, which MQTT forbids");
  }
  TopicTemplate out;
  out.text_ = std::string(text);
  size_t start = 0;
  while (true) {
    const size_t end = std::min(text.find('/', start), text.size());
    const std::string_view level = text.substr(start, end - start);
    const bool last = end == text.size();
    const std::string where = "level " + Quote(level) + " of " + Quote(text);
    if (level.size() >= 2 && level.front() == '{' && level.back() == '}') {
      const std::string_view name = level.substr(1, level.size() - 2);
      if (!IsFieldName(name)) {
        return Status::Invalid(where + ": " + Quote(name) +
                               " is not a field name (use letters, digits and '_', not "
                               "starting with a digit)");
      }
      if (use == TopicUse::kSubscribe &&
          std::find(out.fields_.begin(), out.fields_.end(), name) != out.fields_.end()) {
        return Status::Invalid(where + ": field '" + std::string(name) +
                               "' is bound twice (give each level its own name)");
      }
      out.levels_.push_back(Level{LevelKind::kField, std::string(name)});
      out.fields_.emplace_back(name);
    } else if (level == "+" || level == "#") {
      if (use == TopicUse::kPublish) {
        return Status::Invalid(where +
                               ": a wildcard cannot be published to (write text or a "
                               "{field} level)");
      }
      if (level == "#" && !last) {
        return Status::Invalid(where + ": '#' must be the last level (e.g. \"sensors/#\")");
      }
      out.levels_.push_back(Level{level == "+" ? LevelKind::kPlus : LevelKind::kHash, {}});
    } else if (level.find_first_of("+#{}") != std::string_view::npos) {
      return Status::Invalid(where + " is not valid (a level is text without + # { }, " +
                             (use == TopicUse::kSubscribe ? "+, # at the end, " : "") +
                             "or a whole-level {field}, e.g. \"sensors/{device}/env\")");
    } else {
      out.levels_.push_back(Level{LevelKind::kText, std::string(level)});
    }
    if (last) break;
    start = end + 1;
  }
  return out;
}

std::string TopicTemplate::Filter() const {
  std::string out;
  for (size_t i = 0; i < levels_.size(); ++i) {
    if (i > 0) out += '/';
    switch (levels_[i].kind) {
      case LevelKind::kText:
        out += levels_[i].text;
        break;
      case LevelKind::kField:
      case LevelKind::kPlus:
        out += '+';
        break;
      case LevelKind::kHash:
        out += '#';
        break;
    }
  }
  return out;
}

bool TopicTemplate::Match(std::string_view topic, std::vector<std::string_view>* values) const {
  values->clear();
  // MQTT 4.7.2: a filter starting with a wildcard does not match topics starting with '$'
  // (broker-internal topics such as $SYS).
  if (!topic.empty() && topic.front() == '$' && !levels_.empty() &&
      levels_.front().kind != LevelKind::kText) {
    return false;
  }
  size_t start = 0;
  for (size_t i = 0; i < levels_.size(); ++i) {
    const Level& level = levels_[i];
    // '#' also matches the parent level itself: "a/#" matches "a".
    if (level.kind == LevelKind::kHash) return true;
    if (start > topic.size()) return false;  // the topic has fewer levels
    const size_t slash = topic.find('/', start);
    const size_t end = slash == std::string_view::npos ? topic.size() : slash;
    const std::string_view part = topic.substr(start, end - start);
    if (level.kind == LevelKind::kText && part != level.text) return false;
    if (level.kind == LevelKind::kField) values->push_back(part);
    // Past the end (npos + 1 would wrap) marks "no more levels".
    start = slash == std::string_view::npos ? topic.size() + 1 : slash + 1;
  }
  return start > topic.size();  // every level consumed
}

void AppendTopicLevel(std::string_view value, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const bool topic_start = out->empty();
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    const bool encode = c == '%' || c == '/' || c == '+' || c == '#' || c == '\0' ||
                        (c == '$' && topic_start && i == 0);
    if (!encode) {
      out->push_back(c);
      continue;
    }
    const auto byte = static_cast<unsigned char>(c);
    out->push_back('%');
    out->push_back(kHex[byte >> 4]);
    out->push_back(kHex[byte & 0xF]);
  }
}

Result<TopicRenderer> TopicRenderer::Create(const TopicTemplate& topic, const Schema& schema) {
  TopicRenderer out;
  // Split the template text at its {field} levels; everything between is literal.
  const std::string& text = topic.text();
  std::string literal;
  size_t start = 0;
  while (true) {
    const size_t end = std::min(text.find('/', start), text.size());
    const std::string_view level = std::string_view(text).substr(start, end - start);
    if (level.size() >= 2 && level.front() == '{' && level.back() == '}') {
      const std::string name(level.substr(1, level.size() - 2));
      const std::optional<size_t> column = schema.IndexOf(name);
      if (!column) {
        return Status::Invalid("topic " + Quote(text) + ": field '" + name +
                               "' is not a column of the published rows (columns: " +
                               [&] {
                                 std::string names;
                                 for (const std::string& n : schema.Names()) {
                                   names += (names.empty() ? "" : ", ") + n;
                                 }
                                 return names;
                               }() +
                               ")");
      }
      if (!literal.empty()) out.parts_.push_back(Part{std::move(literal), 0, false, {}});
      literal.clear();
      out.parts_.push_back(Part{{}, *column, true, name});
    } else {
      literal += level;
    }
    if (end == text.size()) break;
    literal += '/';
    start = end + 1;
  }
  if (!literal.empty()) out.parts_.push_back(Part{std::move(literal), 0, false, {}});
  return out;
}

Status TopicRenderer::Render(const Row& row, std::string* out) const {
  out->clear();
  for (const Part& part : parts_) {
    if (!part.is_field) {
      *out += part.text;
      continue;
    }
    const Value& value = row[part.column];
    switch (value.type()) {
      case ValueType::kNull:
        return Status::Invalid("topic field '" + part.name + "' is null");
      case ValueType::kBool:
        *out += value.AsBool() ? "true" : "false";
        break;
      case ValueType::kInt:
        *out += std::to_string(value.AsInt());
        break;
      case ValueType::kFloat:
        AppendFloat(*out, value.AsFloat());
        break;
      case ValueType::kString:
        AppendTopicLevel(value.AsString(), out);
        break;
    }
  }
  if (out->empty()) return Status::Invalid("topic is empty (a field value is empty)");
  if (out->size() > TopicTemplate::kMaxTopicBytes) {
    return Status::Invalid(
        "topic is longer than MQTT's limit of 65535 bytes (field values too "
        "long)");
  }
  return Status::Ok();
}

}  // namespace runnel
