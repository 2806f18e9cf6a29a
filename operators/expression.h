// Expressions of pipeline files (SPEC §2): parsed once at load into a typed tree, evaluated
// per record with SQL null semantics. Compile errors say "at column N: what is wrong" (N is
// 1-based within the expression text) so the loader can point at the pipeline file.
// A compiled Expr is immutable and may be evaluated from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/schema.h"
#include "runtime/status.h"
#include "runtime/value.h"

namespace runnel {

// The names an expression may reference, each resolved to a column of the row it is
// evaluated on.
class Scope {
 public:
  // Bare field names of one input.
  explicit Scope(const Schema& schema);
  // An as-of join's combined row (left columns, then right columns): `left.x`, `right.y`,
  // and bare names for the left side's fields.
  static Scope Join(const Schema& left, const Schema& right);

  struct Resolved {
    size_t index;
    ValueType type;
  };
  // `qualifier` is "" for a bare name, else "left" or "right".
  Result<Resolved> Resolve(std::string_view qualifier, std::string_view name) const;

 private:
  Scope() = default;
  Schema left_;
  std::optional<Schema> right_;
};

class Expr {
 public:
  virtual ~Expr() = default;
  virtual Value Eval(const Row& row) const = 0;
  // Static type; kNull when only null can come out (e.g. the literal null).
  ValueType type() const { return type_; }
  // Set when the expression is a bare column reference (lets operators skip evaluation).
  std::optional<size_t> column_index() const { return column_index_; }

 protected:
  explicit Expr(ValueType type, std::optional<size_t> column_index = std::nullopt)
      : type_(type), column_index_(column_index) {}

 private:
  ValueType type_;
  std::optional<size_t> column_index_;
};

Result<std::unique_ptr<Expr>> CompileExpression(std::string_view text, const Scope& scope);

// A `select` item: "name = expr", or a bare field reference ("temp", "left.temp") named
// after the field.
struct NamedExpression {
  std::string name;
  std::unique_ptr<Expr> expr;
  // The expression's tokens as written, separated by single spaces (keywords lower-cased):
  // equal for equal definitions, for state fingerprints. Empty when built without text.
  std::string text = {};
};
Result<NamedExpression> CompileSelectItem(std::string_view text, const Scope& scope);

// An `aggregate` item: "name = fn(expr)" or "name = fn()". The function name is not checked
// here (the aggregate module knows the aggregate functions); the argument is compiled.
struct AggregateCall {
  std::string name;
  std::string function;
  std::unique_ptr<Expr> argument;  // null for fn()
  std::string argument_text = {};  // canonical, as NamedExpression::text
};
Result<AggregateCall> ParseAggregateCall(std::string_view text, const Scope& scope);

}  // namespace runnel
