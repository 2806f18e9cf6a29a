// The expression language of pipeline files (SPEC §2): decisions users can rely on.
//
// Syntax
// - Literals: integers (12, int64), floats (1.5, .5, 1.5e3), strings in '...' or "..." with
//   the escapes \' \" \\ \n \t, true, false, null. A '-' directly before a number is part of
//   the literal, so -9223372036854775808 is a valid int.
// - Field names: [A-Za-z_][A-Za-z0-9_]* (upper case allowed: CSV headers like CO_GT).
//   Keywords and, or, not, true, false, null are case-insensitive and cannot be field names.
//   In an as-of join, left.x and right.y name a side; a bare name means the left side.
// - Operators, loosest first: or; and; not; == != < <= > >= (not chainable: a < b < c is an
//   error); + -; * / %; unary -. Parentheses group. Functions are called by lower-case name.
// - Errors read "at column N: what (hint)". N is 1-based and counts characters (UTF-8 code
//   points) of the expression text or of the whole select/aggregate item.
//
// Types (checked at load; each expression has a static type)
// - The null literal has type null, which fits anywhere. An operator or function that returns
//   null for a null argument has static type null when an argument is the null literal.
// - int op int is int for + - * %; / is always float division; int with float gives float.
// - Comparisons need the same family: numbers (int and float compare exactly by value),
//   strings (byte order), bools (false < true). Anything else is a load error.
// - and, or, not need bools (or null). `where` must be bool; its caller checks that.
//
// Values (per record)
// - Null propagates through arithmetic, comparisons, not and most functions.
// - and/or use SQL three-valued logic: false and null = false, true or null = true, otherwise
//   null in gives null. The right side is not evaluated when the left side decides.
// - Integer overflow in + - * (and unary -, abs) gives null. Division or modulo by zero gives
//   null. A float result that is not finite (overflow, NaN, domain error) gives null, and a
//   computed -0.0 becomes 0.0 so that it groups and prints like 0.
// - % follows C for ints (the result has the dividend's sign), fmod for floats.
//
// Functions
// - abs, floor, ceil, round(x): ints in give ints out, floats give floats.
// - round(x) and round(x, n) round half away from zero: round(x * 10^n) / 10^n, float result
//   (for n < 0 computed as round(x / 10^-n) * 10^-n, so the scale is exact). n must be an int.
//   round(-2.5) = -3, round(1.25, 1) = 1.3, round(1234, -2) = 1200.0.
// - sqrt, exp, ln, log10, pow(x, y): float; a domain error (sqrt(-1), ln(0)) gives null.
// - min(a, ...), max(a, ...): at least one argument; nulls are skipped; null only if all are.
//   All numbers (int if all are ints, else float) or all strings.
// - clamp(x, lo, hi) = min(max(x, lo), hi) (hi wins if lo > hi); null if any argument is.
// - coalesce(a, ...): the first non-null argument; argument types must unify (int + float =
//   float). if(cond, a, b): a when cond is true, else b (null cond gives b); a, b unify.
// - is_null(x): bool, never null.
// - to_int: a float truncates toward zero; non-finite or outside int64 gives null; a string
//   is read as an int, or else as a float then truncated; unreadable gives null; bool is 0/1.
//   to_float: a string is read as a float (unreadable or non-finite gives null); bool is 0/1.
//   Both accept surrounding spaces and a leading '+' in strings; '1e-999' reads as 0.
// - to_string: ints in decimal, floats in shortest round-trip form (2.0 -> "2"), true/false.
// - lower, upper: ASCII only. concat(a, ...): nulls skipped (never null), non-strings as in
//   to_string. contains(s, sub), starts_with(s, prefix): bool, null propagates.
//
// Items
// - select: "name = expr", or a bare field ("temp", "left.temp") named after the field.
//   A computed item without a name is an error. "a == b" is a comparison, not an assignment.
// - aggregate: "name = fn(expr)" or "name = fn()"; the call must be the whole right side;
//   fn is returned as written for the aggregate module to check; fn(*) is an error.
#include "operators/expression.h"

#include <algorithm>

#include "operators/expression_functions.h"
#include "operators/expression_lexer.h"
#include "operators/expression_nodes.h"

