#include "operators/expression_functions.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>

namespace runnel::expr_internal {

namespace {

// --- Evaluation helpers -----------------------------------------------------------------

void AppendText(std::string& out, const Value& v) {
  switch (v.type()) {
    case ValueType::kNull:
      return;
    case ValueType::kBool:
      out += v.AsBool() ? "true" : "false";
      return;
    case ValueType::kInt: {
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v.AsInt());
      out.append(buf, end);
      return;
    }
    case ValueType::kFloat:
      AppendFloat(out, v.AsFloat());
      return;
    case ValueType::kString:
      out += v.AsString();
      return;
  }
}

Value FloatToInt(double d) {
  if (!std::isfinite(d)) return Value();
  const double whole = std::trunc(d);
  if (whole < -0x1p63 || whole >= 0x1p63) return Value();
  return Value::Int(static_cast<int64_t>(whole));
}

// 10^n for n in [0, 22] is exact in a double; std::pow is not guaranteed to be.
double PowerOfTen(int64_t n) {
  static constexpr double kExact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  if (n >= 0 && n <= 22) return kExact[n];
  return std::pow(10.0, static_cast<double>(n));
}

// round(x * 10^n) / 10^n with std::round (half away from zero). For n < 0 the scale is
// applied as a division by 10^-n, the same formula with an exact constant.
double RoundToDigits(double x, int64_t n) {
  // Past ±400 digits nothing changes any more (10^400 is already infinite).
  n = std::clamp<int64_t>(n, -400, 400);
  const double scale = PowerOfTen(n >= 0 ? n : -n);
  if (n >= 0) {
    const double scaled = x * scale;
    // x has no digits at this scale (x * 10^n overflowed): nothing to round.
    if (!std::isfinite(scaled)) return x;
    return std::round(scaled) / scale;
  }
  // |x| < 10^-n / 2 for every finite x here: rounds to zero.
  if (!std::isfinite(scale)) return 0.0;
  return std::round(x / scale) * scale;
}

using Fn1 = Value (*)(const Value&);
using Fn2 = Value (*)(const Value&, const Value&);

Value Abs(const Value& v) {
  if (v.type() == ValueType::kInt) {
    if (v.AsInt() == std::numeric_limits<int64_t>::min()) return Value();  // overflow
    return Value::Int(v.AsInt() < 0 ? -v.AsInt() : v.AsInt());
  }
  if (v.type() == ValueType::kFloat) return FloatResult(std::fabs(v.AsFloat()));
  return Value();
}

// Integer-valued rounding of ints is the identity, so ints keep their type.
template <double (*kFn)(double)>
Value IntegralRounding(const Value& v) {
  if (v.type() == ValueType::kInt) return v;
  if (v.type() == ValueType::kFloat) return FloatResult(kFn(v.AsFloat()));
  return Value();
}

double RoundHalfAway(double d) { return std::round(d); }
double Floor(double d) { return std::floor(d); }
double Ceil(double d) { return std::ceil(d); }
double Sqrt(double d) { return std::sqrt(d); }
double Exp(double d) { return std::exp(d); }
double Ln(double d) { return std::log(d); }
double Log10(double d) { return std::log10(d); }

// Domain errors give NaN or infinity, which FloatResult turns into null.
template <double (*kFn)(double)>
Value FloatMath(const Value& v) {
  if (!IsNumeric(v.type())) return Value();
  return FloatResult(kFn(v.AsNumber()));
}

Value Pow(const Value& x, const Value& y) {
  if (!IsNumeric(x.type()) || !IsNumeric(y.type())) return Value();
  return FloatResult(std::pow(x.AsNumber(), y.AsNumber()));
}

Value RoundN(const Value& x, const Value& n) {
  if (!IsNumeric(x.type()) || n.type() != ValueType::kInt) return Value();
  return FloatResult(RoundToDigits(x.AsNumber(), n.AsInt()));
}

Value ToInt(const Value& v) {
  switch (v.type()) {
    case ValueType::kInt:
      return v;
    case ValueType::kFloat:
      return FloatToInt(v.AsFloat());
    case ValueType::kBool:
      return Value::Int(v.AsBool() ? 1 : 0);
    case ValueType::kString:
      if (auto i = ParseIntText(v.AsString())) return Value::Int(*i);
      if (auto d = ParseFloatText(v.AsString())) return FloatToInt(*d);
      return Value();
    case ValueType::kNull:
      return Value();
  }
  return Value();
}

Value ToFloat(const Value& v) {
  switch (v.type()) {
    case ValueType::kInt:
      return Value::Float(static_cast<double>(v.AsInt()));
    case ValueType::kFloat:
      return v;
    case ValueType::kBool:
      return Value::Float(v.AsBool() ? 1.0 : 0.0);
    case ValueType::kString:
      if (auto d = ParseFloatText(v.AsString())) return Value::Float(*d);
      return Value();
    case ValueType::kNull:
      return Value();
  }
  return Value();
}

Value ToString(const Value& v) {
  if (v.type() == ValueType::kString) return v;
  std::string out;
  AppendText(out, v);
  return Value::String(std::move(out));
}

template <char kFrom, char kTo>
Value MapAscii(const Value& v) {
  if (v.type() != ValueType::kString) return Value();
  std::string s = v.AsString();
  for (char& c : s) {
    if (c >= kFrom && c <= kFrom + 25) c = static_cast<char>(c - kFrom + kTo);
  }
  return Value::String(std::move(s));
}

Value Contains(const Value& s, const Value& sub) {
  if (s.type() != ValueType::kString || sub.type() != ValueType::kString) return Value();
  return Value::Bool(s.AsString().find(sub.AsString()) != std::string::npos);
}

Value StartsWith(const Value& s, const Value& prefix) {
  if (s.type() != ValueType::kString || prefix.type() != ValueType::kString) return Value();
  return Value::Bool(s.AsString().starts_with(prefix.AsString()));
}

// --- Call nodes -------------------------------------------------------------------------

using ExprPtr = std::unique_ptr<Expr>;

// Null in, null out: most functions.
class StrictCall1 final : public Expr {
 public:
  StrictCall1(ValueType type, Fn1 fn, ExprPtr arg) : Expr(type), fn_(fn), arg_(std::move(arg)) {}
  Value Eval(const Row& row) const override {
    Value scratch;
    const Value& v = arg_.Get(row, scratch);
    if (v.is_null()) return Value();
    return fn_(v);
  }

