#include "web/tls_frontend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace runnel {

namespace {

// A client that stops reading for this long is dropped (CivetWeb's own WebSocket timeout).
constexpr int kWriteTimeoutMs = 30000;

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "no OpenSSL error recorded";
  char reason[256];
  ERR_error_string_n(code, reason, sizeof(reason));
  ERR_clear_error();
  return reason;
}

bool SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

void SetNoDelay(int fd) {
  // Responses go out in small writes: without this, Nagle's algorithm adds delayed-ACK waits.
  const int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// Waits until `fd` has one of `events`; false on a stop, a timeout or an error.
bool WaitFor(int fd, short events, int stop_fd, int timeout_ms) {
  pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
  for (;;) {
    const int n = poll(fds, 2, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    return n > 0 && fds[1].revents == 0 && fds[0].revents != 0;
  }
}

// After an SSL call that returned `result`: waits for what OpenSSL needs to go on; false when
// the connection is over.
bool WaitForTls(SSL* ssl, int result, int fd, int stop_fd, int timeout_ms) {
  switch (SSL_get_error(ssl, result)) {
    case SSL_ERROR_WANT_READ:
      return WaitFor(fd, POLLIN, stop_fd, timeout_ms);
    case SSL_ERROR_WANT_WRITE:
      return WaitFor(fd, POLLOUT, stop_fd, timeout_ms);
    default:
      return false;
  }
}

bool SendAll(int fd, const char* data, size_t size, int stop_fd) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN && WaitFor(fd, POLLOUT, stop_fd, kWriteTimeoutMs)) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

bool TlsWriteAll(SSL* ssl, int fd, const char* data, size_t size, int stop_fd) {
  while (size > 0) {
    const int n = SSL_write(ssl, data, static_cast<int>(size));
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
    } else if (!WaitForTls(ssl, n, fd, stop_fd, kWriteTimeoutMs)) {
      return false;
    }
  }
  return true;
}

int ConnectToBackend(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      !SetNonBlocking(fd)) {
    close(fd);
    return -1;
  }
  SetNoDelay(fd);
  return fd;
}

}  // namespace

Result<std::unique_ptr<TlsFrontend>> TlsFrontend::Start(const std::string& host, int port,
                                                        const std::string& cert_file,
                                                        const std::string& key_file,
                                                        int backend_port) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Status::IoError("cannot set up TLS: " + OpenSslError());
  const auto fail = [ctx](const std::string& message) {
    SSL_CTX_free(ctx);
    return Status::IoError(message);
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return fail("cannot load cert_file " + cert_file + ": " + OpenSslError() +
                " (it must hold the server certificate in PEM, then any intermediates)");
  }
  // This also checks that the key belongs to the certificate ("key values mismatch").
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail("cannot load key_file " + key_file + ": " + OpenSslError() +
                " (it must hold the private key of cert_file " + cert_file +
                " in PEM, unencrypted)");
  }

  const std::string where = host + ":" + std::to_string(port);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    return fail("cannot serve HTTPS on " + where +
                ": not a numeric IPv4 address (use e.g. 0.0.0.0 or 127.0.0.1)");
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, 128) != 0) {
    const std::string reason = std::strerror(errno);
    if (fd >= 0) close(fd);
    return fail("cannot serve on " + where + ": " + reason +
                " (choose another [dashboard] listen address, or run with --no-dashboard)");
  }
  auto frontend = std::make_unique<TlsFrontend>(PrivateTag(), ctx, fd, backend_port);
  sockaddr_in bound{};
  socklen_t length = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0 ||
      pipe2(frontend->stop_pipe_, O_CLOEXEC) != 0) {
    return Status::IoError(std::string("cannot serve HTTPS on ") + where + ": " +
                           std::strerror(errno));
  }
  frontend->port_ = ntohs(bound.sin_port);
  frontend->acceptor_ = std::thread(&TlsFrontend::AcceptLoop, frontend.get());
  return frontend;
}

