// Internal to the expression compiler: the typed nodes of operators (literals, columns,
// arithmetic, comparison, logic), their static type rules, and the value helpers that the
// function library shares. Include operators/expression.h for the public API.
// Nodes are immutable once built; Eval is safe from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "operators/expression.h"
#include "operators/expression_lexer.h"
#include "runtime/status.h"
#include "runtime/value.h"

namespace runnel::expr_internal {

// A compiled sub-expression and the column where its text starts (for error messages).
struct Operand {
  std::unique_ptr<Expr> expr;
  int column = 1;
};

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kMod, kEq, kNe, kLt, kLe, kGt, kGe, kAnd, kOr };

// make_unique typed as the base pointer, so that it converts to Result<std::unique_ptr<Expr>>.
template <class Node, class... Args>
std::unique_ptr<Expr> New(Args&&... args) {
  return std::make_unique<Node>(std::forward<Args>(args)...);
}

std::unique_ptr<Expr> MakeLiteral(Value value);
std::unique_ptr<Expr> MakeColumn(size_t index, ValueType type);
// Each checks operand types; an error points at `op_column`, the operator's position.
Result<std::unique_ptr<Expr>> MakeNegate(Operand operand, int op_column);
Result<std::unique_ptr<Expr>> MakeNot(Operand operand, int op_column);
Result<std::unique_ptr<Expr>> MakeBinary(BinaryOp op, int op_column, Operand lhs, Operand rhs);

// A node's child, read in place when it is a column or a literal: comparisons, arithmetic and
// string functions then neither copy strings nor go through a virtual call for them.
class Input {
 public:
  explicit Input(std::unique_ptr<Expr> expr);
  // The child's value for `row`: a reference into the row, the literal, or `scratch`.
  const Value& Get(const Row& row, Value& scratch) const {
    if (column_ != kNotColumn) return column_ < row.size() ? row[column_] : null_;
    if (literal_ != nullptr) return *literal_;
    scratch = expr_->Eval(row);
    return scratch;
  }
  const Expr& expr() const { return *expr_; }

 private:
  static constexpr size_t kNotColumn = static_cast<size_t>(-1);
  std::unique_ptr<Expr> expr_;
  size_t column_ = kNotColumn;
  const Value* literal_ = nullptr;  // points into *expr_
  Value null_;
};

// --- Type rules -------------------------------------------------------------------------

inline bool IsNumeric(ValueType t) { return t == ValueType::kInt || t == ValueType::kFloat; }
// kNull (the null literal) fits wherever a type is expected.
inline bool IsNumericOrNull(ValueType t) { return IsNumeric(t) || t == ValueType::kNull; }
// The common type of two branches: null unifies with anything, int with float gives float.
std::optional<ValueType> Unify(ValueType a, ValueType b);

// --- Value helpers shared with the function library --------------------------------------

// A computed float: null unless finite (SPEC: floats in a pipeline are finite); a negative
// zero becomes 0 so that it groups and prints like 0.
Value FloatResult(double d);
// Converts an int to float when `type` is kFloat; anything else is returned unchanged.
Value ConvertTo(Value value, ValueType type);

enum class Order { kLess, kEqual, kGreater, kUnordered };
// Numbers compare numerically (an int and a float exactly, without rounding the int), strings
// by bytes, bools false < true. Different families, or nulls, are kUnordered.
Order Compare(const Value& a, const Value& b);

// Text parsing of to_int/to_float and of literals: surrounding ASCII spaces and a leading '+'
// are accepted; anything else that is not a whole number is nullopt. A float that overflows
// is nullopt, one that underflows reads as 0.
std::optional<int64_t> ParseIntText(std::string_view text);
std::optional<double> ParseFloatText(std::string_view text);

// The candidate closest to `name` when it is a plausible typo (case-insensitive edit
// distance), for "did you mean ...?" hints.
std::optional<std::string> ClosestMatch(std::string_view name,
                                        const std::vector<std::string>& candidates);

}  // namespace runnel::expr_internal
