// TlsFrontend: the dashboard's HTTPS listener. It terminates TLS (1.2 or newer) with OpenSSL and
// relays each connection's bytes to CivetWeb's plain listener on loopback. CivetWeb cannot do
// it itself here: Debian's CivetWeb 1.15 loads OpenSSL at run time and calls
// SSL_get_peer_certificate, which OpenSSL 3 no longer exports, so its own HTTPS crashes on the
// first request (civetweb/civetweb#1334). Threading: Start and the destructor on one thread;
// an accept thread and one relay thread per connection, all joined by the destructor.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/status.h"

struct ssl_ctx_st;

namespace runnel {

class TlsFrontend {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  static constexpr int kMaxConnections = 64;  // more are closed at once
  static constexpr int kHandshakeTimeoutMs = 10000;

  // Loads the certificate chain and key, listens on host:port (numeric IPv4; port 0 picks one)
  // and relays to 127.0.0.1:backend_port. Fails (IoError) with the reason, e.g. a key that
  // does not match the certificate or an address in use.
  static Result<std::unique_ptr<TlsFrontend>> Start(const std::string& host, int port,
                                                    const std::string& cert_file,
                                                    const std::string& key_file, int backend_port);
  TlsFrontend(PrivateTag, ssl_ctx_st* ctx, int listen_fd, int backend_port);
  ~TlsFrontend();
  TlsFrontend(const TlsFrontend&) = delete;
  TlsFrontend& operator=(const TlsFrontend&) = delete;

  // The port actually bound.
  int port() const { return port_; }

 private:
  struct Connection {
    int fd;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void AcceptLoop();
  void Relay(Connection* connection);

  ssl_ctx_st* const ctx_;
  const int listen_fd_;
  const int backend_port_;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};  // readable once the destructor runs: every poll() wakes
  std::thread acceptor_;
  std::mutex mu_;  // guards connections_
  std::list<Connection> connections_;
};

}  // namespace runnel
