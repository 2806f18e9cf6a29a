// FingerprintBuilder: composes the text of Operator::StateFingerprint, the description of an
// operator's definition that saved state is tied to. Readable "key=value" items in a fixed
// order, strings quoted, so equal definitions give equal text in every run and a refused load
// can show what changed. Value type; not synchronised.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/schema.h"

namespace runnel {

class FingerprintBuilder {
 public:
  explicit FingerprintBuilder(std::string_view kind) : text_(kind) {}

  FingerprintBuilder& Add(std::string_view key, std::string_view value);
  FingerprintBuilder& Add(std::string_view key, int64_t value);
  // Every column as name:type, in order.
  FingerprintBuilder& AddSchema(std::string_view key, const Schema& schema);
  // The columns at `indexes` as name:type (their position in the schema is covered by the
  // schema item).
  FingerprintBuilder& AddColumns(std::string_view key, const std::vector<size_t>& indexes,
                                 const Schema& schema);

  std::string Release() { return std::move(text_); }

 private:
  void Key(std::string_view key);
  void Quote(std::string_view s);

  std::string text_;
};

}  // namespace runnel
