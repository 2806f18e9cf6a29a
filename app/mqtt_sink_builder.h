// MQTT sink construction for the composition root: a [[sink]] with `topic` (SPEC §2, §4) and
// the pipeline's [mqtt] section become an MqttSink with its uplink (the sink's own broker, or
// [mqtt]) and its outbox in the state database. Kept apart from pipeline_builder.cc so that
// the planner only asks for a sink. Pure construction; no thread of its own.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "config/pipeline_config.h"
#include "mqtt/broker_options.h"
#include "mqtt/mqtt_sink.h"
#include "runtime/clock.h"
#include "runtime/logger.h"
#include "runtime/schema.h"
#include "storage/state_database.h"

namespace runnel {

// The sink's settings as the sink sees them (no connection, no database).
MqttSinkSpec MqttSinkSpecFor(const SinkConfig& sink);

// Where the sink publishes: its own `broker` (with its own credentials and TLS: the local
// broker's RUNNEL_MQTT_PASSWORD is never sent to an uplink), else [mqtt]. The client id is
// [mqtt] client_id + "-sink-" + `ordinal`, so that it never takes over the sources' session.
BrokerOptions SinkBrokerOptions(const PipelineConfig& config, const SinkConfig& sink, int ordinal);

// "mqtt alerts/{device} qos 1 on tcp://127.0.0.1:1883" for the dataflow graph.
std::string DescribeMqttSink(const PipelineConfig& config, const SinkConfig& sink);

// Builds the sink. `used_outbox_names` keeps the outbox names of the pipeline's earlier MQTT
// sinks: each sink's rows are found again by name after a restart, so the name is derived
// from what the sink is (view, topic, broker) and made unique with "#2", "#3", ...
Result<std::unique_ptr<MqttSink>> MakeMqttSink(const PipelineConfig& config, const SinkConfig& sink,
                                               const Schema& schema, int ordinal, StateDatabase* db,
                                               std::set<std::string>* used_outbox_names,
                                               const Clock* clock, Logger* logger);

}  // namespace runnel
