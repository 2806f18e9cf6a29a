#include "mqtt/broker_options.h"

#include <MQTTAsync.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

namespace runnel {

namespace {
constexpr int kMaxBufferedMessages = 4096;

// Paho C formats every protocol-level trace line (one or more per packet) into a buffer under a
// global mutex at its default level, even with no trace destination: about 3 us of CPU per
// received message (docs/benchmarks.md, MQTT ingest). Keep only errors, unless the user asked
// for Paho's trace with MQTT_C_CLIENT_TRACE (then its MQTT_C_CLIENT_TRACE_LEVEL applies).
void QuietPahoTrace() {
  static const bool quieted = [] {
    if (std::getenv("MQTT_C_CLIENT_TRACE") != nullptr) return false;
    MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
    return true;
  }();
  static_cast<void>(quieted);
}
}  // namespace

Result<std::optional<std::string>> ReadBrokerPassword(const BrokerOptions& options) {
  if (options.password_file) {
    std::ifstream in(*options.password_file, std::ios::binary);
    if (!in) {
      return Status::Invalid("MQTT broker " + options.uri + ": cannot read password_file " +
                             *options.password_file + " (check the path and its permissions)");
    }
    std::ostringstream text;
    text << in.rdbuf();
    std::string password = text.str();
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
      password.pop_back();
    }
    return std::optional<std::string>(std::move(password));
  }
  if (options.password_env.empty()) return std::optional<std::string>();
  if (const char* env = std::getenv(options.password_env.c_str()); env != nullptr) {
    return std::optional<std::string>(env);
  }
  return std::optional<std::string>();
}

Result<mqtt::connect_options> MakeConnectOptions(const BrokerOptions& options) {
  const bool secure = options.uri.starts_with("ssl://") || options.uri.starts_with("wss://");
  if (options.tls && !secure) {
    return Status::Invalid(
        "MQTT broker " + options.uri +
        ": tls is set but the URI is not ssl:// or wss:// (use ssl://host:8883)");
  }
  mqtt::connect_options_builder builder;
  builder.mqtt_version(options.version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1)
      .keep_alive_interval(options.keep_alive)
      .automatic_reconnect(options.min_reconnect_delay, options.max_reconnect_delay);
  if (options.version == 5) {
    builder.clean_start(options.clean_start);
    // A persistent MQTT 5 session must outlive the connection (0 would end it on disconnect).
    if (!options.clean_start) {
      mqtt::properties properties;
      properties.add(mqtt::property(mqtt::property::SESSION_EXPIRY_INTERVAL,
                                    static_cast<int32_t>(0x7FFFFFFF)));
      builder.properties(std::move(properties));
    }
  } else {
    builder.clean_session(options.clean_start);
  }
  if (options.username) builder.user_name(*options.username);
  RUNNEL_ASSIGN_OR_RETURN(std::optional<std::string> password, ReadBrokerPassword(options));
  if (password) builder.password(*password);
  if (secure) {
    mqtt::ssl_options_builder ssl;
    const BrokerTls tls = options.tls.value_or(BrokerTls{});
    if (tls.ca_file) ssl.trust_store(*tls.ca_file);
    if (tls.cert_file) ssl.key_store(*tls.cert_file);
    if (tls.key_file) ssl.private_key(*tls.key_file);
    ssl.enable_server_cert_auth(tls.verify).verify(tls.verify);
    builder.ssl(ssl.finalize());
  }
  return builder.finalize();
}

void RepointConnectProperties(mqtt::connect_options* options) {
  mqtt::properties properties = options->get_properties();
  options->set_properties(std::move(properties));
}

Result<std::unique_ptr<mqtt::async_client>> MakeBrokerClient(const BrokerOptions& options,
                                                             const std::string& persistence_dir) {
  try {
    mqtt::create_options create(options.version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
    // Paho refuses a publish (error -12) once this many wait to be written; its default of
    // 100 is below the window an MQTT sink hands it at a time (Uplink, 256).
    create.set_max_buffered_messages(kMaxBufferedMessages);
    if (persistence_dir.empty()) {
      auto client =
          std::make_unique<mqtt::async_client>(options.uri, options.client_id, create, nullptr);
      QuietPahoTrace();  // after Paho's first client, which initialises its trace settings
      return client;
    }
    std::error_code ec;
    std::filesystem::create_directories(persistence_dir, ec);
    if (ec) {
      return Status::IoError("cannot create MQTT session directory " + persistence_dir + ": " +
                             ec.message());
    }
    auto client = std::make_unique<mqtt::async_client>(options.uri, options.client_id, create,
                                                       persistence_dir);
    QuietPahoTrace();
    return client;
  } catch (const mqtt::exception& e) {
    return Status::Invalid("MQTT broker " + options.uri + " (client " + options.client_id +
                           "): " + e.what() + " (check the URI: tcp://, ssl://, ws:// or wss://)");
  }
}

std::string DescribeBroker(const BrokerOptions& options) {
  return options.uri + " as client " + options.client_id;
}

}  // namespace runnel
