#include "operators/state_fingerprint.h"

namespace runnel {

void FingerprintBuilder::Key(std::string_view key) {
  text_ += ';';
  text_ += key;
  text_ += '=';
}

void FingerprintBuilder::Quote(std::string_view s) {
  text_ += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') text_ += '\\';
    text_ += c;
  }
  text_ += '"';
}

FingerprintBuilder& FingerprintBuilder::Add(std::string_view key, std::string_view value) {
  Key(key);
  Quote(value);
  return *this;
}

FingerprintBuilder& FingerprintBuilder::Add(std::string_view key, int64_t value) {
  Key(key);
  text_ += std::to_string(value);
  return *this;
}

FingerprintBuilder& FingerprintBuilder::AddSchema(std::string_view key, const Schema& schema) {
  Key(key);
  text_ += '[';
  for (size_t i = 0; i < schema.size(); ++i) {
    if (i > 0) text_ += ',';
    Quote(schema.column(i).name);
    text_ += ':';
    text_ += TypeName(schema.column(i).type);
  }
  text_ += ']';
  return *this;
}

FingerprintBuilder& FingerprintBuilder::AddColumns(std::string_view key,
                                                   const std::vector<size_t>& indexes,
                                                   const Schema& schema) {
  Key(key);
  text_ += '[';
  for (size_t i = 0; i < indexes.size(); ++i) {
    if (i > 0) text_ += ',';
    if (indexes[i] < schema.size()) {
      Quote(schema.column(indexes[i]).name);
      text_ += ':';
      text_ += TypeName(schema.column(indexes[i]).type);
    } else {
      text_ += '#' + std::to_string(indexes[i]);
    }
  }
  text_ += ']';
  return *this;
}

}  // namespace runnel
