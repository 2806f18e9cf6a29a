// BrokerOptions: how to reach one MQTT broker (SPEC §2 [mqtt], or an MQTT sink's own uplink
// broker): URI, client id, credentials, TLS and protocol version, turned into Paho's connect
// options. Every MQTT client of Runnel (sources, sinks, `runnel simulate`) connects through
// here, so that they all treat passwords, TLS and reconnects the same way.
#pragma once

#include <mqtt/async_client.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "runtime/status.h"

namespace runnel {

struct BrokerTls {
  std::optional<std::string> ca_file;    // trust these CAs instead of the system's
  std::optional<std::string> cert_file;  // client certificate (mutual TLS)
  std::optional<std::string> key_file;
  bool verify = true;  // check the broker's certificate and host name
};

struct BrokerOptions {
  std::string uri = "tcp://127.0.0.1:1883";  // tcp:// ssl:// ws:// wss://
  std::string client_id = "runnel";
  std::optional<std::string> username;
  std::optional<std::string> password_file;  // else the password_env variable, else none
  // Empty: no fallback to the environment (an uplink broker must not get the local password).
  std::string password_env = "RUNNEL_MQTT_PASSWORD";
  std::optional<BrokerTls> tls;
  int version = 5;  // 3 (3.1.1) or 5
  // false: a persistent session, so the broker keeps what arrives while Runnel is away.
  bool clean_start = false;
  std::chrono::seconds keep_alive{30};
  std::chrono::seconds min_reconnect_delay{1};
  std::chrono::seconds max_reconnect_delay{30};
};

// Reads the password: password_file (trailing newline dropped), else the environment variable
// named by password_env (RUNNEL_MQTT_PASSWORD), else none. The password is never logged or put
// in a message.
Result<std::optional<std::string>> ReadBrokerPassword(const BrokerOptions& options);

// Paho connect options for `options`, with the password already read. Automatic reconnect with
// exponential backoff between min_reconnect_delay and max_reconnect_delay.
Result<mqtt::connect_options> MakeConnectOptions(const BrokerOptions& options);

// Paho C++ 1.2 copies and moves connect_options without re-pointing the C struct at the copy's
// own MQTT 5 properties, so the session expiry interval of a returned or copied object points
// at freed memory and a persistent session ends at disconnect. Call this on the options object
// that is passed to connect(), right before the call.
void RepointConnectProperties(mqtt::connect_options* options);

// A client for the broker. `persistence_dir`: where Paho keeps in-flight QoS 1/2 messages
// across restarts (empty: in memory, for clients that need no session state).
Result<std::unique_ptr<mqtt::async_client>> MakeBrokerClient(const BrokerOptions& options,
                                                             const std::string& persistence_dir);

// "tcp://host:1883 as client gw-1" for logs: never credentials.
std::string DescribeBroker(const BrokerOptions& options);

}  // namespace runnel
