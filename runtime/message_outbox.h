// MessageOutbox: the durable queue of one MQTT sink: messages written in the step that produced
// them and removed once their broker took them, so that none is lost across a crash or a
// restart (SPEC §4). The state database implements it (storage/OutboxTable); sinks only see
// this interface, so the mqtt module needs no SQL. Threading: the engine thread only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace runnel {

struct OutboxMessage {
  int64_t id = 0;  // set by Append: increasing in append order
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retain = false;
};

class MessageOutbox {
 public:
  virtual ~MessageOutbox() = default;

  // Every message stored for this sink, oldest first (what an earlier run left undelivered).
  virtual Result<std::vector<OutboxMessage>> Load() = 0;
  // Stores `messages` in order in the current step's transaction and sets their ids.
  virtual Status Append(std::span<OutboxMessage> messages) = 0;
  // Removes these messages in the current step's transaction.
  virtual Status Remove(std::span<const int64_t> ids) = 0;
  // At the end of a run: removes these messages and commits, unless a step's transaction is
  // still open (the run failed mid-step): then it writes nothing, and the next run delivers
  // those messages again rather than committing half a step.
  virtual Status RemoveAtEnd(std::span<const int64_t> ids) = 0;
};

}  // namespace runnel
