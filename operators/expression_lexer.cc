#include "operators/expression_lexer.h"

#include <cctype>
#include <string>

namespace runnel::expr_internal {

namespace {

// Bounds the work and the recursion depth of everything downstream; real expressions are a
// few dozen tokens.
constexpr size_t kMaxTokens = 10000;

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

TokenKind KeywordOrIdentifier(std::string_view word) {
  struct Keyword {
    std::string_view name;
    TokenKind kind;
  };
  static constexpr Keyword kKeywords[] = {
      {"and", TokenKind::kAnd},   {"or", TokenKind::kOr},       {"not", TokenKind::kNot},
      {"true", TokenKind::kTrue}, {"false", TokenKind::kFalse}, {"null", TokenKind::kNull},
  };
  for (const Keyword& k : kKeywords) {
    if (EqualsIgnoreCase(word, k.name)) return k.kind;
  }
  return TokenKind::kIdentifier;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  std::vector<Token> Run() {
    while (true) {
      SkipSpace();
      if (tokens_.size() >= kMaxTokens) {
        Fail(pos_, "the expression is too long (more than " + std::to_string(kMaxTokens) +
                       " tokens; split it over several views)");
        return std::move(tokens_);
      }
      if (pos_ >= text_.size()) {
        Add(TokenKind::kEnd, pos_, pos_);
        return std::move(tokens_);
      }
      if (!LexOne()) return std::move(tokens_);
    }
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  Token& Add(TokenKind kind, size_t begin, size_t end) {
    Token& t = tokens_.emplace_back();
    t.kind = kind;
    t.column = ColumnOf(begin);
    t.source = text_.substr(begin, end - begin);
    return t;
  }

  void Fail(size_t offset, const std::string& what) {
    Token& t = Add(TokenKind::kError, offset, offset);
    t.error = ErrorAt(t.column, what);
  }

  // Lexes the token at pos_; false after adding a kError token.
  bool LexOne() {
    const size_t begin = pos_;
    const char c = text_[pos_];
    if (IsIdentStart(c)) {
      while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
      const std::string_view word = text_.substr(begin, pos_ - begin);
      Add(KeywordOrIdentifier(word), begin, pos_);
      return true;
    }
    if (IsDigit(c) || (c == '.' && pos_ + 1 < text_.size() && IsDigit(text_[pos_ + 1]))) {
      return LexNumber();
    }
    if (c == '\'' || c == '"') return LexString();

    auto two = [&](char second) { return pos_ + 1 < text_.size() && text_[pos_ + 1] == second; };
    auto op = [&](TokenKind kind, size_t length) {
      pos_ += length;
      Add(kind, begin, pos_);
      return true;
    };
    switch (c) {
      case '+':
        return op(TokenKind::kPlus, 1);
      case '-':
        return op(TokenKind::kMinus, 1);
      case '*':
        return op(TokenKind::kStar, 1);
      case '/':
        return op(TokenKind::kSlash, 1);
      case '%':
        return op(TokenKind::kPercent, 1);
      case '(':
        return op(TokenKind::kLParen, 1);
      case ')':
        return op(TokenKind::kRParen, 1);
      case ',':
        return op(TokenKind::kComma, 1);
      case '.':
        return op(TokenKind::kDot, 1);
      case '=':
        return two('=') ? op(TokenKind::kEq, 2) : op(TokenKind::kAssign, 1);
      case '!':
        if (two('=')) return op(TokenKind::kNe, 2);
        Fail(begin, "unexpected '!' (use not)");
        return false;
      case '<':
        if (two('>')) {
          Fail(begin, "unexpected '<>' (use != for not equal)");
          return false;
        }
        return two('=') ? op(TokenKind::kLe, 2) : op(TokenKind::kLt, 1);
      case '>':
        return two('=') ? op(TokenKind::kGe, 2) : op(TokenKind::kGt, 1);
      case '&':
        Fail(begin, two('&') ? "unexpected '&&' (use and)" : "unexpected '&' (use and)");
        return false;
      case '|':
        Fail(begin, two('|') ? "unexpected '||' (use or, or concat() to join strings)"
                             : "unexpected '|' (use or)");
        return false;
      case '^':
        Fail(begin, "unexpected '^' (use pow(x, y))");
        return false;
      default:
        break;
    }
    // Quote a whole UTF-8 sequence, not a stray byte of it.
    size_t end = pos_ + 1;
    while (end < text_.size() && (static_cast<unsigned char>(text_[end]) & 0xC0) == 0x80) ++end;
    Fail(begin, "unexpected character '" + std::string(text_.substr(begin, end - begin)) +
                    "' (field names use only letters, digits and _)");
    return false;
  }

  // digits [. digits*] [e [+-] digits+], or . digits+ [exponent]. The parser converts the
  // text, because "-9223372036854775808" is only representable with its sign.
  bool LexNumber() {
    const size_t begin = pos_;
    auto digits = [&] {
      const size_t start = pos_;
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
      return pos_ > start;
    };
    digits();
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      digits();
    }
    bool ok = true;
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      ok = digits();
    }
    // "12abc" or "1.5e": report the whole word rather than splitting it into two tokens.
    if (!ok || (pos_ < text_.size() && IsIdentChar(text_[pos_]))) {
      while (pos_ < text_.size() && (IsIdentChar(text_[pos_]) || text_[pos_] == '.')) ++pos_;
      Fail(begin, "malformed number '" + std::string(text_.substr(begin, pos_ - begin)) +
                      "' (numbers look like 12, 1.5 or 1.5e3)");
      return false;
    }
    Add(TokenKind::kNumber, begin, pos_);
    return true;
  }

  bool LexString() {
    const size_t begin = pos_;
    const char quote = text_[pos_++];
    std::string value;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] != '\\') {
        value += text_[pos_++];
        continue;
      }
      const size_t escape = pos_;
      const char next = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
      switch (next) {
        case '\'':
          value += '\'';
          break;
        case '"':
          value += '"';
          break;
        case '\\':
          value += '\\';
          break;
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        default: {
          if (pos_ + 1 >= text_.size()) break;  // a trailing backslash: unterminated below
          size_t end = pos_ + 2;
          while (end < text_.size() && (static_cast<unsigned char>(text_[end]) & 0xC0) == 0x80) {
            ++end;
          }
          Fail(escape, "unknown escape '" + std::string(text_.substr(escape, end - escape)) +
                           "' in a string (use \\' \\\" \\\\ \\n or \\t)");
          return false;
        }
      }
      pos_ += 2;
    }
    if (pos_ >= text_.size()) {
      Fail(begin, std::string("unterminated string (add the closing ") + quote + ")");
      return false;
    }
    ++pos_;
    Add(TokenKind::kString, begin, pos_).text = std::move(value);
    return true;
  }

  // Offsets only grow, so columns are counted incrementally (long texts stay linear).
  int ColumnOf(size_t offset) {
    column_ += ColumnAt(text_.substr(counted_, offset - counted_), offset - counted_) - 1;
    counted_ = offset;
    return column_;
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t counted_ = 0;
  int column_ = 1;
  std::vector<Token> tokens_;
};

}  // namespace

int ColumnAt(std::string_view text, size_t offset) {
  int column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;
  }
  return column;
}

Status ErrorAt(int column, std::string_view what) {
  return Status::Invalid("at column " + std::to_string(column) + ": " + std::string(what));
}

std::vector<Token> Lex(std::string_view text) { return Lexer(text).Run(); }

}  // namespace runnel::expr_internal
