// Schema: the ordered, typed columns of the records a node produces. Built once at load time;
// operators resolve field names to column indexes against it, so the hot path never looks up
// names. Immutable after construction; safe to share across threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/value.h"

namespace runnel {

struct Column {
  std::string name;
  ValueType type = ValueType::kNull;  // kNull: the type is unknown (e.g. a null literal)
};

class Schema {
 public:
  Schema() = default;
  explicit Schema(std::vector<Column> columns) : columns_(std::move(columns)) {}

  size_t size() const { return columns_.size(); }
  const Column& column(size_t i) const { return columns_[i]; }
  const std::vector<Column>& columns() const { return columns_; }
  std::optional<size_t> IndexOf(std::string_view name) const;
  std::vector<std::string> Names() const;

 private:
  std::vector<Column> columns_;
};

}  // namespace runnel
