#include "runtime/stop_signal.h"

#include <asio.hpp>
#include <csignal>
#include <thread>

namespace runnel {

class StopSignal::Impl {
 public:
  explicit Impl(std::function<void(int)> on_signal)
      : signals_(io_, SIGINT, SIGTERM), on_signal_(std::move(on_signal)) {
    Wait();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Impl() {
    io_.stop();
    thread_.join();
  }

 private:
  void Wait() {
    signals_.async_wait([this](const asio::error_code& error, int signal_number) {
      if (error) return;  // cancelled on shutdown
      on_signal_(signal_number);
      Wait();  // a second signal is delivered too (the callback may escalate)
    });
  }

  asio::io_context io_;
  asio::signal_set signals_;
  std::function<void(int)> on_signal_;
  std::thread thread_;
};

StopSignal::StopSignal(std::function<void(int)> on_signal)
    : impl_(std::make_unique<Impl>(std::move(on_signal))) {}

StopSignal::~StopSignal() = default;

}  // namespace runnel
