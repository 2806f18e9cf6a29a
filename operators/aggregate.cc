#include "operators/aggregate.h"

#include <utility>

namespace runnel {

namespace {

constexpr std::string_view kFunctionList =
    "count, sum, avg, min, max, first, last, var, stddev, median";

struct FunctionInfo {
  std::string_view name;
  AggregateKind kind;
};

constexpr FunctionInfo kFunctions[] = {
    {"count", AggregateKind::kCount},   {"sum", AggregateKind::kSum},
    {"avg", AggregateKind::kAvg},       {"min", AggregateKind::kMin},
    {"max", AggregateKind::kMax},       {"first", AggregateKind::kFirst},
    {"last", AggregateKind::kLast},     {"var", AggregateKind::kVar},
    {"stddev", AggregateKind::kStddev}, {"median", AggregateKind::kMedian},
};

// Names users coming from SQL, pandas or Flink try first.
struct Alias {
  std::string_view name;
  std::string_view use;
};
constexpr Alias kAliases[] = {
    {"mean", "avg"},     {"average", "avg"},    {"std", "stddev"},  {"stdev", "stddev"},
    {"variance", "var"}, {"minimum", "min"},    {"maximum", "max"}, {"cnt", "count"},
    {"total", "sum"},    {"earliest", "first"}, {"latest", "last"}, {"size", "count"},
};

bool IsNumeric(ValueType type) { return type == ValueType::kInt || type == ValueType::kFloat; }

std::string Quoted(std::string_view s) {
  // Appending (rather than "\"" + s + "\"") also sidesteps GCC 12's -O3 -Wrestrict false alarm.
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  out += s;
  out += '"';
  return out;
}

}  // namespace

std::string_view AggregateFunctionName(AggregateKind kind) {
  if (kind == AggregateKind::kCountNonNull) return "count";
  for (const FunctionInfo& f : kFunctions) {
    if (f.kind == kind) return f.name;
  }
  return "?";
}

Result<AggregateDef> MakeAggregate(AggregateCall call) {
  const std::string& fn = call.function;
  const FunctionInfo* info = nullptr;
  for (const FunctionInfo& f : kFunctions) {
    if (f.name == fn) info = &f;
  }
  if (info == nullptr) {
    std::string message = "unknown aggregate function " + Quoted(fn);
    for (const Alias& alias : kAliases) {
      if (alias.name == fn) {
        message += ": write " + std::string(alias.use) + "(...) instead";
        return Status::Invalid(message);
      }
    }
    return Status::Invalid(message + ": use one of " + std::string(kFunctionList));
  }

  AggregateDef def;
  def.name = std::move(call.name);
  def.kind = info->kind;
  def.argument = std::move(call.argument);
  def.argument_text = std::move(call.argument_text);

  if (def.kind == AggregateKind::kCount) {
    // count() counts records, count(x) the records where x is not null.
    if (def.argument != nullptr) def.kind = AggregateKind::kCountNonNull;
    def.result_type = ValueType::kInt;
    return def;
  }
  if (def.argument == nullptr) {
    return Status::Invalid(fn + "() needs an argument: write " + fn +
                           "(field) or, to count records, count()");
  }
  const ValueType arg = def.argument->type();
  const std::string arg_name(TypeName(arg));
  switch (def.kind) {
    case AggregateKind::kSum:
      if (!IsNumeric(arg)) {
        return Status::Invalid("sum() needs a numeric argument (int or float), got " + arg_name +
                               (arg == ValueType::kBool
                                    ? ": to count true values write count() with a where filter"
                                    : ""));
      }
      def.result_type = arg;
      return def;
    case AggregateKind::kAvg:
    case AggregateKind::kVar:
    case AggregateKind::kStddev:
    case AggregateKind::kMedian:
      if (!IsNumeric(arg)) {
        return Status::Invalid(fn + "() needs a numeric argument (int or float), got " + arg_name +
                               (arg == ValueType::kString
                                    ? ": convert it with to_float(...) if it holds numbers"
                                    : ""));
      }
      def.result_type = ValueType::kFloat;
      return def;
    case AggregateKind::kMin:
    case AggregateKind::kMax:
    case AggregateKind::kFirst:
    case AggregateKind::kLast:
      if (arg == ValueType::kNull) {
        return Status::Invalid(fn +
                               "() needs an argument of a known type (int, float, string or "
                               "bool), got null: give the field a type");
      }
      def.result_type = arg;
      return def;
    case AggregateKind::kCount:
    case AggregateKind::kCountNonNull:
      break;
  }
  return Status::Invalid("unhandled aggregate function " + Quoted(fn));
}

}  // namespace runnel
