// The publisher of the MQTT ingest benchmark (docs/benchmarks.md, "MQTT ingest"): publishes
// N messages read from a file of `topic<TAB>payload` lines (cycling through it), as fast as
// the broker takes them or paced at a rate, at QoS 0 or 1. It speaks MQTT 3.1.1 over a plain
// socket and writes PUBLISH packets in large batches, because a Paho client costs about as
// much CPU per message as the subscriber under test and would be the bottleneck on 2 cores.
// With --stamp-time it overwrites the 13-digit value of `"ts":` in each payload with the
// publish time (epoch ms), so that a subscriber can measure latency. Prints one line: count,
// seconds, rate. Threading: the main thread writes; at QoS 1 a second thread reads PUBACKs.
//
// usage: runnel_bench_mqtt_publisher --broker tcp://HOST:PORT --file MESSAGES --count N
//        --qos 0|1 [--rate R] [--stamp-time] [--window W]

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string file;
  long count = 0;
  int qos = 0;
  double rate = 0;  // messages per second; 0: as fast as the broker takes them
  bool stamp_time = false;
  long window = 1000;  // QoS 1 messages not yet acknowledged before the writer waits
};

constexpr std::string_view kTimeKey = "\"ts\":";
constexpr size_t kTimeDigits = 13;  // epoch milliseconds until the year 2286
constexpr size_t kBatchBytes = 64 * 1024;

bool ParseBroker(const std::string& uri, Options* options) {
  constexpr std::string_view kScheme = "tcp://";
  if (uri.rfind(kScheme, 0) != 0) return false;
  const size_t colon = uri.rfind(':');
  if (colon < kScheme.size()) return false;
  options->host = uri.substr(kScheme.size(), colon - kScheme.size());
  options->port = std::atoi(uri.c_str() + colon + 1);
  return options->port > 0;
}

bool ParseOptions(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string key = argv[i];
    if (key == "--stamp-time") {
      options->stamp_time = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    const char* value = argv[++i];
    if (key == "--broker") {
      if (!ParseBroker(value, options)) return false;
    } else if (key == "--file") {
      options->file = value;
    } else if (key == "--count") {
      options->count = std::atol(value);
    } else if (key == "--qos") {
      options->qos = std::atoi(value);
    } else if (key == "--rate") {
      options->rate = std::atof(value);
    } else if (key == "--window") {
      options->window = std::atol(value);
    } else {
      return false;
    }
  }
  return !options->file.empty() && options->count > 0 && (options->qos == 0 || options->qos == 1) &&
         options->window > 0 && options->window < 65535;
}

struct Message {
  std::string topic;
  std::string payload;
  size_t time_at = std::string::npos;  // offset of the 13 time digits in payload
};

bool ReadMessages(const std::string& path, std::vector<Message>* messages) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) return false;
    Message message{line.substr(0, tab), line.substr(tab + 1)};
    const size_t key = message.payload.find(kTimeKey);
    if (key != std::string::npos && message.payload.size() >= key + kTimeKey.size() + kTimeDigits) {
      message.time_at = key + kTimeKey.size();
    }
    messages->push_back(std::move(message));
  }
  return !messages->empty();
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void AppendRemainingLength(std::string* out, size_t length) {
  do {
    auto byte = static_cast<uint8_t>(length % 128);
    length /= 128;
    if (length > 0) byte |= 0x80;
    out->push_back(static_cast<char>(byte));
  } while (length > 0);
}

void AppendU16(std::string* out, size_t value) {
  out->push_back(static_cast<char>((value >> 8) & 0xff));
  out->push_back(static_cast<char>(value & 0xff));
}

