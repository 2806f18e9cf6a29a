// Test helpers for operators: a terminal Operator that records the changes it receives, and
// renderings of changes as strings so tests compare whole outputs ("+1 @5 \"a\" 2").
#pragma once

#include <algorithm>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "runtime/operator.h"

namespace runnel::testing {

class Collector final : public Operator {
 public:
  struct Change {
    Row row;
    Timestamp time;
    Diff diff;
  };
  void OnChange(int, const Row& row, Timestamp time, Diff diff) override {
    changes.push_back({row, time, diff});
  }
  Status Advance(std::span<const Timestamp>, Timestamp*) override { return Status::Ok(); }
  std::vector<Change> changes;
};

inline std::string Show(const Row& row) {
  std::string out;
  for (const Value& v : row) {
    if (!out.empty()) out += ' ';
    out += v.DebugString();
  }
  return out;
}

inline std::string Show(const Collector::Change& c) {
  return (c.diff > 0 ? "+" : "") + std::to_string(c.diff) + " @" + std::to_string(c.time) + " " +
         Show(c.row);
}

inline std::vector<std::string> ShowAll(const std::vector<Collector::Change>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) out.push_back(Show(c));
  return out;
}

// Rows summed by diff, zeros dropped, sorted: what a table sink would hold.
inline std::vector<std::string> Consolidate(const std::vector<Collector::Change>& changes) {
  std::map<std::string, Diff> sum;
  for (const auto& c : changes) sum["@" + std::to_string(c.time) + " " + Show(c.row)] += c.diff;
  std::vector<std::string> out;
  for (const auto& [row, diff] : sum) {
    if (diff != 0) out.push_back(std::to_string(diff) + " " + row);
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline bool HasRetraction(const std::vector<Collector::Change>& changes) {
  return std::any_of(changes.begin(), changes.end(), [](const auto& c) { return c.diff < 0; });
}

}  // namespace runnel::testing
