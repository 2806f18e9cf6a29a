// Internal to the expression compiler: the scalar function library of SPEC §2 (abs ...
// starts_with). Binding a call checks its arity and argument types once, at load, and picks a
// node that evaluates it without further checks or allocation for numbers.
// Immutable tables; thread-safe.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "operators/expression_nodes.h"

namespace runnel::expr_internal {

// Whether `name` is a scalar function. Names are lower-case only.
bool IsFunction(std::string_view name);

// The compile error for a call of something that is not a function, with a hint (a close
// name, a case fix, or that aggregates belong in a window view).
Status UnknownFunction(std::string_view name, int column);

// REQUIRES: IsFunction(name). `name_column` locates arity errors; each argument's own column
// locates its type error.
Result<std::unique_ptr<Expr>> BindFunction(std::string_view name, int name_column,
                                           std::vector<Operand> args);

}  // namespace runnel::expr_internal
