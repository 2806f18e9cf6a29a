// A bare Paho C++ subscriber for the MQTT ingest benchmark (docs/benchmarks.md, "MQTT
// ingest"): subscribes to a filter, counts messages in Paho's callback and does nothing else
// with them, so its rate is the limit of this machine's broker path. Prints "ready" once
// subscribed, then, after N messages, one line: count, seconds from the first to the Nth
// message, rate and peak RSS. Exit 1 when N messages do not arrive within the timeout.
// Paho's trace level is set to errors only, as Runnel does (mqtt/broker_options.cc): at its
// default, Paho formats a trace line for every packet, and the baseline would be slower than
// it has to be. --trace default keeps Paho's default, to measure that difference.
// Threading: Paho's callback thread counts; the main thread waits.
//
// usage: runnel_bench_mqtt_raw_subscriber --broker URI --topic FILTER --qos Q --count N
//        [--version 3|5] [--timeout-s S] [--trace errors|default]

#include <MQTTAsync.h>
#include <mqtt/async_client.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <string>

namespace {

struct Options {
  std::string broker = "tcp://127.0.0.1:1883";
  std::string topic = "sensors/+/env";
  int qos = 0;
  long count = 0;
  int version = 5;
  int timeout_s = 120;
  bool default_trace = false;  // keep Paho's default trace level
};

// User + system CPU time of this process so far (all threads: Paho's included).
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// VmHWM of this process in KiB (peak resident set size).
long PeakRssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

class Counter final : public mqtt::callback {
 public:
  explicit Counter(long target) : target_(target) {}

  void message_arrived(mqtt::const_message_ptr /*message*/) override {
    const long n = received_.fetch_add(1) + 1;
    if (n == 1) first_ = std::chrono::steady_clock::now();
    if (n == target_) {
      last_ = std::chrono::steady_clock::now();
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      done_cv_.notify_all();
    }
  }

  bool WaitDone(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return done_cv_.wait_for(lock, timeout, [this] { return done_; });
  }
  long received() const { return received_.load(); }
  double Seconds() const { return std::chrono::duration<double>(last_ - first_).count(); }

 private:
  const long target_;
  std::atomic<long> received_{0};
  std::chrono::steady_clock::time_point first_;
  std::chrono::steady_clock::time_point last_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  bool done_ = false;
};

bool ParseOptions(int argc, char** argv, Options* options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const char* value = argv[i + 1];
    if (key == "--broker") {
      options->broker = value;
    } else if (key == "--topic") {
      options->topic = value;
    } else if (key == "--qos") {
      options->qos = std::atoi(value);
    } else if (key == "--count") {
      options->count = std::atol(value);
    } else if (key == "--version") {
      options->version = std::atoi(value);
    } else if (key == "--timeout-s") {
      options->timeout_s = std::atoi(value);
    } else if (key == "--trace" &&
               (std::strcmp(value, "errors") == 0 || std::strcmp(value, "default") == 0)) {
      options->default_trace = std::strcmp(value, "default") == 0;
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && options->count > 0 && options->qos >= 0 && options->qos <= 2 &&
         (options->version == 3 || options->version == 5);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, &options)) {
    std::fprintf(stderr,
                 "usage: %s --broker URI --topic FILTER --qos 0|1|2 --count N [--version 3|5] "
                 "[--timeout-s S] [--trace errors|default]\n",
                 argv[0]);
    return 2;
  }
  try {
    // No client persistence: the bare path, nothing written to disk.
    mqtt::async_client client(
        options.broker, "bench-raw-subscriber",
        mqtt::create_options(options.version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1));
    // After the first client, which initialises Paho's trace settings.
    if (!options.default_trace) MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
    Counter counter(options.count);
    client.set_callback(counter);
    auto connect = mqtt::connect_options_builder()
                       .mqtt_version(options.version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1)
                       .clean_session(options.version != 5)
                       .clean_start(options.version == 5)
                       .keep_alive_interval(std::chrono::seconds(30))
                       .finalize();
    client.connect(connect)->wait();
    client.subscribe(options.topic, options.qos)->wait();
    const double cpu_at_ready = CpuSeconds();
    std::printf("ready\n");
    std::fflush(stdout);
    if (!counter.WaitDone(std::chrono::seconds(options.timeout_s))) {
      std::fprintf(stderr, "raw subscriber: got %ld of %ld messages within %d s\n",
                   counter.received(), options.count, options.timeout_s);
      client.disconnect()->wait();
      return 1;
    }
    client.disconnect()->wait();
    const double cpu = CpuSeconds() - cpu_at_ready;
    std::printf("messages %ld seconds %.3f rate %.0f peak_rss_kib %ld cpu_seconds %.3f\n",
                options.count, counter.Seconds(),
                static_cast<double>(options.count - 1) / counter.Seconds(), PeakRssKib(), cpu);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "raw subscriber: %s (is the broker at %s running?)\n", e.what(),
                 options.broker.c_str());
    return 1;
  }
  return 0;
}
