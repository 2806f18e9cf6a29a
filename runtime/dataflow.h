// Dataflow: the graph of sources and operators of one pipeline, and the scheduler that runs it
// in steps. A step polls the sources, lets their changes flow synchronously through the graph,
// then calls Advance on every operator in topological order with its inputs' watermarks
// (a node's input watermark is its upstream output's watermark; an operator with several
// inputs gets one per port). Bounded sources are drained inside the first step, so a run whose
// sources are all bounded is exactly one data step followed by the +inf watermark.
// Threading: Run() is called on the engine thread, which then owns every node;
// RequestStop() may be called from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/operator.h"
#include "runtime/source.h"
#include "runtime/status.h"

namespace runnel {

// An output of a node: (node index, output port).
struct PortRef {
  int node = -1;
  int port = 0;
};

struct SchedulerOptions {
  size_t batch_size = 4096;  // records polled from one source per poll
};

class Dataflow {
 public:
  Dataflow() = default;
  Dataflow(const Dataflow&) = delete;
  Dataflow& operator=(const Dataflow&) = delete;

  // Nodes are added upstream first: every input must name an earlier node, which makes the
  // insertion order a topological order. Returns the node index.
  int AddSource(std::string name, std::unique_ptr<Source> source);
  int AddOperator(std::string name, std::unique_ptr<Operator> op, std::vector<PortRef> inputs);

  // Runs until every source is finished and every watermark is +inf, or until RequestStop().
  // Closes every operator before returning.
  Status Run(const SchedulerOptions& options = {});
  void RequestStop() { stop_requested_.store(true); }

  // Runs after every step, once all operators advanced (e.g. to commit the step's
  // transaction in the state database). An error stops the run.
  void AddStepListener(std::function<Status()> listener) { step_listeners_.push_back(std::move(listener)); }

  struct Node {
    std::string name;
    std::unique_ptr<Source> source;  // exactly one of source/op is set
    std::unique_ptr<Operator> op;
    std::vector<PortRef> inputs;
    Timestamp output_watermark = kMinTime;
  };
  const std::vector<Node>& nodes() const { return nodes_; }
  int FindNode(const std::string& name) const;  // -1 when absent

 private:
  Status RunStep(const SchedulerOptions& options, bool* all_finished, bool* any_progress);
  Status AdvanceAll();
  Output& OutputOf(PortRef ref);

  std::vector<Node> nodes_;
  std::vector<std::function<Status()>> step_listeners_;
  std::atomic<bool> stop_requested_{false};
  bool first_step_done_ = false;
};

}  // namespace runnel
