#include "operators/expression_nodes.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace runnel::expr_internal {

namespace {

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string_view Symbol(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kEq:
      return "==";
    case BinaryOp::kNe:
      return "!=";
    case BinaryOp::kLt:
      return "<";
    case BinaryOp::kLe:
      return "<=";
    case BinaryOp::kGt:
      return ">";
    case BinaryOp::kGe:
      return ">=";
    case BinaryOp::kAnd:
      return "and";
    case BinaryOp::kOr:
      return "or";
  }
  return "?";
}

// --- Nodes ------------------------------------------------------------------------------

class LiteralExpr final : public Expr {
 public:
  explicit LiteralExpr(Value value) : Expr(value.type()), value_(std::move(value)) {}
  Value Eval(const Row&) const override { return value_; }
  const Value& value() const { return value_; }

 private:
  Value value_;
};

class ColumnExpr final : public Expr {
 public:
  ColumnExpr(size_t index, ValueType type) : Expr(type, index), index_(index) {}
  // A short row is a wiring bug upstream; null keeps one bad record from crashing the run.
  Value Eval(const Row& row) const override { return index_ < row.size() ? row[index_] : Value(); }

 private:
  size_t index_;
};

class NegateExpr final : public Expr {
 public:
  NegateExpr(ValueType type, std::unique_ptr<Expr> operand)
      : Expr(type), operand_(std::move(operand)) {}
  Value Eval(const Row& row) const override {
    Value scratch;
    const Value& v = operand_.Get(row, scratch);
    switch (v.type()) {
      case ValueType::kInt:
        if (v.AsInt() == std::numeric_limits<int64_t>::min()) return Value();  // overflow
        return Value::Int(-v.AsInt());
      case ValueType::kFloat:
        return FloatResult(-v.AsFloat());
      default:
        return Value();
    }
  }

 private:
  Input operand_;
};

template <BinaryOp kOp>
Value Arithmetic(const Value& a, const Value& b) {
  if (a.type() == ValueType::kInt && b.type() == ValueType::kInt) {
    const int64_t x = a.AsInt(), y = b.AsInt();
    int64_t r = 0;
    if constexpr (kOp == BinaryOp::kAdd) {
      return __builtin_add_overflow(x, y, &r) ? Value() : Value::Int(r);
    } else if constexpr (kOp == BinaryOp::kSub) {
      return __builtin_sub_overflow(x, y, &r) ? Value() : Value::Int(r);
    } else if constexpr (kOp == BinaryOp::kMul) {
      return __builtin_mul_overflow(x, y, &r) ? Value() : Value::Int(r);
    } else if constexpr (kOp == BinaryOp::kDiv) {
      if (y == 0) return Value();
      return FloatResult(static_cast<double>(x) / static_cast<double>(y));
    } else {
      if (y == 0) return Value();
      // INT64_MIN % -1 overflows in C++ although the answer is 0.
      if (y == -1) return Value::Int(0);
      return Value::Int(x % y);
    }
  }
  if (!IsNumeric(a.type()) || !IsNumeric(b.type())) return Value();
  const double x = a.AsNumber(), y = b.AsNumber();
  if constexpr (kOp == BinaryOp::kAdd) {
    return FloatResult(x + y);
  } else if constexpr (kOp == BinaryOp::kSub) {
    return FloatResult(x - y);
  } else if constexpr (kOp == BinaryOp::kMul) {
    return FloatResult(x * y);
  } else if constexpr (kOp == BinaryOp::kDiv) {
    return y == 0 ? Value() : FloatResult(x / y);
  } else {
    return y == 0 ? Value() : FloatResult(std::fmod(x, y));
  }
}

template <BinaryOp kOp>
class ArithmeticExpr final : public Expr {
 public:
  ArithmeticExpr(ValueType type, std::unique_ptr<Expr> lhs, std::unique_ptr<Expr> rhs)
      : Expr(type), lhs_(std::move(lhs)), rhs_(std::move(rhs)) {}
  Value Eval(const Row& row) const override {
    Value scratch_a, scratch_b;
    const Value& a = lhs_.Get(row, scratch_a);
    if (a.is_null()) return Value();
    const Value& b = rhs_.Get(row, scratch_b);
    if (b.is_null()) return Value();
    return Arithmetic<kOp>(a, b);
  }