namespace runnel {

namespace {

using expr_internal::BinaryOp;
using expr_internal::ErrorAt;
using expr_internal::Operand;
using expr_internal::Token;
using expr_internal::TokenKind;

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// "(did you mean 'temp'?)" or "(fields: a, b, c)".
std::string FieldHint(std::string_view name, const Schema& schema, std::string_view prefix) {
  std::vector<std::string> names;
  for (const Column& c : schema.columns()) names.push_back(std::string(prefix) + c.name);
  if (names.empty()) return "(the input has no fields)";
  if (auto close = expr_internal::ClosestMatch(name, names)) {
    return "(did you mean " + Quoted(*close) + "?)";
  }
  constexpr size_t kMaxListed = 20;
  std::string list;
  for (size_t i = 0; i < names.size() && i < kMaxListed; ++i) {
    list += (i == 0 ? "" : ", ") + names[i];
  }
  if (names.size() > kMaxListed) list += ", ...";
  return "(fields: " + list + ")";
}

}  // namespace

Scope::Scope(const Schema& schema) : left_(schema) {}

Scope Scope::Join(const Schema& left, const Schema& right) {
  Scope scope;
  scope.left_ = left;
  scope.right_ = right;
  return scope;
}

Result<Scope::Resolved> Scope::Resolve(std::string_view qualifier, std::string_view name) const {
  const std::string full =
      qualifier.empty() ? std::string(name) : std::string(qualifier) + "." + std::string(name);
  if (qualifier.empty()) {
    if (auto i = left_.IndexOf(name)) return Resolved{*i, left_.column(*i).type};
    if (right_ && right_->IndexOf(name)) {
      return Status::Invalid("unknown field " + Quoted(name) +
                             " (bare names refer to the left input; write right." +
                             std::string(name) + ")");
    }
    return Status::Invalid("unknown field " + Quoted(name) + " " + FieldHint(name, left_, ""));
  }
  if (!right_) {
    return Status::Invalid("qualified name " + Quoted(full) + " outside an as-of join (write " +
                           std::string(name) + ")");
  }
  const bool is_left = qualifier == "left";
  if (!is_left && qualifier != "right") {
    return Status::Invalid("unknown qualifier " + Quoted(qualifier) + " (write left." +
                           std::string(name) + " or right." + std::string(name) + ")");
  }
  const Schema& side = is_left ? left_ : *right_;
  const Schema& other = is_left ? *right_ : left_;
  if (auto i = side.IndexOf(name)) {
    return Resolved{is_left ? *i : left_.size() + *i, side.column(*i).type};
  }
  if (other.IndexOf(name)) {
    return Status::Invalid("unknown field " + Quoted(full) + " (" + std::string(name) +
                           " is a field of " + (is_left ? "right" : "left") + ": write " +
                           (is_left ? "right." : "left.") + std::string(name) + ")");
  }
  return Status::Invalid("unknown field " + Quoted(full) + " " +
                         FieldHint(full, side, is_left ? "left." : "right."));
}

namespace {

// Deep enough for any real expression, shallow enough that recursion cannot exhaust the stack.
constexpr int kMaxNesting = 100;

bool IsComparison(TokenKind k) {
  return k == TokenKind::kEq || k == TokenKind::kNe || k == TokenKind::kLt || k == TokenKind::kLe ||
         k == TokenKind::kGt || k == TokenKind::kGe;
}

BinaryOp ToBinaryOp(TokenKind k) {
  switch (k) {
    case TokenKind::kPlus:
      return BinaryOp::kAdd;
    case TokenKind::kMinus:
      return BinaryOp::kSub;
    case TokenKind::kStar:
      return BinaryOp::kMul;
    case TokenKind::kSlash:
      return BinaryOp::kDiv;
    case TokenKind::kPercent:
      return BinaryOp::kMod;
    case TokenKind::kEq:
      return BinaryOp::kEq;
    case TokenKind::kNe:
      return BinaryOp::kNe;
    case TokenKind::kLt:
      return BinaryOp::kLt;
    case TokenKind::kLe:
      return BinaryOp::kLe;
    case TokenKind::kGt:
      return BinaryOp::kGt;
    case TokenKind::kGe:
      return BinaryOp::kGe;
    case TokenKind::kAnd:
      return BinaryOp::kAnd;
    default:
      return BinaryOp::kOr;
  }
}

bool IsKeyword(TokenKind k) {
  return k == TokenKind::kTrue || k == TokenKind::kFalse || k == TokenKind::kNull ||
         k == TokenKind::kAnd || k == TokenKind::kOr || k == TokenKind::kNot;
}

std::string Describe(const Token& t) {
  if (t.kind == TokenKind::kEnd) return "the end of the text";
  if (t.kind == TokenKind::kString) return "string " + std::string(t.source);
  return Quoted(t.source);
}

// Recursive descent over the token list, building typed nodes as it goes, so that every
// error (syntax, name or type) is reported at the first place it occurs.
class Parser {
 public:
  Parser(const std::vector<Token>& tokens, size_t start, const Scope& scope)
      : tokens_(tokens), pos_(start), scope_(scope) {}

  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& Next() {
    const Token& t = Peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }

  Result<Operand> ParseExpression() { return ParseOr(); }

  Status ExpectEnd() const {
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kEnd:
        return Status::Ok();
      case TokenKind::kError:
        return t.error;
      case TokenKind::kAssign:
        return ErrorAt(t.column, "unexpected '=' (use == to compare)");
      case TokenKind::kRParen:
        return ErrorAt(t.column, "unexpected ')' (it closes no '(')");
      default:
        return ErrorAt(t.column, "unexpected " + Describe(t) +
                                     " after a complete expression (is an operator missing?)");
    }
  }

  // "expected <expected>, found <t>", or the lexical error that stopped the token list.
  static Status Unexpected(const Token& t, std::string_view expected) {
    if (t.kind == TokenKind::kError) return t.error;
    std::string what = "expected " + std::string(expected) + ", found " + Describe(t);
    if (t.kind == TokenKind::kAssign) what += " (use == to compare)";
    if (t.kind == TokenKind::kNot) what += " (put not ... in parentheses)";
    return ErrorAt(t.column, what);
  }

 private:
  // Counts nesting while a recursive rule is active.
  class Nesting {
   public:
    explicit Nesting(int& depth) : depth_(depth) { ++depth_; }
    ~Nesting() { --depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;
    bool too_deep() const { return depth_ > kMaxNesting; }

   private:
    int& depth_;
  };

  static Status TooDeep(int column) {
    return ErrorAt(column, "the expression is nested too deeply (more than " +
                               std::to_string(kMaxNesting) + " levels)");
  }

  Result<Operand> Combine(const Token& op, Operand lhs, Operand rhs) {
    const int column = lhs.column;
    RUNNEL_ASSIGN_OR_RETURN(
        std::unique_ptr<Expr> e,
        expr_internal::MakeBinary(ToBinaryOp(op.kind), op.column, std::move(lhs), std::move(rhs)));
    return Operand{std::move(e), column};
  }

  Result<Operand> ParseOr() {
    RUNNEL_ASSIGN_OR_RETURN(Operand lhs, ParseAnd());
    while (Peek().kind == TokenKind::kOr) {
      const Token& op = Next();
      RUNNEL_ASSIGN_OR_RETURN(Operand rhs, ParseAnd());
      RUNNEL_ASSIGN_OR_RETURN(lhs, Combine(op, std::move(lhs), std::move(rhs)));
    }
    return lhs;
  }

  Result<Operand> ParseAnd() {
    RUNNEL_ASSIGN_OR_RETURN(Operand lhs, ParseNot());
    while (Peek().kind == TokenKind::kAnd) {
      const Token& op = Next();
      RUNNEL_ASSIGN_OR_RETURN(Operand rhs, ParseNot());
      RUNNEL_ASSIGN_OR_RETURN(lhs, Combine(op, std::move(lhs), std::move(rhs)));
    }
    return lhs;
  }

  Result<Operand> ParseNot() {
    if (Peek().kind != TokenKind::kNot) return ParseComparison();
    const Token& op = Next();
    Nesting nesting(depth_);
    if (nesting.too_deep()) return TooDeep(op.column);
    RUNNEL_ASSIGN_OR_RETURN(Operand operand, ParseNot());
    RUNNEL_ASSIGN_OR_RETURN(std::unique_ptr<Expr> e,
                            expr_internal::MakeNot(std::move(operand), op.column));
    return Operand{std::move(e), op.column};
  }

