// Tokenizer of the expression language (SPEC §2), internal to the expression compiler.
// It never fails outright: a lexical error becomes a final kError token, so the parser reports
// whichever problem comes first in the text. Pure functions; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "runtime/status.h"
#include "runtime/value.h"

namespace runnel::expr_internal {

enum class TokenKind {
  kNumber,      // 12, 1.5, 1.5e3, .5 (converted by the parser, which knows about a leading '-')
  kString,      // 'text' or "text", escapes already resolved
  kIdentifier,  // [A-Za-z_][A-Za-z0-9_]*, not a keyword
  kTrue,        // keywords are case-insensitive
  kFalse,
  kNull,
  kAnd,
  kOr,
  kNot,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPercent,
  kEq,  // ==
  kNe,  // !=
  kLt,
  kLe,
  kGt,
  kGe,
  kLParen,
  kRParen,
  kComma,
  kDot,
  kAssign,  // a single '=': only meaningful in "name = expr" items
  kEnd,
  kError,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  int column = 1;           // 1-based, counted in characters (UTF-8 code points)
  std::string_view source;  // the token as written (a view into the expression text)
  std::string text;         // kString: the unescaped content
  Status error;             // kError: the complete compile error
};

// Returns the tokens of `text`, always ending with one kEnd or kError token.
std::vector<Token> Lex(std::string_view text);

// Column (1-based, in code points) of byte `offset` of `text`.
int ColumnAt(std::string_view text, size_t offset);

// Shared by all compile errors: "at column N: what".
Status ErrorAt(int column, std::string_view what);

}  // namespace runnel::expr_internal