TlsFrontend::TlsFrontend(PrivateTag, ssl_ctx_st* ctx, int listen_fd, int backend_port)
    : ctx_(ctx), listen_fd_(listen_fd), backend_port_(backend_port) {}

TlsFrontend::~TlsFrontend() {
  if (stop_pipe_[1] >= 0) {
    // Never read: the pipe stays readable, so every poll() on it returns from now on.
    [[maybe_unused]] const ssize_t n = write(stop_pipe_[1], "x", 1);
  }
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard lock(mu_);
    for (Connection& c : connections_) {
      if (c.fd >= 0) shutdown(c.fd, SHUT_RDWR);
    }
  }
  for (Connection& c : connections_) c.thread.join();
  close(listen_fd_);
  for (const int fd : stop_pipe_) {
    if (fd >= 0) close(fd);
  }
  SSL_CTX_free(ctx_);
}

void TlsFrontend::AcceptLoop() {
  for (;;) {
    if (!WaitFor(listen_fd_, POLLIN, stop_pipe_[0], -1)) return;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      // The client gave up, or no descriptor is free for now: try again shortly.
      if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      continue;
    }
    std::lock_guard lock(mu_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      if (it->done) {
        it->thread.join();
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
    if (connections_.size() >= static_cast<size_t>(kMaxConnections)) {
      close(fd);
      continue;
    }
    SetNoDelay(fd);
    Connection& c = connections_.emplace_back();
    c.fd = fd;
    c.thread = std::thread(&TlsFrontend::Relay, this, &c);
  }
}

void TlsFrontend::Relay(Connection* c) {
  // A peer that went away makes a write fail with EPIPE instead of ending the process.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);

  const int stop = stop_pipe_[0];
  SSL* ssl = SSL_new(ctx_);
  int backend = -1;
  const auto relay = [&] {
    if (ssl == nullptr || SSL_set_fd(ssl, c->fd) != 1 || !SetNonBlocking(c->fd)) return;
    for (;;) {
      const int result = SSL_accept(ssl);
      if (result == 1) break;
      if (!WaitForTls(ssl, result, c->fd, stop, kHandshakeTimeoutMs)) return;
    }
    backend = ConnectToBackend(backend_port_);
    if (backend < 0) return;
    char buffer[16384];
    for (;;) {
      // Decrypted bytes may wait inside OpenSSL rather than on the socket: drain them first.
      for (;;) {
        const int n = SSL_read(ssl, buffer, sizeof(buffer));
        if (n > 0) {
          if (!SendAll(backend, buffer, static_cast<size_t>(n), stop)) return;
          continue;
        }
        const int error = SSL_get_error(ssl, n);
        if (error == SSL_ERROR_WANT_READ) break;
        if (error != SSL_ERROR_WANT_WRITE || !WaitFor(c->fd, POLLOUT, stop, kWriteTimeoutMs)) {
          return;  // closed by the client, or failed
        }
      }
      pollfd fds[3] = {{c->fd, POLLIN, 0}, {backend, POLLIN, 0}, {stop, POLLIN, 0}};
      if (poll(fds, 3, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[2].revents != 0) return;
      if (fds[1].revents != 0) {
        const ssize_t n = recv(backend, buffer, sizeof(buffer), 0);
        if (n == 0) return;  // CivetWeb closed the connection
        if (n < 0) {
          if (errno == EINTR || errno == EAGAIN) continue;
          return;
        }
        if (!TlsWriteAll(ssl, c->fd, buffer, static_cast<size_t>(n), stop)) return;
      }
    }
  };
  relay();
  if (ssl != nullptr) {
    (void)SSL_shutdown(ssl);  // best effort: the close_notify alert
    SSL_free(ssl);
  }
  ERR_clear_error();  // this thread's OpenSSL error queue
  if (backend >= 0) close(backend);
  std::lock_guard lock(mu_);
  close(c->fd);
  c->fd = -1;
  c->done = true;
}

}  // namespace runnel