 private:
  Fn1 fn_;
  Input arg_;
};

class StrictCall2 final : public Expr {
 public:
  StrictCall2(ValueType type, Fn2 fn, ExprPtr a, ExprPtr b)
      : Expr(type), fn_(fn), a_(std::move(a)), b_(std::move(b)) {}
  Value Eval(const Row& row) const override {
    Value scratch_x, scratch_y;
    const Value& x = a_.Get(row, scratch_x);
    if (x.is_null()) return Value();
    const Value& y = b_.Get(row, scratch_y);
    if (y.is_null()) return Value();
    return fn_(x, y);
  }

 private:
  Fn2 fn_;
  Input a_, b_;
};

// min/max: nulls are skipped; null only when every argument is null.
template <bool kIsMax>
class ExtremumCall final : public Expr {
 public:
  ExtremumCall(ValueType type, std::vector<Input> args) : Expr(type), args_(std::move(args)) {}
  Value Eval(const Row& row) const override {
    constexpr Order kBetter = kIsMax ? Order::kGreater : Order::kLess;
    Value best;
    Value scratch;
    for (const Input& arg : args_) {
      const Value& v = arg.Get(row, scratch);
      if (v.is_null()) continue;
      if (best.is_null() || Compare(v, best) == kBetter) best = v;
    }
    return ConvertTo(std::move(best), type());
  }