  Result<Operand> ParseComparison() {
    RUNNEL_ASSIGN_OR_RETURN(Operand lhs, ParseAdditive());
    if (!IsComparison(Peek().kind)) return lhs;
    const Token& op = Next();
    RUNNEL_ASSIGN_OR_RETURN(Operand rhs, ParseAdditive());
    RUNNEL_ASSIGN_OR_RETURN(lhs, Combine(op, std::move(lhs), std::move(rhs)));
    if (IsComparison(Peek().kind)) {
      return ErrorAt(Peek().column, "comparisons cannot be chained (write a < b and b < c)");
    }
    return lhs;
  }

  Result<Operand> ParseAdditive() {
    RUNNEL_ASSIGN_OR_RETURN(Operand lhs, ParseMultiplicative());
    while (Peek().kind == TokenKind::kPlus || Peek().kind == TokenKind::kMinus) {
      const Token& op = Next();
      RUNNEL_ASSIGN_OR_RETURN(Operand rhs, ParseMultiplicative());
      RUNNEL_ASSIGN_OR_RETURN(lhs, Combine(op, std::move(lhs), std::move(rhs)));
    }
    return lhs;
  }

  Result<Operand> ParseMultiplicative() {
    RUNNEL_ASSIGN_OR_RETURN(Operand lhs, ParseUnary());
    while (Peek().kind == TokenKind::kStar || Peek().kind == TokenKind::kSlash ||
           Peek().kind == TokenKind::kPercent) {
      const Token& op = Next();
      RUNNEL_ASSIGN_OR_RETURN(Operand rhs, ParseUnary());
      RUNNEL_ASSIGN_OR_RETURN(lhs, Combine(op, std::move(lhs), std::move(rhs)));
    }
    return lhs;
  }

  Result<Operand> ParseUnary() {
    if (Peek().kind != TokenKind::kMinus) return ParsePrimary();
    const Token& minus = Next();
    // Unary minus binds tightest, so folding it into a number literal changes nothing except
    // that -9223372036854775808 becomes representable.
    if (Peek().kind == TokenKind::kNumber) return NumberLiteral(Next(), minus.column, true);
    Nesting nesting(depth_);
    if (nesting.too_deep()) return TooDeep(minus.column);
    RUNNEL_ASSIGN_OR_RETURN(Operand operand, ParseUnary());
    RUNNEL_ASSIGN_OR_RETURN(std::unique_ptr<Expr> e,
                            expr_internal::MakeNegate(std::move(operand), minus.column));
    return Operand{std::move(e), minus.column};
  }

  Result<Operand> ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kNumber:
        return NumberLiteral(Next(), t.column, false);
      case TokenKind::kString:
        Next();
        return Operand{expr_internal::MakeLiteral(Value::String(t.text)), t.column};
      case TokenKind::kTrue:
      case TokenKind::kFalse:
        Next();
        return Operand{expr_internal::MakeLiteral(Value::Bool(t.kind == TokenKind::kTrue)),
                       t.column};
      case TokenKind::kNull:
        Next();
        return Operand{expr_internal::MakeLiteral(Value()), t.column};
      case TokenKind::kIdentifier:
        Next();
        if (Peek().kind == TokenKind::kLParen) return ParseCall(t);
        if (Peek().kind == TokenKind::kDot) {
          Next();
          const Token& field = Peek();
          if (field.kind != TokenKind::kIdentifier) {
            return Unexpected(field, "a field name after '" + std::string(t.source) + ".'");
          }
          Next();
          return ResolveField(t.source, field.source, t.column);
        }
        return ResolveField("", t.source, t.column);
      case TokenKind::kLParen: {
        Next();
        Nesting nesting(depth_);
        if (nesting.too_deep()) return TooDeep(t.column);
        RUNNEL_ASSIGN_OR_RETURN(Operand inner, ParseOr());
        if (Peek().kind != TokenKind::kRParen) {
          return Unexpected(Peek(), "')' to close the '(' at column " + std::to_string(t.column));
        }
        Next();
        return Operand{std::move(inner.expr), t.column};
      }
      default:
        return Unexpected(t, "an expression");
    }
  }

