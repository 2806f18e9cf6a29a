#include "runtime/logger.h"

#include <cstdio>

namespace runnel {

namespace {
const char* LevelPrefix(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug: ";
    case LogLevel::kInfo: return "";
    case LogLevel::kWarning: return "warning: ";
    case LogLevel::kError: return "error: ";
  }
  return "";
}
}  // namespace

void StderrLogger::Write(LogLevel level, std::string_view message) {
  if (level < min_level_) return;
  std::lock_guard lock(mu_);
  std::fprintf(stderr, "runnel: %s%.*s\n", LevelPrefix(level), static_cast<int>(message.size()),
               message.data());
}

void CapturingLogger::Write(LogLevel level, std::string_view message) {
  std::lock_guard lock(mu_);
  messages_.push_back(std::string(LevelPrefix(level)) + std::string(message));
}

std::vector<std::string> CapturingLogger::messages() const {
  std::lock_guard lock(mu_);
  return messages_;
}

}  // namespace runnel