 private:
  Input lhs_, rhs_;
};

template <BinaryOp kOp>
bool Holds(Order order) {
  if constexpr (kOp == BinaryOp::kEq) return order == Order::kEqual;
  if constexpr (kOp == BinaryOp::kNe) return order != Order::kEqual;
  if constexpr (kOp == BinaryOp::kLt) return order == Order::kLess;
  if constexpr (kOp == BinaryOp::kLe) return order != Order::kGreater;
  if constexpr (kOp == BinaryOp::kGt) return order == Order::kGreater;
  if constexpr (kOp == BinaryOp::kGe) return order != Order::kLess;
  return false;
}

template <BinaryOp kOp>
class ComparisonExpr final : public Expr {
 public:
  ComparisonExpr(ValueType type, std::unique_ptr<Expr> lhs, std::unique_ptr<Expr> rhs)
      : Expr(type), lhs_(std::move(lhs)), rhs_(std::move(rhs)) {}
  Value Eval(const Row& row) const override {
    Value scratch_a, scratch_b;
    const Value& a = lhs_.Get(row, scratch_a);
    if (a.is_null()) return Value();
    const Order order = Compare(a, rhs_.Get(row, scratch_b));
    if (order == Order::kUnordered) return Value();  // b is null (types were checked)
    return Value::Bool(Holds<kOp>(order));
  }

 private:
  Input lhs_, rhs_;
};

enum class Truth : uint8_t { kFalse, kTrue, kUnknown };

Truth TruthOf(const Value& v) {
  if (v.type() != ValueType::kBool) return Truth::kUnknown;
  return v.AsBool() ? Truth::kTrue : Truth::kFalse;
}

// SQL three-valued logic. The right side is skipped when the left side decides, which is
// safe because expressions have no side effects.
template <bool kIsAnd>
class LogicExpr final : public Expr {
 public:
  LogicExpr(ValueType type, std::unique_ptr<Expr> lhs, std::unique_ptr<Expr> rhs)
      : Expr(type), lhs_(std::move(lhs)), rhs_(std::move(rhs)) {}
  Value Eval(const Row& row) const override {
    constexpr Truth kDecides = kIsAnd ? Truth::kFalse : Truth::kTrue;
    // Operands are bools, cheap to copy; direct evaluation skips Input's scratch assignment.
    const Truth a = TruthOf(lhs_->Eval(row));
    if (a == kDecides) return Value::Bool(!kIsAnd);
    const Truth b = TruthOf(rhs_->Eval(row));
    if (b == kDecides) return Value::Bool(!kIsAnd);
    if (a == Truth::kUnknown || b == Truth::kUnknown) return Value();
    return Value::Bool(kIsAnd);
  }

 private:
  std::unique_ptr<Expr> lhs_, rhs_;
};

class NotExpr final : public Expr {
 public:
  NotExpr(ValueType type, std::unique_ptr<Expr> operand)
      : Expr(type), operand_(std::move(operand)) {}
  Value Eval(const Row& row) const override {
    const Truth t = TruthOf(operand_->Eval(row));
    if (t == Truth::kUnknown) return Value();
    return Value::Bool(t == Truth::kFalse);
  }

 private:
  std::unique_ptr<Expr> operand_;
};

// --- Type checking ----------------------------------------------------------------------

enum class Family { kNull, kBool, kNumber, kString };

Family FamilyOf(ValueType t) {
  switch (t) {
    case ValueType::kNull:
      return Family::kNull;
    case ValueType::kBool:
      return Family::kBool;
    case ValueType::kInt:
    case ValueType::kFloat:
      return Family::kNumber;
    case ValueType::kString:
      return Family::kString;
  }
  return Family::kNull;
}

// The static type of an operator that is null whenever an operand is null.
ValueType Strict(ValueType a, ValueType b, ValueType result) {
  return (a == ValueType::kNull || b == ValueType::kNull) ? ValueType::kNull : result;
}