  Result<Operand> ParseCall(const Token& name) {
    Next();  // '('
    // Before the arguments, so that the first error in the text is the one reported.
    if (!expr_internal::IsFunction(name.source)) {
      return expr_internal::UnknownFunction(name.source, name.column);
    }
    Nesting nesting(depth_);
    if (nesting.too_deep()) return TooDeep(name.column);
    std::vector<Operand> args;
    if (Peek().kind != TokenKind::kRParen) {
      while (true) {
        RUNNEL_ASSIGN_OR_RETURN(Operand arg, ParseOr());
        args.push_back(std::move(arg));
        if (Peek().kind == TokenKind::kComma) {
          Next();
          continue;
        }
        if (Peek().kind == TokenKind::kRParen) break;
        return Unexpected(Peek(), "',' or ')' in the call of " + std::string(name.source));
      }
    }
    Next();  // ')'
    RUNNEL_ASSIGN_OR_RETURN(std::unique_ptr<Expr> e,
                            expr_internal::BindFunction(name.source, name.column, std::move(args)));
    return Operand{std::move(e), name.column};
  }

  Result<Operand> ResolveField(std::string_view qualifier, std::string_view name, int column) {
    Result<Scope::Resolved> r = scope_.Resolve(qualifier, name);
    if (!r.ok()) return ErrorAt(column, r.status().message());
    return Operand{expr_internal::MakeColumn(r->index, r->type), column};
  }

  static Result<Operand> NumberLiteral(const Token& number, int column, bool negative) {
    const std::string text = (negative ? "-" : "") + std::string(number.source);
    if (number.source.find_first_of(".eE") == std::string_view::npos) {
      if (auto i = expr_internal::ParseIntText(text)) {
        return Operand{expr_internal::MakeLiteral(Value::Int(*i)), column};
      }
      return ErrorAt(column, "integer " + text + " is out of range (integers are 64-bit; write " +
                                 text + ".0 for a float)");
    }
    if (auto d = expr_internal::ParseFloatText(text)) {
      return Operand{expr_internal::MakeLiteral(Value::Float(*d)), column};
    }
    return ErrorAt(column, "number " + text + " is out of range (floats must be finite)");
  }

  const std::vector<Token>& tokens_;
  size_t pos_;
  const Scope& scope_;
  int depth_ = 0;
};

// The item text from `from` on, for hints that quote what the user wrote.
std::string_view TextFrom(std::string_view text, const Token& from) {
  std::string_view rest = text.substr(static_cast<size_t>(from.source.data() - text.data()));
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  return rest;
}

// The name before '=' in select and aggregate items.
Status CheckItemName(const Token& name) {
  if (name.kind == TokenKind::kIdentifier) return Status::Ok();
  if (name.kind == TokenKind::kError) return name.error;
  if (IsKeyword(name.kind)) {
    return ErrorAt(name.column, Quoted(name.source) + " is a keyword and cannot name a column");
  }
  return ErrorAt(name.column, "expected a column name before '=', found " + Describe(name) +
                                  " (names are identifiers like temp_c)");
}

// Tokens [begin, end) as written, one space apart, keywords lower-cased: spacing and keyword
// case do not change a definition's fingerprint.
std::string CanonicalText(const std::vector<Token>& tokens, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end && i < tokens.size(); ++i) {
    if (tokens[i].kind == TokenKind::kEnd) break;
    if (!out.empty()) out += ' ';
    const size_t at = out.size();
    out += tokens[i].source;
    if (IsKeyword(tokens[i].kind)) {
      for (size_t c = at; c < out.size(); ++c) {
        if (out[c] >= 'A' && out[c] <= 'Z') out[c] = static_cast<char>(out[c] - 'A' + 'a');
      }
    }
  }
  return out;
}

bool IsAssignment(const std::vector<Token>& tokens) {
  return tokens.size() >= 2 && tokens[1].kind == TokenKind::kAssign;
}

}  // namespace

Result<std::unique_ptr<Expr>> CompileExpression(std::string_view text, const Scope& scope) {
  const std::vector<Token> tokens = expr_internal::Lex(text);
  if (tokens.front().kind == TokenKind::kEnd) return ErrorAt(1, "the expression is empty");
  Parser parser(tokens, 0, scope);
  RUNNEL_ASSIGN_OR_RETURN(Operand root, parser.ParseExpression());
  RUNNEL_RETURN_IF_ERROR(parser.ExpectEnd());
  return std::move(root.expr);
}