 private:
  std::vector<Input> args_;
};

// clamp(x, lo, hi) = min(max(x, lo), hi): with lo > hi, hi wins.
class ClampCall final : public Expr {
 public:
  ClampCall(ValueType type, ExprPtr x, ExprPtr lo, ExprPtr hi)
      : Expr(type), x_(std::move(x)), lo_(std::move(lo)), hi_(std::move(hi)) {}
  Value Eval(const Row& row) const override {
    Value scratch_x, scratch_lo, scratch_hi;
    const Value& x = x_.Get(row, scratch_x);
    if (x.is_null()) return Value();
    const Value& lo = lo_.Get(row, scratch_lo);
    if (lo.is_null()) return Value();
    const Value& hi = hi_.Get(row, scratch_hi);
    if (hi.is_null()) return Value();
    const Value* result = &x;
    if (Compare(*result, lo) == Order::kLess) result = &lo;
    if (Compare(*result, hi) == Order::kGreater) result = &hi;
    return ConvertTo(*result, type());
  }

 private:
  Input x_, lo_, hi_;
};

class CoalesceCall final : public Expr {
 public:
  CoalesceCall(ValueType type, std::vector<ExprPtr> args) : Expr(type), args_(std::move(args)) {}
  Value Eval(const Row& row) const override {
    for (const ExprPtr& arg : args_) {
      Value v = arg->Eval(row);
      if (!v.is_null()) return ConvertTo(std::move(v), type());
    }
    return Value();
  }

 private:
  std::vector<ExprPtr> args_;
};

// Only the chosen branch is evaluated.
class IfCall final : public Expr {
 public:
  IfCall(ValueType type, ExprPtr cond, ExprPtr then, ExprPtr otherwise)
      : Expr(type), cond_(std::move(cond)), then_(std::move(then)), else_(std::move(otherwise)) {}
  Value Eval(const Row& row) const override {
    Value scratch;
    const Value& c = cond_.Get(row, scratch);
    const bool take_then = c.type() == ValueType::kBool && c.AsBool();
    return ConvertTo((take_then ? then_ : else_)->Eval(row), type());
  }

 private:
  Input cond_;
  ExprPtr then_, else_;
};

class IsNullCall final : public Expr {
 public:
  explicit IsNullCall(ExprPtr arg) : Expr(ValueType::kBool), arg_(std::move(arg)) {}
  Value Eval(const Row& row) const override {
    Value scratch;
    return Value::Bool(arg_.Get(row, scratch).is_null());
  }

 private:
  Input arg_;
};

// Like PostgreSQL's concat: nulls are skipped, so the result is never null.
class ConcatCall final : public Expr {
 public:
  explicit ConcatCall(std::vector<Input> args) : Expr(ValueType::kString), args_(std::move(args)) {}
  Value Eval(const Row& row) const override {
    std::string out;
    Value scratch;
    for (const Input& arg : args_) AppendText(out, arg.Get(row, scratch));
    return Value::String(std::move(out));
  }