void AppendPublish(std::string* out, const Message& message, int qos, uint16_t packet_id) {
  out->push_back(static_cast<char>(qos == 1 ? 0x32 : 0x30));
  AppendRemainingLength(out,
                        2 + message.topic.size() + (qos == 1 ? 2 : 0) + message.payload.size());
  AppendU16(out, message.topic.size());
  out->append(message.topic);
  if (qos == 1) AppendU16(out, packet_id);
  out->append(message.payload);
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool ReadExactly(int fd, char* buffer, size_t size) {
  while (size > 0) {
    const ssize_t n = ::read(fd, buffer, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

int Connect(const Options& options) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(options.port));
  if (fd < 0 || ::inet_pton(AF_INET, options.host.c_str(), &address.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  const std::string client_id = "bench-publisher-" + std::to_string(::getpid());
  std::string connect = {0x10};
  std::string body;
  AppendU16(&body, 4);
  body += "MQTT";
  body += {0x04, 0x02, 0x00, 0x3c};  // 3.1.1, clean session, keep-alive 60 s
  AppendU16(&body, client_id.size());
  body += client_id;
  AppendRemainingLength(&connect, body.size());
  connect += body;
  char connack[4];
  if (!WriteAll(fd, connect) || !ReadExactly(fd, connack, sizeof(connack)) || connack[0] != 0x20 ||
      connack[3] != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Counts PUBACKs on the socket (the broker sends nothing else to a publisher).
class AckReader {
 public:
  explicit AckReader(int fd) : fd_(fd), thread_([this] { Run(); }) {}
  ~AckReader() { thread_.join(); }

  // Waits until at most `outstanding` of `sent` messages are unacknowledged; false if the
  // connection broke.
  bool WaitAcked(long sent, long outstanding) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return failed_ || sent - acked_ <= outstanding; });
    return !failed_;
  }

 private:
  void Run() {
    char buffer[4096];
    size_t have = 0;
    while (true) {
      const ssize_t n = ::read(fd_, buffer + have, sizeof(buffer) - have);
      if (n < 0 && errno == EINTR) continue;
      std::lock_guard<std::mutex> lock(mu_);
      if (n <= 0) {
        failed_ = true;
        cv_.notify_all();
        return;
      }
      have += static_cast<size_t>(n);
      const size_t whole = have / 4;  // PUBACK: 0x40 0x02 id id
      acked_ += static_cast<long>(whole);
      std::memmove(buffer, buffer + whole * 4, have - whole * 4);
      have -= whole * 4;
      cv_.notify_all();
    }
  }

  const int fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  long acked_ = 0;
  bool failed_ = false;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, &options)) {
    std::fprintf(stderr,
                 "usage: %s --broker tcp://HOST:PORT --file MESSAGES --count N --qos 0|1 "
                 "[--rate R] [--stamp-time] [--window W]\n",
                 argv[0]);
    return 2;
  }
  std::vector<Message> messages;
  if (!ReadMessages(options.file, &messages)) {
    std::fprintf(stderr, "publisher: %s has no `topic<TAB>payload` lines\n", options.file.c_str());
    return 2;
  }
  const int fd = Connect(options);
  if (fd < 0) {
    std::fprintf(stderr, "publisher: cannot connect to %s:%d (is the broker running?)\n",
                 options.host.c_str(), options.port);
    return 1;
  }
  bool ok = true;
  const auto start = std::chrono::steady_clock::now();
  {
    std::unique_ptr<AckReader> acks;
    if (options.qos == 1) acks = std::make_unique<AckReader>(fd);
    std::string batch;
    // Paced: one write per message, at its due time. Unpaced: batches of kBatchBytes, and at
    // QoS 1 no more than `window` unacknowledged messages.
    const size_t batch_bytes = options.rate > 0 ? 1 : kBatchBytes;
    long in_batch = 0;
    for (long k = 0; k < options.count && ok; ++k) {
      if (options.rate > 0) {
        std::this_thread::sleep_until(
            start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(static_cast<double>(k) / options.rate)));
      }
      Message& message = messages[static_cast<size_t>(k) % messages.size()];
      if (options.stamp_time && message.time_at != std::string::npos) {
        message.payload.replace(message.time_at, kTimeDigits, std::to_string(NowMillis()));
      }
      // A fresh QoS 1 batch (window / 2 messages) starts once at most window / 2 of the k
      // messages written are unacknowledged.
      if (acks && in_batch == 0 && !acks->WaitAcked(k, options.window / 2)) break;
      AppendPublish(&batch, message, options.qos, static_cast<uint16_t>(k % 65535 + 1));
      ++in_batch;
      if (batch.size() >= batch_bytes || (acks && in_batch >= options.window / 2)) {
        ok = ok && WriteAll(fd, batch);
        batch.clear();
        in_batch = 0;
      }
    }
    ok = ok && WriteAll(fd, batch);
    if (acks) ok = ok && acks->WaitAcked(options.count, 0);
    const std::string disconnect = {static_cast<char>(0xe0), 0x00};
    ok = ok && WriteAll(fd, disconnect);
    ::shutdown(fd, SHUT_WR);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::close(fd);
  if (!ok) {
    std::fprintf(stderr, "publisher: the connection to %s:%d broke\n", options.host.c_str(),
                 options.port);
    return 1;
  }
  std::printf("published %ld seconds %.3f rate %.0f\n", options.count, seconds,
              static_cast<double>(options.count) / seconds);
  return 0;
}
