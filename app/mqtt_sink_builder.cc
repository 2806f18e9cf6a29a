#include "app/mqtt_sink_builder.h"

#include <algorithm>
#include <utility>

#include "storage/outbox_table.h"

namespace runnel {

namespace {

BrokerTls ToBrokerTls(const TlsConfig& tls) {
  BrokerTls out;
  out.ca_file = tls.ca_file;
  out.cert_file = tls.cert_file;
  out.key_file = tls.key_file;
  out.verify = tls.verify;
  return out;
}

}  // namespace

MqttSinkSpec MqttSinkSpecFor(const SinkConfig& sink) {
  MqttSinkSpec spec;
  spec.name = "sink from '" + sink.from + "' to topic " + sink.target;
  spec.topic = sink.target;
  spec.qos = sink.qos;
  spec.retain = sink.retain;
  spec.outbox_limit = sink.outbox_limit;
  return spec;
}

BrokerOptions SinkBrokerOptions(const PipelineConfig& config, const SinkConfig& sink, int ordinal) {
  BrokerOptions options;
  const MqttConfig mqtt = config.mqtt.value_or(MqttConfig{});
  options.client_id = mqtt.client_id + "-sink-" + std::to_string(ordinal);
  options.version = mqtt.version;
  if (sink.broker) {
    options.uri = *sink.broker;
    options.username = sink.username;
    options.password_file = sink.password_file;
    options.password_env.clear();
    if (sink.tls) options.tls = ToBrokerTls(*sink.tls);
    return options;
  }
  options.uri = mqtt.broker;
  options.username = mqtt.username;
  options.password_file = mqtt.password_file;
  if (mqtt.tls) options.tls = ToBrokerTls(*mqtt.tls);
  return options;
}

std::string DescribeMqttSink(const PipelineConfig& config, const SinkConfig& sink) {
  const std::string broker =
      sink.broker ? *sink.broker + " (uplink)" : config.mqtt.value_or(MqttConfig{}).broker;
  return "mqtt " + sink.target + " qos " + std::to_string(sink.qos) +
         (sink.retain ? " retained" : "") + " on " + broker;
}

Result<std::unique_ptr<MqttSink>> MakeMqttSink(const PipelineConfig& config, const SinkConfig& sink,
                                               const Schema& schema, int ordinal, StateDatabase* db,
                                               std::set<std::string>* used_outbox_names,
                                               const Clock* clock, Logger* logger) {
  MqttSinkSpec spec = MqttSinkSpecFor(sink);
  std::string base = sink.from + " -> " + sink.target;
  if (sink.broker) base += " @ " + *sink.broker;
  std::string name = base;
  for (int n = 2; used_outbox_names->contains(name); ++n) name = base + " #" + std::to_string(n);
  used_outbox_names->insert(name);

  BrokerOptions broker = SinkBrokerOptions(config, sink, ordinal);
  RUNNEL_ASSIGN_OR_RETURN(std::unique_ptr<OutboxTable> outbox, OutboxTable::Create(db, name));
  UplinkOptions uplink_options;
  // Messages handed to the broker cannot be dropped on overflow: keep them within the limit.
  uplink_options.window =
      std::min<size_t>(uplink_options.window, static_cast<size_t>(sink.outbox_limit));
  RUNNEL_ASSIGN_OR_RETURN(
      std::unique_ptr<Uplink> uplink,
      Uplink::Create(std::move(broker), spec.name, clock, logger, uplink_options));
  return MqttSink::Create(std::move(spec), schema, std::move(outbox), std::move(uplink), clock,
                          logger);
}

}  // namespace runnel