Result<std::unique_ptr<Expr>> MakeArithmetic(BinaryOp op, int op_column, Operand lhs, Operand rhs) {
  const ValueType a = lhs.expr->type(), b = rhs.expr->type();
  if (!IsNumericOrNull(a) || !IsNumericOrNull(b)) {
    const bool has_string = a == ValueType::kString || b == ValueType::kString;
    std::string hint = "convert with to_int()";
    if (has_string)
      hint = op == BinaryOp::kAdd ? "use concat() to join strings" : "convert with to_float()";
    return ErrorAt(op_column, Quoted(Symbol(op)) + " needs numbers, got " +
                                  std::string(TypeName(a)) + " and " + std::string(TypeName(b)) +
                                  " (" + hint + ")");
  }
  ValueType result = ValueType::kFloat;
  if (op != BinaryOp::kDiv && a == ValueType::kInt && b == ValueType::kInt)
    result = ValueType::kInt;
  result = Strict(a, b, result);
  auto l = std::move(lhs.expr);
  auto r = std::move(rhs.expr);
  switch (op) {
    case BinaryOp::kAdd:
      return New<ArithmeticExpr<BinaryOp::kAdd>>(result, std::move(l), std::move(r));
    case BinaryOp::kSub:
      return New<ArithmeticExpr<BinaryOp::kSub>>(result, std::move(l), std::move(r));
    case BinaryOp::kMul:
      return New<ArithmeticExpr<BinaryOp::kMul>>(result, std::move(l), std::move(r));
    case BinaryOp::kDiv:
      return New<ArithmeticExpr<BinaryOp::kDiv>>(result, std::move(l), std::move(r));
    default:
      return New<ArithmeticExpr<BinaryOp::kMod>>(result, std::move(l), std::move(r));
  }
}

// `temp > -40` compares a float with an int literal; as a float literal the comparison takes
// the float-float path. Only ints that convert exactly qualify, so results do not change.
std::unique_ptr<Expr> PromoteIntLiteral(std::unique_ptr<Expr> e, ValueType other) {
  constexpr int64_t kExactInt = int64_t{1} << 53;
  const auto* literal = dynamic_cast<const LiteralExpr*>(e.get());
  if (other != ValueType::kFloat || literal == nullptr || literal->type() != ValueType::kInt) {
    return e;
  }
  const int64_t i = literal->value().AsInt();
  if (i < -kExactInt || i > kExactInt) return e;
  return MakeLiteral(Value::Float(static_cast<double>(i)));
}

Result<std::unique_ptr<Expr>> MakeComparison(BinaryOp op, int op_column, Operand lhs, Operand rhs) {
  const ValueType a = lhs.expr->type(), b = rhs.expr->type();
  const Family fa = FamilyOf(a), fb = FamilyOf(b);
  if (fa != Family::kNull && fb != Family::kNull && fa != fb) {
    const bool has_string = fa == Family::kString || fb == Family::kString;
    return ErrorAt(op_column, "cannot compare " + std::string(TypeName(a)) + " with " +
                                  std::string(TypeName(b)) +
                                  (has_string ? " (convert one side with to_float() or to_string())"
                                              : " (convert the bool with to_int())"));
  }
  const ValueType result = Strict(a, b, ValueType::kBool);
  auto l = PromoteIntLiteral(std::move(lhs.expr), b);
  auto r = PromoteIntLiteral(std::move(rhs.expr), a);
  switch (op) {
    case BinaryOp::kEq:
      return New<ComparisonExpr<BinaryOp::kEq>>(result, std::move(l), std::move(r));
    case BinaryOp::kNe:
      return New<ComparisonExpr<BinaryOp::kNe>>(result, std::move(l), std::move(r));
    case BinaryOp::kLt:
      return New<ComparisonExpr<BinaryOp::kLt>>(result, std::move(l), std::move(r));
    case BinaryOp::kLe:
      return New<ComparisonExpr<BinaryOp::kLe>>(result, std::move(l), std::move(r));
    case BinaryOp::kGt:
      return New<ComparisonExpr<BinaryOp::kGt>>(result, std::move(l), std::move(r));
    default:
      return New<ComparisonExpr<BinaryOp::kGe>>(result, std::move(l), std::move(r));
  }
}

bool IsBoolOrNull(ValueType t) { return t == ValueType::kBool || t == ValueType::kNull; }

constexpr std::string_view kLogicHint = " (write a comparison, e.g. x != 0)";