Result<NamedExpression> CompileSelectItem(std::string_view text, const Scope& scope) {
  const std::vector<Token> tokens = expr_internal::Lex(text);
  if (tokens.front().kind == TokenKind::kEnd) return ErrorAt(1, "the select item is empty");

  if (IsAssignment(tokens)) {
    RUNNEL_RETURN_IF_ERROR(CheckItemName(tokens[0]));
    Parser parser(tokens, 2, scope);
    RUNNEL_ASSIGN_OR_RETURN(Operand value, parser.ParseExpression());
    RUNNEL_RETURN_IF_ERROR(parser.ExpectEnd());
    return NamedExpression{std::string(tokens[0].source), std::move(value.expr),
                           CanonicalText(tokens, 2, tokens.size())};
  }
  // "left.temp = ..." tries to name a column with a qualified name.
  if (tokens.size() >= 4 && tokens[0].kind == TokenKind::kIdentifier &&
      tokens[1].kind == TokenKind::kDot && tokens[2].kind == TokenKind::kIdentifier &&
      tokens[3].kind == TokenKind::kAssign) {
    return ErrorAt(tokens[0].column, "expected a column name before '=', found '" +
                                         std::string(tokens[0].source) + "." +
                                         std::string(tokens[2].source) +
                                         "' (names are identifiers like temp_c)");
  }

  Parser parser(tokens, 0, scope);
  RUNNEL_ASSIGN_OR_RETURN(Operand value, parser.ParseExpression());
  RUNNEL_RETURN_IF_ERROR(parser.ExpectEnd());
  const bool bare = tokens[0].kind == TokenKind::kIdentifier &&
                    (tokens[1].kind == TokenKind::kEnd ||
                     (tokens[1].kind == TokenKind::kDot && tokens[3].kind == TokenKind::kEnd));
  if (!bare) {
    return ErrorAt(tokens[0].column, "a computed select item needs a name (write name = " +
                                         std::string(TextFrom(text, tokens[0])) + ")");
  }
  const Token& field = tokens[1].kind == TokenKind::kEnd ? tokens[0] : tokens[2];
  return NamedExpression{std::string(field.source), std::move(value.expr),
                         CanonicalText(tokens, 0, tokens.size())};
}

Result<AggregateCall> ParseAggregateCall(std::string_view text, const Scope& scope) {
  const std::vector<Token> tokens = expr_internal::Lex(text);
  if (tokens.front().kind == TokenKind::kEnd) {
    return ErrorAt(1, "the aggregate item is empty (write name = fn(field))");
  }
  if (!IsAssignment(tokens)) {
    if (tokens[0].kind == TokenKind::kError) return tokens[0].error;
    return ErrorAt(tokens[0].column, "an aggregate needs a name (write name = " +
                                         std::string(TextFrom(text, tokens[0])) + ")");
  }
  RUNNEL_RETURN_IF_ERROR(CheckItemName(tokens[0]));

  Parser parser(tokens, 2, scope);
  const Token& function = parser.Peek();
  if (function.kind != TokenKind::kIdentifier || parser.Peek(1).kind != TokenKind::kLParen) {
    return Parser::Unexpected(function, "an aggregate call like avg(temp)");
  }
  parser.Next();
  parser.Next();
  AggregateCall call{std::string(tokens[0].source), std::string(function.source), nullptr};
  if (parser.Peek().kind == TokenKind::kStar) {
    return ErrorAt(parser.Peek().column,
                   "'*' is not an argument (write " + call.function + "() instead)");
  }
  if (parser.Peek().kind != TokenKind::kRParen) {
    RUNNEL_ASSIGN_OR_RETURN(Operand argument, parser.ParseExpression());
    if (parser.Peek().kind == TokenKind::kComma) {
      return ErrorAt(parser.Peek().column,
                     "an aggregate takes at most one argument (e.g. " + call.function + "(temp))");
    }
    if (parser.Peek().kind != TokenKind::kRParen) {
      return Parser::Unexpected(parser.Peek(), "')' to close the call of " + call.function);
    }
    call.argument = std::move(argument.expr);
    // Between "name = fn(" and the closing ')', the last token before kEnd.
    call.argument_text = CanonicalText(tokens, 4, tokens.size() - 2);
  }
  parser.Next();  // ')'
  const Token& rest = parser.Peek();
  if (rest.kind == TokenKind::kError) return rest.error;
  if (rest.kind != TokenKind::kEnd) {
    return ErrorAt(rest.column, "unexpected " + Describe(rest) +
                                    " after the aggregate call (an aggregate item is a single "
                                    "call; do arithmetic in a select of a view that reads this "
                                    "one)");
  }
  return call;
}

}  // namespace runnel
