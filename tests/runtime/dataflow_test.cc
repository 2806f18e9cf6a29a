#include "runtime/dataflow.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace runnel {
namespace {

// A source over a fixed list of (time, value) records.
class VectorSource final : public Source {
 public:
  VectorSource(std::vector<std::pair<Timestamp, int64_t>> records, bool bounded)
      : records_(std::move(records)), bounded_(bounded) {}
  Result<PollStatus> Poll(size_t max_records) override {
    if (next_ == records_.size()) {
      if (bounded_) watermark_ = kMaxTime;
      return bounded_ ? PollStatus::kFinished : PollStatus::kIdle;
    }
    for (size_t n = 0; n < max_records && next_ < records_.size(); ++n, ++next_) {
      auto [time, value] = records_[next_];
      output().Emit(Row{Value::Int(value)}, time, 1);
    }
    return PollStatus::kProgress;
  }
  Timestamp watermark() const override { return watermark_; }
  bool bounded() const override { return bounded_; }
  SourceStats stats() const override { return {next_, 0}; }

 private:
  std::vector<std::pair<Timestamp, int64_t>> records_;
  bool bounded_;
  size_t next_ = 0;
  Timestamp watermark_ = kMinTime;
};

// Records what reaches it, one line per event, and passes changes on.
class Recorder final : public Operator {
 public:
  explicit Recorder(std::vector<std::string>* log, std::string name)
      : log_(log), name_(std::move(name)) {}
  void OnChange(int port, const Row& row, Timestamp time, Diff diff) override {
    log_->push_back(name_ + " change port=" + std::to_string(port) + " " + row[0].DebugString() +
                    "@" + std::to_string(time) + " " + std::to_string(diff));
    output().Emit(row, time, diff);
  }
  Status Advance(std::span<const Timestamp> wms, Timestamp* out) override {
    std::string line = name_ + " advance";
    Timestamp min = kMaxTime;
    for (Timestamp w : wms) {
      line += " " + FormatWatermark(w);
      min = std::min(min, w);
    }
    log_->push_back(line);
    *out = min;
    return Status::Ok();
  }

 private:
  std::vector<std::string>* log_;
  std::string name_;
};

class FailingSink final : public Operator {
 public:
  void OnChange(int, const Row&, Timestamp, Diff) override {}
  Status Advance(std::span<const Timestamp>, Timestamp*) override {
    return Status::IoError("disk full");
  }
};

}  // namespace

TEST_CASE("a bounded run is one data step followed by the +inf watermark") {
  std::vector<std::string> log;
  Dataflow flow;
  int src = flow.AddSource(
      "src", std::make_unique<VectorSource>(
                 std::vector<std::pair<Timestamp, int64_t>>{{10, 1}, {5, 2}, {7, 3}}, true));
  flow.AddOperator("rec", std::make_unique<Recorder>(&log, "rec"), {{src, 0}});
  SchedulerOptions options;
  options.batch_size = 2;  // the bounded source is still drained within the first step
  REQUIRE(flow.Run(options).ok());
  CHECK(log == std::vector<std::string>{"rec change port=0 1@10 1", "rec change port=0 2@5 1",
                                        "rec change port=0 3@7 1", "rec advance +inf"});
}

TEST_CASE("with finish in own step, a drained bounded source reaches +inf one step later") {
  std::vector<std::string> log;
  Dataflow flow;
  flow.SetFinishInOwnStep(true);
  int src =
      flow.AddSource("src", std::make_unique<VectorSource>(
                                std::vector<std::pair<Timestamp, int64_t>>{{10, 1}, {5, 2}}, true));
  flow.AddOperator("rec", std::make_unique<Recorder>(&log, "rec"), {{src, 0}});
  bool pending_after_first = false;
  flow.AddStepListener([&] {
    if (flow.step() == 1) pending_after_first = flow.finish_pending();
    return Status::Ok();
  });
  REQUIRE(flow.Run().ok());
  CHECK(pending_after_first);
  CHECK_FALSE(flow.finish_pending());
  CHECK(flow.step() == 2);
  CHECK(log == std::vector<std::string>{"rec change port=0 1@10 1", "rec change port=0 2@5 1",
                                        "rec advance -inf", "rec advance +inf"});
}

TEST_CASE("a replayed step emits its logged records and advances with the logged watermarks") {
  std::vector<std::string> log;
  Dataflow flow;
  int src = flow.AddSource(
      "src", std::make_unique<VectorSource>(std::vector<std::pair<Timestamp, int64_t>>{}, false));
  flow.AddOperator("rec", std::make_unique<Recorder>(&log, "rec"), {{src, 0}});
  flow.SetStep(6);
  const std::vector<Timestamp> watermarks = {40};
  REQUIRE(flow.ReplayStep(
                  [&](int node, Output& out) {
                    CHECK(node == src);
                    out.Emit(Row{Value::Int(9)}, 45, 1);
                    return Status::Ok();
                  },
                  watermarks)
              .ok());
  CHECK(flow.step() == 7);
  CHECK(log == std::vector<std::string>{"rec change port=0 9@45 1", "rec advance 40"});
}

