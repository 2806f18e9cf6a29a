// DashboardServer: the HTTP(S) server of the web dashboard (CivetWeb): embedded pages, the JSON
// API under /api/v1/, WebSocket live updates, Prometheus /metrics and /healthz (docs/api.md).
// Handlers read telemetry snapshots and change feeds, and rejected payloads through their own
// read-only SQLite connection; they never touch operator state. Nothing thrown escapes a
// CivetWeb callback. Threading: Start and the destructor on one thread; CivetWeb's worker
// threads run the handlers.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "runtime/logger.h"
#include "runtime/status.h"
#include "runtime/telemetry.h"
#include "storage/rejects_reader.h"
#include "web/live_updates.h"
#include "web/tls_frontend.h"

struct mg_context;
struct mg_connection;

namespace runnel {

struct DashboardServerOptions {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free port
  std::optional<std::string> token;       // when set, every request but /healthz needs it
  std::optional<std::string> cert_file;   // HTTPS when both are set
  std::optional<std::string> key_file;
  std::string state_database_path;  // for rejected payloads; empty: the rejects API is empty
};

class DashboardServer {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  static constexpr size_t kMaxRequestBytes = 8192;  // request line and headers
  static constexpr size_t kDefaultLimit = 100;
  static constexpr size_t kMaxLimit = 1000;

  // Listens and serves until destroyed. Fails (IoError) when the address cannot be bound or
  // the certificate cannot be loaded. REQUIRES: `telemetry` and `logger` outlive the server.
  static Result<std::unique_ptr<DashboardServer>> Start(const DashboardServerOptions& options,
                                                        const Telemetry& telemetry, Logger& logger);
  DashboardServer(PrivateTag, const DashboardServerOptions& options, const Telemetry& telemetry,
                  Logger& logger);
  ~DashboardServer();
  DashboardServer(const DashboardServer&) = delete;
  DashboardServer& operator=(const DashboardServer&) = delete;

  // "http://127.0.0.1:8080/" with the port actually bound.
  const std::string& url() const { return url_; }

 private:
  struct Request;
  struct LiveConnection {
    const StreamShape* view = nullptr;
    uint64_t since = 0;
    uint64_t id = 0;
  };

  // CivetWeb callbacks (C trampolines to the members below).
  static int OnRequest(mg_connection* conn, void* self);
  static int OnLogMessage(const mg_connection* conn, const char* message);
  static int OnWebSocketConnect(const mg_connection* conn, void* self);
  static void OnWebSocketReady(mg_connection* conn, void* self);
  static int OnWebSocketData(mg_connection* conn, int bits, char* data, size_t size, void* self);
  static void OnWebSocketClose(const mg_connection* conn, void* self);

  int Handle(mg_connection* conn);
  int HandleApi(const Request& request, const std::string& path);
  int HandleRows(const Request& request, const StreamShape& stream);
  int HandleRejects(const Request& request);
  // Whether the request carries the token (always true without one); may answer it (401, or
  // a redirect that turns ?token= into a cookie) and then returns false.
  bool Authorize(const Request& request, int* status);
  bool HasValidToken(const mg_connection* conn) const;
  // Connects to the listening socket, so that CivetWeb's poll() returns (see the destructor).
  void WakeListener() const;

  const DashboardServerOptions options_;
  const Telemetry& telemetry_;
  Logger& logger_;
  std::unique_ptr<RejectsReader> rejects_;
  std::unique_ptr<LiveUpdates> live_;
  mg_context* context_ = nullptr;
  std::unique_ptr<TlsFrontend> tls_frontend_;  // HTTPS: in front of CivetWeb's listener
  std::string url_;
  int port_ = 0;                 // CivetWeb's own listener (behind the TLS frontend with HTTPS)
  uint32_t listen_address_ = 0;  // network byte order
  std::mutex mu_;                // guards what follows
  std::string last_civetweb_error_;
  std::map<const mg_connection*, LiveConnection> live_connections_;
};

}  // namespace runnel