 private:
  std::vector<Input> args_;
};

// --- Binding ----------------------------------------------------------------------------

struct FunctionDef;
using Args = std::vector<Operand>;
using Binder = Result<ExprPtr> (*)(const FunctionDef& def, Args& args);

struct FunctionDef {
  std::string_view name;
  size_t min_args;
  size_t max_args;  // kVariadic: no limit
  std::string_view usage;
  Binder bind;
};

constexpr size_t kVariadic = std::numeric_limits<size_t>::max();

bool IsString(ValueType t) { return t == ValueType::kString || t == ValueType::kNull; }
bool IsInt(ValueType t) { return t == ValueType::kInt || t == ValueType::kNull; }
bool IsBool(ValueType t) { return t == ValueType::kBool || t == ValueType::kNull; }

Status ArgumentError(const FunctionDef& def, const Args& args, size_t i,
                     std::string_view expected) {
  return ErrorAt(args[i].column, "argument " + std::to_string(i + 1) + " of " +
                                     std::string(def.name) + " must be " + std::string(expected) +
                                     ", got " + std::string(TypeName(args[i].expr->type())) +
                                     " (usage: " + std::string(def.usage) + ")");
}

Status CheckArg(const FunctionDef& def, const Args& args, size_t i, bool (*accepts)(ValueType),
                std::string_view expected) {
  if (accepts(args[i].expr->type())) return Status::Ok();
  return ArgumentError(def, args, i, expected);
}

// Null whenever an argument is null, so the static type is kNull if an argument is.
ValueType StrictType(const Args& args, ValueType result) {
  for (const Operand& a : args) {
    if (a.expr->type() == ValueType::kNull) return ValueType::kNull;
  }
  return result;
}

template <class T>
std::vector<T> Take(Args& args) {
  std::vector<T> exprs;
  exprs.reserve(args.size());
  for (Operand& a : args) exprs.emplace_back(std::move(a.expr));
  return exprs;
}

// abs, round(x), floor, ceil: ints stay ints.
template <Fn1 kFn>
Result<ExprPtr> BindSameNumeric(const FunctionDef& def, Args& args) {
  RUNNEL_RETURN_IF_ERROR(CheckArg(def, args, 0, IsNumericOrNull, "a number"));
  const ValueType type = args[0].expr->type();
  return New<StrictCall1>(type, kFn, std::move(args[0].expr));
}

template <Fn1 kFn>
Result<ExprPtr> BindFloatMath(const FunctionDef& def, Args& args) {
  RUNNEL_RETURN_IF_ERROR(CheckArg(def, args, 0, IsNumericOrNull, "a number"));
  const ValueType type = StrictType(args, ValueType::kFloat);
  return New<StrictCall1>(type, kFn, std::move(args[0].expr));
}

Result<ExprPtr> BindRound(const FunctionDef& def, Args& args) {
  if (args.size() == 1) return BindSameNumeric<IntegralRounding<RoundHalfAway>>(def, args);
  RUNNEL_RETURN_IF_ERROR(CheckArg(def, args, 0, IsNumericOrNull, "a number"));
  RUNNEL_RETURN_IF_ERROR(CheckArg(def, args, 1, IsInt, "an int"));
  const ValueType type = StrictType(args, ValueType::kFloat);
  return New<StrictCall2>(type, RoundN, std::move(args[0].expr), std::move(args[1].expr));
}

Result<ExprPtr> BindPow(const FunctionDef& def, Args& args) {
  RUNNEL_RETURN_IF_ERROR(CheckArg(def, args, 0, IsNumericOrNull, "a number"));
  RUNNEL_RETURN_IF_ERROR(CheckArg(def, args, 1, IsNumericOrNull, "a number"));
  const ValueType type = StrictType(args, ValueType::kFloat);
  return New<StrictCall2>(type, Pow, std::move(args[0].expr), std::move(args[1].expr));
}

// min, max, clamp: all numbers (int if all are ints) or all strings.
Result<ValueType> OrderedArgumentsType(const FunctionDef& def, const Args& args) {
  ValueType result = ValueType::kNull;
  for (size_t i = 0; i < args.size(); ++i) {
    const ValueType t = args[i].expr->type();
    if (t == ValueType::kNull) continue;
    if (!IsNumeric(t) && t != ValueType::kString) {
      return ArgumentError(def, args, i, "a number or a string");
    }
    const std::optional<ValueType> unified = Unify(result, t);
    if (!unified) {
      return ArgumentError(def, args, i,
                           std::string(result == ValueType::kString ? "a string" : "a number") +
                               " like the arguments before it");
    }
    result = *unified;
  }
  return result;
}

template <bool kIsMax>
Result<ExprPtr> BindExtremum(const FunctionDef& def, Args& args) {
  RUNNEL_ASSIGN_OR_RETURN(const ValueType type, OrderedArgumentsType(def, args));
  return New<ExtremumCall<kIsMax>>(type, Take<Input>(args));
}

Result<ExprPtr> BindClamp(const FunctionDef& def, Args& args) {
  RUNNEL_ASSIGN_OR_RETURN(const ValueType type, OrderedArgumentsType(def, args));
  return New<ClampCall>(StrictType(args, type), std::move(args[0].expr), std::move(args[1].expr),
                        std::move(args[2].expr));
}

// The common type of args[first..]; an argument that does not fit is an error.
Result<ValueType> UnifiedType(const FunctionDef& def, const Args& args, size_t first) {
  ValueType result = ValueType::kNull;
  for (size_t i = first; i < args.size(); ++i) {
    const ValueType t = args[i].expr->type();
    const std::optional<ValueType> unified = Unify(result, t);
    if (!unified) {
      return ErrorAt(args[i].column,
                     "argument " + std::to_string(i + 1) + " of " + std::string(def.name) +
                         " must be " + std::string(TypeName(result)) +
                         " like the arguments before it, got " + std::string(TypeName(t)) +
                         " (convert with to_int(), to_float() or to_string())");
    }
    result = *unified;
  }
  return result;
}

Result<ExprPtr> BindCoalesce(const FunctionDef& def, Args& args) {
  RUNNEL_ASSIGN_OR_RETURN(const ValueType type, UnifiedType(def, args, 0));
  return New<CoalesceCall>(type, Take<ExprPtr>(args));
}

Result<ExprPtr> BindIf(const FunctionDef& def, Args& args) {
  RUNNEL_RETURN_IF_ERROR(CheckArg(def, args, 0, IsBool, "a bool"));
  RUNNEL_ASSIGN_OR_RETURN(const ValueType type, UnifiedType(def, args, 1));
  return New<IfCall>(type, std::move(args[0].expr), std::move(args[1].expr),
                     std::move(args[2].expr));
}

Result<ExprPtr> BindIsNull(const FunctionDef&, Args& args) {
  return New<IsNullCall>(std::move(args[0].expr));
}

template <Fn1 kFn, ValueType kResult>
Result<ExprPtr> BindConversion(const FunctionDef&, Args& args) {
  const ValueType type = StrictType(args, kResult);
  return New<StrictCall1>(type, kFn, std::move(args[0].expr));
}

template <Fn1 kFn>
Result<ExprPtr> BindStringMap(const FunctionDef& def, Args& args) {
  RUNNEL_RETURN_IF_ERROR(CheckArg(def, args, 0, IsString, "a string"));
  const ValueType type = StrictType(args, ValueType::kString);
  return New<StrictCall1>(type, kFn, std::move(args[0].expr));
}

template <Fn2 kFn>
Result<ExprPtr> BindStringTest(const FunctionDef& def, Args& args) {
  RUNNEL_RETURN_IF_ERROR(CheckArg(def, args, 0, IsString, "a string"));
  RUNNEL_RETURN_IF_ERROR(CheckArg(def, args, 1, IsString, "a string"));
  const ValueType type = StrictType(args, ValueType::kBool);
  return New<StrictCall2>(type, kFn, std::move(args[0].expr), std::move(args[1].expr));
}

Result<ExprPtr> BindConcat(const FunctionDef&, Args& args) {
  return New<ConcatCall>(Take<Input>(args));
}

// In SPEC §2 order.
constexpr FunctionDef kFunctions[] = {
    {"abs", 1, 1, "abs(x)", BindSameNumeric<Abs>},
    {"round", 1, 2, "round(x) or round(x, n)", BindRound},
    {"floor", 1, 1, "floor(x)", BindSameNumeric<IntegralRounding<Floor>>},
    {"ceil", 1, 1, "ceil(x)", BindSameNumeric<IntegralRounding<Ceil>>},
    {"sqrt", 1, 1, "sqrt(x)", BindFloatMath<FloatMath<Sqrt>>},
    {"exp", 1, 1, "exp(x)", BindFloatMath<FloatMath<Exp>>},
    {"ln", 1, 1, "ln(x)", BindFloatMath<FloatMath<Ln>>},
    {"log10", 1, 1, "log10(x)", BindFloatMath<FloatMath<Log10>>},
    {"pow", 2, 2, "pow(x, y)", BindPow},
    {"min", 1, kVariadic, "min(a, b, ...)", BindExtremum<false>},
    {"max", 1, kVariadic, "max(a, b, ...)", BindExtremum<true>},
    {"clamp", 3, 3, "clamp(x, lo, hi)", BindClamp},
    {"coalesce", 1, kVariadic, "coalesce(a, b, ...)", BindCoalesce},
    {"if", 3, 3, "if(cond, a, b)", BindIf},
    {"is_null", 1, 1, "is_null(x)", BindIsNull},
    {"to_int", 1, 1, "to_int(x)", BindConversion<ToInt, ValueType::kInt>},
    {"to_float", 1, 1, "to_float(x)", BindConversion<ToFloat, ValueType::kFloat>},
    {"to_string", 1, 1, "to_string(x)", BindConversion<ToString, ValueType::kString>},
    {"lower", 1, 1, "lower(s)", BindStringMap<MapAscii<'A', 'a'>>},
    {"upper", 1, 1, "upper(s)", BindStringMap<MapAscii<'a', 'A'>>},
    {"concat", 1, kVariadic, "concat(a, b, ...)", BindConcat},
    {"contains", 2, 2, "contains(s, sub)", BindStringTest<Contains>},
    {"starts_with", 2, 2, "starts_with(s, prefix)", BindStringTest<StartsWith>},
};

const FunctionDef* Find(std::string_view name) {
  for (const FunctionDef& def : kFunctions) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

std::string Plural(size_t n) { return std::to_string(n) + (n == 1 ? " argument" : " arguments"); }

std::string ArityText(const FunctionDef& def) {
  if (def.max_args == kVariadic) return "at least " + Plural(def.min_args);
  if (def.min_args == def.max_args) return Plural(def.min_args);
  return std::to_string(def.min_args) + " or " + Plural(def.max_args);
}

}  // namespace

bool IsFunction(std::string_view name) { return Find(name) != nullptr; }

Status UnknownFunction(std::string_view name, int column) {
  const std::string quoted = "unknown function '" + std::string(name) + "'";
  static constexpr std::string_view kAggregates[] = {"count", "sum", "avg",    "first",
                                                     "last",  "var", "stddev", "median"};
  for (std::string_view aggregate : kAggregates) {
    if (name == aggregate) {
      return ErrorAt(column,
                     quoted + " (" + std::string(name) +
                         " is an aggregate: use it in the aggregate list of a window view)");
    }
  }
  std::vector<std::string> names;
  for (const FunctionDef& def : kFunctions) names.emplace_back(def.name);
  std::string lower(name);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (IsFunction(lower)) {
    return ErrorAt(column, quoted + " (function names are lower-case: " + lower + ")");
  }
  if (std::optional<std::string> close = ClosestMatch(name, names)) {
    return ErrorAt(column, quoted + " (did you mean '" + *close + "'?)");
  }
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  return ErrorAt(column, quoted + " (functions: " + list + ")");
}

Result<std::unique_ptr<Expr>> BindFunction(std::string_view name, int name_column,
                                           std::vector<Operand> args) {
  const FunctionDef* def = Find(name);
  if (def == nullptr) return UnknownFunction(name, name_column);
  if (args.size() < def->min_args || args.size() > def->max_args) {
    return ErrorAt(name_column, std::string(def->name) + " takes " + ArityText(*def) + ", got " +
                                    std::to_string(args.size()) +
                                    " (usage: " + std::string(def->usage) + ")");
  }
  return def->bind(*def, args);
}

}  // namespace runnel::expr_internal