Result<std::unique_ptr<Expr>> MakeLogic(BinaryOp op, int op_column, Operand lhs, Operand rhs) {
  const ValueType a = lhs.expr->type(), b = rhs.expr->type();
  if (!IsBoolOrNull(a) || !IsBoolOrNull(b)) {
    return ErrorAt(op_column, Quoted(Symbol(op)) + " needs bools, got " + std::string(TypeName(a)) +
                                  " and " + std::string(TypeName(b)) + std::string(kLogicHint));
  }
  // Not Strict(): false and null is false, so only null and null is always null.
  const ValueType result =
      (a == ValueType::kNull && b == ValueType::kNull) ? ValueType::kNull : ValueType::kBool;
  if (op == BinaryOp::kAnd) {
    return New<LogicExpr<true>>(result, std::move(lhs.expr), std::move(rhs.expr));
  }
  return New<LogicExpr<false>>(result, std::move(lhs.expr), std::move(rhs.expr));
}

// Decimal exponent of the leading significant digit of a well-formed number ("0.001" -> -3,
// "12e5" -> 6), to tell an overflow from an underflow when from_chars reports out of range.
int64_t DecimalMagnitude(std::string_view text) {
  int64_t magnitude = 0;
  bool seen_point = false, seen_digit = false;
  size_t i = 0;
  for (; i < text.size() && text[i] != 'e' && text[i] != 'E'; ++i) {
    const char c = text[i];
    if (c == '.') {
      seen_point = true;
    } else if (c >= '0' && c <= '9') {
      if (!seen_digit && c == '0') {
        if (seen_point) --magnitude;
        continue;
      }
      seen_digit = true;
      if (!seen_point) ++magnitude;
    }
  }
  int64_t exponent = 0;
  if (i < text.size()) {
    const std::string_view e = text.substr(i + 1);
    const size_t skip = (!e.empty() && e[0] == '+') ? 1 : 0;
    auto [ptr, ec] = std::from_chars(e.data() + skip, e.data() + e.size(), exponent);
    if (ec == std::errc::result_out_of_range) exponent = e[0] == '-' ? -100000 : 100000;
    exponent = std::clamp<int64_t>(exponent, -100000, 100000);
  }
  return magnitude + exponent;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// from_chars rejects a leading '+', which people write ("+21.5").
std::string_view StripPlus(std::string_view s) {
  if (s.size() >= 2 && s[0] == '+' &&
      (std::isdigit(static_cast<unsigned char>(s[1])) || s[1] == '.')) {
    s.remove_prefix(1);
  }
  return s;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

Input::Input(std::unique_ptr<Expr> expr) : expr_(std::move(expr)) {
  if (std::optional<size_t> column = expr_->column_index()) {
    column_ = *column;
  } else if (const auto* literal = dynamic_cast<const LiteralExpr*>(expr_.get())) {
    literal_ = &literal->value();
  }
}

std::unique_ptr<Expr> MakeLiteral(Value value) { return New<LiteralExpr>(std::move(value)); }

std::unique_ptr<Expr> MakeColumn(size_t index, ValueType type) {
  return New<ColumnExpr>(index, type);
}

Result<std::unique_ptr<Expr>> MakeNegate(Operand operand, int op_column) {
  const ValueType t = operand.expr->type();
  if (!IsNumericOrNull(t)) {
    return ErrorAt(op_column, "'-' needs a number, got " + std::string(TypeName(t)) +
                                  (t == ValueType::kBool ? " (use not for bools)"
                                                         : " (convert with to_float())"));
  }
  return New<NegateExpr>(t, std::move(operand.expr));
}

Result<std::unique_ptr<Expr>> MakeNot(Operand operand, int op_column) {
  const ValueType t = operand.expr->type();
  if (!IsBoolOrNull(t)) {
    return ErrorAt(op_column,
                   "'not' needs a bool, got " + std::string(TypeName(t)) + std::string(kLogicHint));
  }
  return New<NotExpr>(t, std::move(operand.expr));
}

Result<std::unique_ptr<Expr>> MakeBinary(BinaryOp op, int op_column, Operand lhs, Operand rhs) {
  switch (op) {
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod:
      return MakeArithmetic(op, op_column, std::move(lhs), std::move(rhs));
    case BinaryOp::kAnd:
    case BinaryOp::kOr:
      return MakeLogic(op, op_column, std::move(lhs), std::move(rhs));
    default:
      return MakeComparison(op, op_column, std::move(lhs), std::move(rhs));
  }
}

std::optional<ValueType> Unify(ValueType a, ValueType b) {
  if (a == ValueType::kNull) return b;
  if (b == ValueType::kNull || a == b) return a;
  if (IsNumeric(a) && IsNumeric(b)) return ValueType::kFloat;
  return std::nullopt;
}

Value FloatResult(double d) {
  if (!std::isfinite(d)) return Value();
  return Value::Float(d == 0 ? 0.0 : d);
}

Value ConvertTo(Value value, ValueType type) {
  if (type == ValueType::kFloat && value.type() == ValueType::kInt) {
    return Value::Float(static_cast<double>(value.AsInt()));
  }
  return value;
}

namespace {

template <class T>
Order Ordered(const T& a, const T& b) {
  if (a < b) return Order::kLess;
  if (b < a) return Order::kGreater;
  return a == b ? Order::kEqual : Order::kUnordered;
}

// Exact: converting a large int to double would make 2^53 + 1 equal to 2^53.
Order CompareIntFloat(int64_t a, double b) {
  // Common case: ints up to 2^53 convert to double exactly.
  constexpr int64_t kExactInt = int64_t{1} << 53;
  if (a >= -kExactInt && a <= kExactInt) return Ordered(static_cast<double>(a), b);
  if (std::isnan(b)) return Order::kUnordered;
  if (b >= 0x1p63) return Order::kLess;
  if (b < -0x1p63) return Order::kGreater;
  const double whole = std::trunc(b);
  const auto b_int = static_cast<int64_t>(whole);
  if (a != b_int) return a < b_int ? Order::kLess : Order::kGreater;
  const double fraction = b - whole;
  if (fraction > 0) return Order::kLess;
  if (fraction < 0) return Order::kGreater;
  return Order::kEqual;
}

Order Reverse(Order o) {
  if (o == Order::kLess) return Order::kGreater;
  if (o == Order::kGreater) return Order::kLess;
  return o;
}

}  // namespace

Order Compare(const Value& a, const Value& b) {
  switch (a.type()) {
    case ValueType::kInt:
      if (b.type() == ValueType::kInt) return Ordered(a.AsInt(), b.AsInt());
      if (b.type() == ValueType::kFloat) return CompareIntFloat(a.AsInt(), b.AsFloat());
      return Order::kUnordered;
    case ValueType::kFloat:
      if (b.type() == ValueType::kFloat) return Ordered(a.AsFloat(), b.AsFloat());
      if (b.type() == ValueType::kInt) return Reverse(CompareIntFloat(b.AsInt(), a.AsFloat()));
      return Order::kUnordered;
    case ValueType::kString: {
      if (b.type() != ValueType::kString) return Order::kUnordered;
      // std::string::compare is memcmp-like: bytes compare as unsigned char.
      const int c = a.AsString().compare(b.AsString());
      return c < 0 ? Order::kLess : (c > 0 ? Order::kGreater : Order::kEqual);
    }
    case ValueType::kBool:
      if (b.type() != ValueType::kBool) return Order::kUnordered;
      return Ordered(a.AsBool(), b.AsBool());
    case ValueType::kNull:
      return Order::kUnordered;
  }
  return Order::kUnordered;
}

std::optional<int64_t> ParseIntText(std::string_view text) {
  text = StripPlus(TrimSpace(text));
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> ParseFloatText(std::string_view text) {
  text = StripPlus(TrimSpace(text));
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ptr != text.data() + text.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    if (DecimalMagnitude(text) < 0) return 0.0;
    return std::nullopt;
  }
  if (ec != std::errc() || !std::isfinite(value)) return std::nullopt;
  return value == 0 ? 0.0 : value;
}

std::optional<std::string> ClosestMatch(std::string_view name,
                                        const std::vector<std::string>& candidates) {
  // Short names tolerate one typo, longer ones two; a case-only difference always counts.
  const size_t allowed = name.size() <= 2 ? 0 : (name.size() <= 5 ? 1 : 2);
  std::optional<std::string> best;
  size_t best_distance = allowed + 1;
  for (const std::string& candidate : candidates) {
    if (candidate == name) continue;
    const size_t d = EditDistance(name, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace runnel::expr_internal
