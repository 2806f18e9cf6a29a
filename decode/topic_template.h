// TopicTemplate: an MQTT topic with {field} levels. As a subscription ("sensors/{device}/env")
// it yields the broker filter ("sensors/+/env") and binds each {field} from the topic a message
// arrived on; as a publish target ("alerts/{device}") a TopicRenderer fills the levels from a
// row. A placeholder is always a whole level, since MQTT wildcards match whole levels only.
// Immutable after Parse; safe to share across threads.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/schema.h"
#include "runtime/status.h"
#include "runtime/value.h"

namespace runnel {

enum class TopicUse {
  kSubscribe,  // levels: text, {field}, '+', and '#' as the last level
  kPublish,    // levels: text and {field}; wildcards cannot be published to
};

class TopicTemplate {
 public:
  // MQTT limits a topic to 65535 bytes of UTF-8.
  static constexpr size_t kMaxTopicBytes = 65535;

  // Validates `text`. Errors are Invalid with a message naming the bad level and the rule,
  // without a file position (the config layer adds it).
  static Result<TopicTemplate> Parse(std::string_view text, TopicUse use);

  const std::string& text() const { return text_; }
  // The bound field names in template order: the order of Match's values.
  const std::vector<std::string>& fields() const { return fields_; }
  // The subscription filter: each {field} becomes '+'. "sensors/+/env".
  std::string Filter() const;

  // Whether `topic` (a concrete topic name, as a message carries it) matches this template
  // under MQTT rules ('+' one level, '#' the rest including none, topics starting with '$'
  // never matched by a leading wildcard). On a match, *values holds one view into `topic` per
  // field, in fields() order; topic levels are taken verbatim (no unescaping: firmware does
  // not escape). Allocation-free once *values has capacity.
  bool Match(std::string_view topic, std::vector<std::string_view>* values) const;

 private:
  enum class LevelKind { kText, kField, kPlus, kHash };
  struct Level {
    LevelKind kind;
    std::string text;  // kText: the level; kField: the field name
  };

  std::string text_;
  std::vector<Level> levels_;
  std::vector<std::string> fields_;
};

// TopicRenderer: fills a publish template's {field} levels from rows of one schema. Values are
// written as text (ints in decimal, floats in their shortest round-trip form, true/false,
// strings as is) with '%', '/', '+', '#' and NUL percent-encoded ("a/b" -> "a%2Fb"), and a '$'
// starting the topic encoded as %24, so that a value can never add a level, form a wildcard,
// or land in the broker's $SYS space. Immutable; safe to share across threads.
class TopicRenderer {
 public:
  // REQUIRES: `topic` was parsed for kPublish. Every field must be a column of `schema`.
  static Result<TopicRenderer> Create(const TopicTemplate& topic, const Schema& schema);

  // Writes the topic for `row` into *out. A null field is an error (there is no level to
  // publish to), as is a topic longer than TopicTemplate::kMaxTopicBytes.
  Status Render(const Row& row, std::string* out) const;

 private:
  struct Part {
    std::string text;   // literal text (levels and their '/' separators)
    size_t column = 0;  // used when is_field
    bool is_field = false;
    std::string name;  // field name, for messages
  };
  std::vector<Part> parts_;
};

// Percent-encodes '%', '/', '+', '#' and NUL in `value` and appends it to *out; a '$' is
// encoded too when *out is empty (the topic's first character). Used by TopicRenderer.
void AppendTopicLevel(std::string_view value, std::string* out);

}  // namespace runnel
