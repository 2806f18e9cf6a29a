#include "runtime/dataflow.h"

#include <algorithm>
#include <utility>

namespace runnel {

int Dataflow::AddSource(std::string name, std::unique_ptr<Source> source) {
  Node node;
  node.name = std::move(name);
  node.source = std::move(source);
  node.source->set_wake_target(this);
  nodes_.push_back(std::move(node));
  return static_cast<int>(nodes_.size()) - 1;
}

int Dataflow::AddOperator(std::string name, std::unique_ptr<Operator> op,
                          std::vector<PortRef> inputs) {
  const int index = static_cast<int>(nodes_.size());
  for (size_t port = 0; port < inputs.size(); ++port) {
    assert(inputs[port].node >= 0 && inputs[port].node < index && "inputs are added first");
    OutputOf(inputs[port]).Connect(op.get(), static_cast<int>(port));
  }
  Node node;
  node.name = std::move(name);
  node.op = std::move(op);
  node.inputs = std::move(inputs);
  nodes_.push_back(std::move(node));
  return index;
}

int Dataflow::FindNode(const std::string& name) const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

Output& Dataflow::OutputOf(PortRef ref) {
  Node& node = nodes_[ref.node];
  return node.source ? node.source->output() : node.op->output(ref.port);
}

Status Dataflow::RunStep(const SchedulerOptions& options, bool* all_finished, bool* any_progress,
                         bool* backlog) {
  *all_finished = true;
  *any_progress = false;
  *backlog = false;
  ++step_;
  for (Node& node : nodes_) {
    if (!node.source) continue;
    // Bounded sources are drained whole in the first step: a static run is one step.
    bool drain = !first_step_done_ && node.source->bounded();
    while (true) {
      const uint64_t emitted = node.source->output().changes_emitted();
      RUNNEL_ASSIGN_OR_RETURN(PollStatus status, node.source->Poll(options.batch_size));
      if (node.source->output().changes_emitted() - emitted >= options.batch_size) {
        *backlog = true;
      }
      if (status == PollStatus::kFinished) break;
      if (status == PollStatus::kProgress) *any_progress = true;
      if (!drain || stop_requested_.load()) {
        *all_finished = false;
        break;
      }
    }
    if (drain && finish_in_own_step_) continue;
    // A restored run keeps the watermark it had: a restarted source knows only what it
    // read since (the max equals what it would report having read everything).
    node.output_watermark = std::max(node.output_watermark, node.source->watermark());
  }
  first_step_done_ = true;
  RUNNEL_RETURN_IF_ERROR(AdvanceAll());
  for (const auto& listener : step_listeners_) RUNNEL_RETURN_IF_ERROR(listener());
  for (const Node& node : nodes_) {
    if (node.output_watermark != kMaxTime) *all_finished = false;
  }
  return Status::Ok();
}

Status Dataflow::ReplayStep(const std::function<Status(int node, Output& out)>& emit,
                            std::span<const Timestamp> source_watermarks) {
  ++step_;
  size_t next_watermark = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Node& node = nodes_[i];
    if (!node.source) continue;
    RUNNEL_RETURN_IF_ERROR(emit(static_cast<int>(i), node.source->output()));
    if (next_watermark < source_watermarks.size()) {
      node.output_watermark = std::max(node.output_watermark, source_watermarks[next_watermark]);
    }
    ++next_watermark;
  }
  return AdvanceAll();
}

Status Dataflow::AdvanceAll() {
  std::vector<Timestamp> input_watermarks;
  for (Node& node : nodes_) {
    if (!node.op) continue;
    input_watermarks.clear();
    for (const PortRef& in : node.inputs)
      input_watermarks.push_back(nodes_[in.node].output_watermark);
    Timestamp out = kMinTime;
    RUNNEL_RETURN_IF_ERROR(node.op->Advance(input_watermarks, &out).WithContext(node.name));
    // Watermarks never go backwards, whatever an operator reports.
    node.output_watermark = std::max(node.output_watermark, out);
  }
  return Status::Ok();
}

bool Dataflow::finish_pending() const {
  for (const Node& node : nodes_) {
    if (node.source && node.source->bounded() && node.source->watermark() == kMaxTime &&
        node.output_watermark != kMaxTime) {
      return true;
    }
  }
  return false;
}

void Dataflow::Wake() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    wake_pending_ = true;
    if (!idle_waiting_) return;
  }
  stop_cv_.notify_all();
}

void Dataflow::RequestStop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_requested_.store(true);
  }
  stop_cv_.notify_all();
}

Status Dataflow::Run(const SchedulerOptions& options) {
  Status status;
  std::chrono::milliseconds idle_sleep = options.min_idle_sleep;
  while (!stop_requested_.load()) {
    bool all_finished = false, any_progress = false, backlog = false;
    const auto started = std::chrono::steady_clock::now();
    status = RunStep(options, &all_finished, &any_progress, &backlog);
    if (!status.ok() || all_finished) break;
    if (any_progress) {
      idle_sleep = options.min_idle_sleep;
      if (!backlog && options.step_interval.count() > 0) {
        // Let input gather for the next step; only a stop cuts the wait short (a wake-up
        // would bring back a step per message).
        std::unique_lock<std::mutex> lock(stop_mu_);
        stop_cv_.wait_until(lock, started + options.step_interval,
                            [this] { return stop_requested_.load(); });
      }
      continue;
    }
    // Unbounded sources with nothing new: back off instead of spinning, so an idle gateway
    // costs a few steps a second; the sources themselves throttle their polling of files.
    std::unique_lock<std::mutex> lock(stop_mu_);
    idle_waiting_ = true;
    stop_cv_.wait_for(lock, idle_sleep, [this] { return stop_requested_.load() || wake_pending_; });
    idle_waiting_ = false;
    if (std::exchange(wake_pending_, false)) {
      idle_sleep = options.min_idle_sleep;
    } else {
      idle_sleep =
          std::min(std::max(idle_sleep * 2, std::chrono::milliseconds(1)), options.max_idle_sleep);
    }
  }
  for (Node& node : nodes_) {
    if (!node.op) continue;
    Status closed = node.op->Close().WithContext(node.name);
    if (status.ok()) status = closed;
  }
  return status;
}

}  // namespace runnel
