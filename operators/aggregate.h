// Aggregate functions of window views (SPEC §2): count(), count(x), sum, avg, min, max, first,
// last, var, stddev (sample), median. Nulls are skipped; an aggregate over no non-null values
// is null (count gives 0). Every aggregate accepts retractions (diff < 0).
// Definitions are immutable; their per-window state lives in the window operator.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "operators/expression.h"
#include "runtime/status.h"
#include "runtime/value.h"

namespace runnel {

enum class AggregateKind {
  kCount,         // count(): records
  kCountNonNull,  // count(x)
  kSum,
  kAvg,
  kMin,
  kMax,
  kFirst,  // value at the earliest event time (ties: first to arrive)
  kLast,   // value at the latest event time (ties: last to arrive)
  kVar,    // sample variance (n - 1); null below 2 values
  kStddev,
  kMedian,  // mean of the two middle values for an even count
};

struct AggregateDef {
  std::string name;  // output column
  AggregateKind kind;
  std::unique_ptr<Expr> argument;  // null for count()
  ValueType result_type;
  std::string argument_text = {};  // canonical text (AggregateCall::argument_text)
};

// The function's name in pipeline files ("count" for both count() and count(x)).
std::string_view AggregateFunctionName(AggregateKind kind);

// Checks the function name, arity and argument type of a parsed call:
// e.g. avg over a string is an error, sum(int) is int, avg is float, min keeps its type.
Result<AggregateDef> MakeAggregate(AggregateCall call);

}  // namespace runnel
