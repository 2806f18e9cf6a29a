// Source: where records enter the dataflow (a file, an MQTT subscription, a stored log).
// A source emits insert-only changes (diff +1) and tracks its watermark: the largest event time
// seen minus max_delay, -inf before the first record, +inf once a bounded source is read whole.
// Threading: polled by the engine thread only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/operator.h"
#include "runtime/status.h"
#include "runtime/time.h"

namespace runnel {

enum class PollStatus {
  kProgress,  // emitted records or advanced the watermark
  kIdle,      // nothing new right now (unbounded sources)
  kFinished,  // bounded input read whole; watermark is +inf
};

struct SourceStats {
  uint64_t records_read = 0;      // records emitted into the pipeline
  uint64_t records_rejected = 0;  // malformed lines/payloads counted and skipped
  uint64_t reconnects = 0;        // MQTT: connections re-established after a loss
  uint64_t backpressure_ms = 0;   // MQTT: time the receiver waited for the engine to catch up
};

// What a source pokes when input arrives on another thread: the engine (Dataflow) stops its
// idle wait and runs a step at once. Thread-safe.
class WakeTarget {
 public:
  virtual ~WakeTarget() = default;
  virtual void Wake() = 0;
};

class Source {
 public:
  Source() = default;
  virtual ~Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  // Emits up to about `max_records` records to output(). An error stops the run (e.g. a file
  // that cannot be opened, or a malformed line when the source says on_error = "fail").
  virtual Result<PollStatus> Poll(size_t max_records) = 0;

  virtual Timestamp watermark() const = 0;

  // A bounded (static) source is read whole within the first step of a run, so that a static
  // run is one consistent step and emits no retractions.
  virtual bool bounded() const = 0;

  virtual SourceStats stats() const = 0;

  // Rejected records by reason code ("invalid_json", "missing:temp"), for sources that count
  // them per reason; sorted by reason.
  virtual std::vector<std::pair<std::string, uint64_t>> rejects_by_reason() const { return {}; }

  // Persistence (SPEC §6). Where the source is in its input after the records it emitted so
  // far, as opaque bytes saved with every committed step; a restarted source continues from
  // there. Empty: the source cannot resume (it reads its input again from the start).
  virtual std::string SavePosition() const { return {}; }
  // Called before the first Poll() of a restarted run, with what SavePosition() returned.
  virtual Status RestorePosition(std::string_view /*position*/) { return Status::Ok(); }
  // The step whose position SavePosition() returned last is durable (e.g. an MQTT source may
  // now drop those messages from its journal).
  virtual void OnCommitted() {}

  Output& output() { return output_; }

  // Set by the dataflow that runs the source (which outlives it).
  void set_wake_target(WakeTarget* target) { wake_target_.store(target); }

 protected:
  // For sources fed by another thread (an MQTT callback): the next step starts now instead of
  // after the engine's idle back-off (up to max_idle_sleep). Safe from any thread.
  void WakeEngine() const {
    if (WakeTarget* target = wake_target_.load()) target->Wake();
  }

 private:
  Output output_;
  std::atomic<WakeTarget*> wake_target_{nullptr};
};

}  // namespace runnel
