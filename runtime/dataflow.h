// Dataflow: the graph of sources and operators of one pipeline, and the scheduler that runs it
// in steps. A step polls the sources, lets their changes flow synchronously through the graph,
// then calls Advance on every operator in topological order with its inputs' watermarks
// (a node's input watermark is its upstream output's watermark; an operator with several
// inputs gets one per port). Bounded sources are drained inside the first step, so a run whose
// sources are all bounded is exactly one data step followed by the +inf watermark; unbounded
// sources give at most batch_size records per step, so lateness is decided at step
// granularity (against the watermarks of the steps before).
// Threading: Run() is called on the engine thread, which then owns every node;
// RequestStop() may be called from any thread (a signal thread, a test).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
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
  size_t batch_size = 4096;  // records polled from one (unbounded) source per step
  // After a step that found input but no backlog (no source gave a full batch), the next
  // step starts no sooner than this after it began: a stream of single messages then makes
  // a step (and a commit) per interval rather than per message. Zero: at once. A backlog
  // always runs the next step at once.
  std::chrono::milliseconds step_interval{0};
  // When no source made progress, the engine sleeps before the next step, starting at the
  // minimum and doubling up to the maximum while nothing happens. A stop request wakes it.
  std::chrono::milliseconds min_idle_sleep{1};
  std::chrono::milliseconds max_idle_sleep{50};
};

class Dataflow final : private WakeTarget {
 public:
  Dataflow() = default;
  Dataflow(const Dataflow&) = delete;
  Dataflow& operator=(const Dataflow&) = delete;

  // Nodes are added upstream first: every input must name an earlier node, which makes the
  // insertion order a topological order. Returns the node index.
  int AddSource(std::string name, std::unique_ptr<Source> source);
  int AddOperator(std::string name, std::unique_ptr<Operator> op, std::vector<PortRef> inputs);

  // Runs until every source is finished and every watermark is +inf, or until RequestStop().
  // Closes every operator before returning (sinks flush and close).
  // A stop ends the run after the current step (its changes are advanced and its listeners
  // run, so what was committed is one consistent step). No +inf watermark follows: windows
  // still open are incomplete and are not emitted; a later run over the same input does that.
  Status Run(const SchedulerOptions& options = {});
  void RequestStop();
  // Ends an idle wait at once (a source got input on another thread). Safe from any thread.
  void Wake() override;
  bool stop_requested() const { return stop_requested_.load(); }

  // Runs after every step, once all operators advanced (e.g. to commit the step's
  // transaction in the state database). An error stops the run.
  void AddStepListener(std::function<Status()> listener) {
    step_listeners_.push_back(std::move(listener));
  }

  // Recovery (SPEC §6): re-runs one logged step. `emit` pushes the step's logged records of
  // source node `node` into `out` (called for each source node in order, as RunStep polls
  // them); then each source's watermark becomes the logged one and every operator advances.
  // Step listeners do not run: a replayed step was committed already.
  Status ReplayStep(const std::function<Status(int node, Output& out)>& emit,
                    std::span<const Timestamp> source_watermarks);
  // Recovery: the output watermark a node had at the checkpoint.
  void RestoreWatermark(int node, Timestamp watermark) {
    nodes_[node].output_watermark = watermark;
  }
  // Backfill (SPEC §6): bounded sources are drained in the first step as always, but their
  // +inf watermark only takes effect in the next step, so that the state after all input and
  // before the final results can be checkpointed; a later run over grown input restores it.
  void SetFinishInOwnStep(bool on) { finish_in_own_step_ = on; }
  // Whether a drained bounded source's +inf watermark is held for the next step.
  bool finish_pending() const;
  // The number of the step running now (or last run), counting from 1; SetStep continues the
  // numbering of a restored run.
  int64_t step() const { return step_; }
  void SetStep(int64_t step) { step_ = step; }

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
  // *backlog: an unbounded source gave a full batch (more is likely waiting).
  Status RunStep(const SchedulerOptions& options, bool* all_finished, bool* any_progress,
                 bool* backlog);
  Status AdvanceAll();
  Output& OutputOf(PortRef ref);

  std::vector<Node> nodes_;
  std::vector<std::function<Status()>> step_listeners_;
  std::atomic<bool> stop_requested_{false};
  bool wake_pending_ = false;  // guarded by stop_mu_
  // Guarded by stop_mu_: the engine is in its idle wait, the only wait Wake() ends. Input
  // that arrives while it steps, or while it lets input gather (step_interval), costs no
  // wake-up: one per message would cost a context switch each.
  bool idle_waiting_ = false;
  std::mutex stop_mu_;  // with stop_cv_: wakes an idle engine at once on RequestStop()
  std::condition_variable stop_cv_;
  bool first_step_done_ = false;
  bool finish_in_own_step_ = false;
  int64_t step_ = 0;
};

}  // namespace runnel