// An unbounded source fed by another thread, which wakes the engine as an MQTT callback does.
class ThreadFedSource final : public Source {
 public:
  void Push(int64_t value) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.push_back(value);
    }
    WakeEngine();
  }
  Result<PollStatus> Poll(size_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.empty()) return PollStatus::kIdle;
    for (int64_t v : pending_) output().Emit(Row{Value::Int(v)}, v, 1);
    pending_.clear();
    return PollStatus::kProgress;
  }
  Timestamp watermark() const override { return kMinTime; }
  bool bounded() const override { return false; }
  SourceStats stats() const override { return {}; }

 private:
  std::mutex mu_;
  std::vector<int64_t> pending_;
};

// Stops the run when the first change arrives.
class StopOnChange final : public Operator {
 public:
  explicit StopOnChange(Dataflow* flow) : flow_(flow) {}
  void OnChange(int, const Row&, Timestamp, Diff) override { flow_->RequestStop(); }
  Status Advance(std::span<const Timestamp>, Timestamp* out) override {
    *out = kMinTime;
    return Status::Ok();
  }

 private:
  Dataflow* flow_;
};

TEST_CASE("input arriving on another thread ends the engine's idle wait at once") {
  Dataflow flow;
  auto source = std::make_unique<ThreadFedSource>();
  ThreadFedSource* feed = source.get();
  int src = flow.AddSource("feed", std::move(source));
  flow.AddOperator("stop", std::make_unique<StopOnChange>(&flow), {{src, 0}});
  SchedulerOptions options;
  // Without the wake-up the record would wait out a 20 s idle sleep.
  options.min_idle_sleep = std::chrono::milliseconds(20'000);
  options.max_idle_sleep = std::chrono::milliseconds(20'000);
  const auto started = std::chrono::steady_clock::now();
  std::thread producer([feed] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    feed->Push(7);
  });
  REQUIRE(flow.Run(options).ok());
  producer.join();
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
}

TEST_CASE("an operator with two inputs sees one watermark per port") {
  std::vector<std::string> log;
  Dataflow flow;
  int a = flow.AddSource("a", std::make_unique<VectorSource>(
                                  std::vector<std::pair<Timestamp, int64_t>>{{1, 1}}, true));
  int b = flow.AddSource("b", std::make_unique<VectorSource>(
                                  std::vector<std::pair<Timestamp, int64_t>>{{2, 2}}, true));
  int first = flow.AddOperator("first", std::make_unique<Recorder>(&log, "first"), {{a, 0}});
  flow.AddOperator("join", std::make_unique<Recorder>(&log, "join"), {{first, 0}, {b, 0}});
  REQUIRE(flow.Run().ok());
  CHECK(log == std::vector<std::string>{"first change port=0 1@1 1", "join change port=0 1@1 1",
                                        "join change port=1 2@2 1", "first advance +inf",
                                        "join advance +inf +inf"});
  CHECK(flow.FindNode("join") == 3);
  CHECK(flow.FindNode("nope") == -1);
}

TEST_CASE("an operator error stops the run and names the node") {
  Dataflow flow;
  int src = flow.AddSource("src", std::make_unique<VectorSource>(
                                      std::vector<std::pair<Timestamp, int64_t>>{{1, 1}}, true));
  flow.AddOperator("sink", std::make_unique<FailingSink>(), {{src, 0}});
  Status status = flow.Run();
  CHECK(status.code() == StatusCode::kIoError);
  CHECK(status.message() == "sink: disk full");
}

TEST_CASE("step listeners run after every step and can stop the run") {
  Dataflow flow;
  flow.AddSource("src", std::make_unique<VectorSource>(
                            std::vector<std::pair<Timestamp, int64_t>>{{1, 1}}, true));
  int calls = 0;
  flow.AddStepListener([&] {
    ++calls;
    return Status::Ok();
  });
  REQUIRE(flow.Run().ok());
  CHECK(calls == 1);
}

TEST_CASE("a stop request ends a run over an unbounded source") {
  Dataflow flow;
  flow.AddSource("live", std::make_unique<VectorSource>(
                             std::vector<std::pair<Timestamp, int64_t>>{{1, 1}}, false));
  int steps = 0;
  flow.AddStepListener([&] {
    if (++steps == 3) flow.RequestStop();
    return Status::Ok();
  });
  REQUIRE(flow.Run().ok());
  CHECK(steps == 3);
}

TEST_CASE("an unbounded source gives at most batch_size records per step") {
  std::vector<std::string> log;
  Dataflow flow;
  int src = flow.AddSource("live", std::make_unique<VectorSource>(
                                       std::vector<std::pair<Timestamp, int64_t>>{
                                           {1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}},
                                       false));
  flow.AddOperator("rec", std::make_unique<Recorder>(&log, "rec"), {{src, 0}});
  int steps = 0;
  flow.AddStepListener([&] {
    if (++steps == 3) flow.RequestStop();
    return Status::Ok();
  });
  SchedulerOptions options;
  options.batch_size = 2;
  REQUIRE(flow.Run(options).ok());
  // A stop does not push a +inf watermark through: open windows stay open.
  CHECK(log == std::vector<std::string>{"rec change port=0 1@1 1", "rec change port=0 2@2 1",
                                        "rec advance -inf", "rec change port=0 3@3 1",
                                        "rec change port=0 4@4 1", "rec advance -inf",
                                        "rec change port=0 5@5 1", "rec advance -inf"});
}

TEST_CASE("a stop request wakes an idle engine at once, however long it meant to sleep") {
  Dataflow flow;
  flow.AddSource(
      "idle", std::make_unique<VectorSource>(std::vector<std::pair<Timestamp, int64_t>>{}, false));
  int steps = 0;
  flow.AddStepListener([&] {
    ++steps;
    return Status::Ok();
  });
  SchedulerOptions options;
  options.min_idle_sleep = std::chrono::milliseconds(60'000);
  options.max_idle_sleep = std::chrono::milliseconds(60'000);
  const auto started = std::chrono::steady_clock::now();
  std::thread stopper([&flow] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    flow.RequestStop();
  });
  REQUIRE(flow.Run(options).ok());
  stopper.join();
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  CHECK(steps == 1);
}

TEST_CASE("an idle engine backs off between steps and steps again at once after progress") {
  Dataflow flow;
  flow.AddSource(
      "idle", std::make_unique<VectorSource>(std::vector<std::pair<Timestamp, int64_t>>{}, false));
  int steps = 0;
  flow.AddStepListener([&] {
    if (++steps == 6) flow.RequestStop();
    return Status::Ok();
  });
  SchedulerOptions options;
  options.min_idle_sleep = std::chrono::milliseconds(10);
  options.max_idle_sleep = std::chrono::milliseconds(40);
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(flow.Run(options).ok());
  // Sleeps of 10, 20, 40, 40, 40 ms between the six steps.
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(150));
}

// Always has `per_poll` records ready (an MQTT subscription that never runs dry).
class EndlessSource final : public Source {
 public:
  explicit EndlessSource(size_t per_poll) : per_poll_(per_poll) {}
  Result<PollStatus> Poll(size_t max_records) override {
    for (size_t n = 0; n < std::min(per_poll_, max_records); ++n) {
      output().Emit(Row{Value::Int(next_)}, next_, 1);
      ++next_;
    }
    return PollStatus::kProgress;
  }
  Timestamp watermark() const override { return kMinTime; }
  bool bounded() const override { return false; }
  SourceStats stats() const override { return {}; }

 private:
  size_t per_poll_;
  int64_t next_ = 0;
};

// Runs `flow` until `steps` steps have run; returns how long that took.
std::chrono::steady_clock::duration TimeSteps(Dataflow& flow, const SchedulerOptions& options,
                                              int steps) {
  int done = 0;
  flow.AddStepListener([&] {
    if (++done == steps) flow.RequestStop();
    return Status::Ok();
  });
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(flow.Run(options).ok());
  return std::chrono::steady_clock::now() - started;
}

TEST_CASE("with step_interval, input that trickles in gathers for a step instead of one each") {
  Dataflow flow;
  flow.AddSource("trickle", std::make_unique<EndlessSource>(1));
  SchedulerOptions options;
  options.batch_size = 100;
  options.step_interval = std::chrono::milliseconds(30);
  // Five steps start 30 ms apart at the soonest: the four waits take at least 120 ms.
  CHECK(TimeSteps(flow, options, 5) >= std::chrono::milliseconds(120));
}

TEST_CASE("with step_interval, a source with a backlog (a full batch) steps again at once") {
  Dataflow flow;
  flow.AddSource("backlog", std::make_unique<EndlessSource>(100));
  SchedulerOptions options;
  options.batch_size = 100;
  options.step_interval = std::chrono::milliseconds(60'000);
  CHECK(TimeSteps(flow, options, 5) < std::chrono::seconds(30));
}

TEST_CASE("a stop request ends the wait for the next step at once") {
  Dataflow flow;
  flow.AddSource("trickle", std::make_unique<EndlessSource>(1));
  SchedulerOptions options;
  options.step_interval = std::chrono::milliseconds(60'000);
  std::thread stopper([&flow] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    flow.RequestStop();
  });
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(flow.Run(options).ok());
  stopper.join();
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
}

}  // namespace runnel
