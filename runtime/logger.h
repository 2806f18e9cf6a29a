// Logger: where components write human-readable diagnostics. Injected (never global) so tests
// can capture messages. StderrLogger is the process default. Write() may be called from any
// thread; implementations serialise.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace runnel {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void Write(LogLevel level, std::string_view message) = 0;
  void Info(std::string_view m) { Write(LogLevel::kInfo, m); }
  void Warning(std::string_view m) { Write(LogLevel::kWarning, m); }
  void Error(std::string_view m) { Write(LogLevel::kError, m); }
};

// "runnel: warning: message" lines on stderr.
class StderrLogger final : public Logger {
 public:
  explicit StderrLogger(LogLevel min_level = LogLevel::kInfo) : min_level_(min_level) {}
  void Write(LogLevel level, std::string_view message) override;

 private:
  LogLevel min_level_;
  std::mutex mu_;
};

// Keeps every message; for tests.
class CapturingLogger final : public Logger {
 public:
  void Write(LogLevel level, std::string_view message) override;
  std::vector<std::string> messages() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> messages_;
};

}  // namespace runnel
