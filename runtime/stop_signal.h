// StopSignal: turns SIGINT/SIGTERM into a call of a stop callback (e.g.
// Dataflow::RequestStop), from an Asio signal_set on a small thread of its own, so no global
// flag is needed. The callback runs on that thread and must be thread-safe.
#pragma once

#include <functional>
#include <memory>

namespace runnel {

class StopSignal {
 public:
  explicit StopSignal(std::function<void(int signal_number)> on_signal);
  ~StopSignal();  // stops listening; the default signal dispositions return
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace runnel
