#include "web/dashboard_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <thread>
#include <vector>

#include "web/api_documents.h"
#include "web/embedded_assets.h"
#include "web/http_auth.h"
#include "web/prometheus_text.h"
#include "web/query_string.h"
#include "web/tls_frontend.h"

namespace runnel {

namespace {

constexpr std::string_view kJson = "application/json";
// The pages load only their own embedded scripts and styles and talk only to this server.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

const char* Header(const mg_connection* conn, const char* name) {
  return mg_get_header(conn, name);
}

}  // namespace

struct DashboardServer::Request {
  mg_connection* conn;
  const mg_request_info* info;
  bool head;
  std::string_view query;

  std::optional<std::string> Param(std::string_view name) const {
    return TakeQueryParameter(query, name).value;
  }

  int Send(int status, std::string_view content_type, std::string_view body,
           const std::vector<std::pair<const char*, std::string>>& extra = {}) const {
    mg_response_header_start(conn, status);
    mg_response_header_add(conn, "Content-Type", std::string(content_type).c_str(), -1);
    mg_response_header_add(conn, "Content-Length", std::to_string(body.size()).c_str(), -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
    mg_response_header_add(conn, "Content-Security-Policy", kContentSecurityPolicy, -1);
    for (const auto& [name, value] : extra) mg_response_header_add(conn, name, value.c_str(), -1);
    mg_response_header_send(conn);
    if (!head) mg_write(conn, body.data(), body.size());
    return status;
  }

  int Json(std::string_view body) const { return Send(200, kJson, body); }

  int Error(int status, std::string_view code, std::string_view message,
            const std::vector<std::pair<const char*, std::string>>& extra = {}) const {
    return Send(status, kJson, ErrorDocument(status, code, message), extra);
  }
};

Result<std::unique_ptr<DashboardServer>> DashboardServer::Start(
    const DashboardServerOptions& options, const Telemetry& telemetry, Logger& logger) {
  auto server = std::make_unique<DashboardServer>(PrivateTag(), options, telemetry, logger);
  const bool tls = options.cert_file && options.key_file;
  if (!options.state_database_path.empty()) {
    RUNNEL_ASSIGN_OR_RETURN(server->rejects_, RejectsReader::Open(options.state_database_path));
  }

  static std::once_flag library_once;
  std::call_once(library_once, [] { mg_init_library(MG_FEATURES_WEBSOCKET); });

  std::string listen = options.listen;
  // CivetWeb takes numeric addresses only.
  if (listen.starts_with("localhost:")) listen = "127.0.0.1" + listen.substr(9);
  const std::string host = listen.substr(0, listen.rfind(':'));
  // With TLS, CivetWeb serves plain HTTP on loopback behind the TLS frontend (tls_frontend.h).
  const std::string civet_listen = tls ? "127.0.0.1:0" : listen;
  const std::string max_request = std::to_string(kMaxRequestBytes);
  const char* civet_options[] = {"listening_ports", civet_listen.c_str(), "num_threads", "40",
                                 "request_timeout_ms", "10000", "max_request_size",
                                 max_request.c_str(), "enable_keep_alive", "yes",
                                 // Headers and body go out in two writes: without this, Nagle's
                                 // algorithm and delayed ACKs add 40 ms to each response.
                                 "tcp_nodelay", "1", "websocket_timeout_ms", "30000",
                                 "enable_websocket_ping_pong", "yes", nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = &DashboardServer::OnLogMessage;
  server->live_ = std::make_unique<LiveUpdates>(telemetry);
  server->context_ = mg_start(&callbacks, server.get(), civet_options);
  if (server->context_ == nullptr) {
    std::lock_guard lock(server->mu_);
    return Status::IoError("dashboard: cannot serve on " + options.listen + ": " +
                           (server->last_civetweb_error_.empty() ? "CivetWeb failed to start"
                                                                 : server->last_civetweb_error_) +
                           " (choose another [dashboard] listen address, or run with "
                           "--no-dashboard)");
  }
  mg_set_request_handler(server->context_, "/", &DashboardServer::OnRequest, server.get());
  mg_set_websocket_handler(server->context_, "/api/v1/live", &DashboardServer::OnWebSocketConnect,
                           &DashboardServer::OnWebSocketReady, &DashboardServer::OnWebSocketData,
                           &DashboardServer::OnWebSocketClose, server.get());

  mg_server_port ports[4] = {};
  const int n = mg_get_server_ports(server->context_, 4, ports);
  int port = n > 0 ? ports[0].port : 0;
  server->port_ = port;
  const std::string wake_host = host == "0.0.0.0" || tls ? "127.0.0.1" : host;
  in_addr wake{};
  server->listen_address_ =
      inet_pton(AF_INET, wake_host.c_str(), &wake) == 1 ? wake.s_addr : htonl(INADDR_LOOPBACK);
  if (tls) {
    const auto colon = listen.rfind(':');
    const int public_port = std::atoi(listen.c_str() + colon + 1);
    auto frontend =
        TlsFrontend::Start(host, public_port, *options.cert_file, *options.key_file, port);
    if (!frontend.ok()) return Status::IoError("dashboard: " + frontend.status().message());
    server->tls_frontend_ = std::move(*frontend);
    port = server->tls_frontend_->port();
  }
  server->url_ = std::string(tls ? "https://" : "http://") +
                 (host == "0.0.0.0" ? "127.0.0.1" : host) + ":" + std::to_string(port) + "/";
  return server;
}

DashboardServer::DashboardServer(PrivateTag, const DashboardServerOptions& options,
                                 const Telemetry& telemetry, Logger& logger)
    : options_(options), telemetry_(telemetry), logger_(logger) {}

DashboardServer::~DashboardServer() {
  tls_frontend_.reset();  // no new connections, and the relayed ones end
  // mg_stop closes every connection (WebSocket close handlers remove their clients) and joins
  // CivetWeb's threads; then no callback can reach this object. Its listening thread only
  // notices the stop when poll() returns, which it does after 2 s unless a connection wakes it:
  // connecting to ourselves makes a run end at once.
  if (context_ != nullptr) {
    std::atomic<bool> stopped{false};
    std::thread stopper([this, &stopped] {
      mg_stop(context_);
      stopped = true;
    });
    while (!stopped) {
      WakeListener();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stopper.join();
  }
  live_.reset();
}

void DashboardServer::WakeListener() const {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port_));
  address.sin_addr.s_addr = listen_address_;
  // Failure is fine: the listener may already be closed.
  (void)connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  close(fd);
}

int DashboardServer::OnLogMessage(const mg_connection* conn, const char* message) {
  const mg_context* ctx = mg_get_context(conn);
  auto* self = ctx ? static_cast<DashboardServer*>(mg_get_user_data(ctx)) : nullptr;
  if (self != nullptr) {
    std::lock_guard lock(self->mu_);
    self->last_civetweb_error_ = message;
  }
  return 1;  // handled: CivetWeb does not print it
}

int DashboardServer::OnRequest(mg_connection* conn, void* self) {
  auto* server = static_cast<DashboardServer*>(self);
  try {
    return server->Handle(conn);
  } catch (const std::exception& e) {
    server->logger_.Error(std::string("dashboard: request failed: ") + e.what());
    const Request request{conn, mg_get_request_info(conn), false, {}};
    return request.Error(500, "internal", std::string("internal error: ") + e.what());
  }
}

int DashboardServer::Handle(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  const std::string_view method = info->request_method ? info->request_method : "";
  Request request{conn, info, method == "HEAD", info->query_string ? info->query_string : ""};
  // request_uri is already URL-decoded, so "%2e%2e" shows up here as "..".
  const std::string_view raw = info->request_uri ? info->request_uri : "";
  if (raw.find("..") != std::string_view::npos || raw.find('\\') != std::string_view::npos) {
    return request.Error(400, "bad_path", "the path may not contain '..' or '\\'");
  }
  const std::string path = info->local_uri ? info->local_uri : "/";
  if (method != "GET" && method != "HEAD") {
    return request.Error(405, "method_not_allowed",
                         "only GET and HEAD are served, not " + std::string(method),
                         {{"Allow", "GET, HEAD"}});
  }
  if (info->content_length > 0) {
    return request.Error(413, "body_too_large", "requests to the dashboard carry no body");
  }
  if (path == "/healthz") return request.Send(200, "text/plain; charset=utf-8", "ok\n");

  int status = 0;
  if (!Authorize(request, &status)) return status;

  if (path == "/metrics") {
    return request.Send(200, "text/plain; version=0.0.4; charset=utf-8",
                        PrometheusText(telemetry_.Latest().get(), live_->stats()));
  }
  if (path.starts_with("/api/")) {
    if (!path.starts_with("/api/v1/")) {
      return request.Error(404, "not_found", "the API lives under /api/v1/ (see docs/api.md)");
    }
    return HandleApi(request, path.substr(8));
  }
  const EmbeddedAsset* asset = FindEmbeddedAsset(path == "/index.html" ? "/" : path);
  if (asset == nullptr) {
    return request.Error(404, "not_found", "no page at " + path + " (the dashboard is at /)");
  }
  return request.Send(200, asset->content_type, asset->data);
}

bool DashboardServer::HasValidToken(const mg_connection* conn) const {
  if (!options_.token) return true;
  if (const char* auth = Header(conn, "Authorization")) {
    const auto token = BearerToken(auth);
    if (token && ConstantTimeEquals(*token, *options_.token)) return true;
  }
  if (const char* cookie = Header(conn, "Cookie")) {
    const auto token = CookieValue(cookie, kTokenCookie);
    if (token && ConstantTimeEquals(*token, *options_.token)) return true;
  }
  return false;
}

bool DashboardServer::Authorize(const Request& request, int* status) {
  if (!options_.token) return true;
  const QueryParameter from_query = TakeQueryParameter(request.query, "token");
  if (from_query.value && ConstantTimeEquals(*from_query.value, *options_.token)) {
    // The browser keeps the token in an HttpOnly cookie and the address bar loses it.
    std::string cookie =
        std::string(kTokenCookie) + "=" + *options_.token + "; Path=/; HttpOnly; SameSite=Strict";
    if (tls_frontend_) cookie += "; Secure";
    std::string location = request.info->local_uri ? request.info->local_uri : "/";
    if (!from_query.rest.empty()) location += "?" + from_query.rest;
    *status = request.Send(303, "text/plain; charset=utf-8", "",
                           {{"Location", location}, {"Set-Cookie", cookie}});
    return false;
  }
  if (HasValidToken(request.conn)) return true;
  *status = request.Error(401, "unauthorized",
                          "this dashboard needs its token: send 'Authorization: Bearer TOKEN', or "
                          "open the page once as /?token=TOKEN (the token is in the file named by "
                          "[dashboard] token_file)",
                          {{"WWW-Authenticate", "Bearer realm=\"runnel\""}});
  return false;
}

int DashboardServer::HandleApi(const Request& request, const std::string& path) {
  const auto snapshot = telemetry_.Latest();
  if (path == "status") return request.Json(StatusDocument(telemetry_, snapshot.get()));
  if (path == "sources") return request.Json(SourcesDocument(telemetry_, snapshot.get()));
  if (path == "views") return request.Json(ViewsDocument(telemetry_, snapshot.get()));
  if (path == "graph") return request.Json(GraphDocument(telemetry_));
  if (path == "devices") return request.Json(DevicesDocument(telemetry_));
  if (path == "rejects") return HandleRejects(request);
  if (path == "live") {
    return request.Error(400, "websocket_required",
                         "/api/v1/live is a WebSocket: connect with a WebSocket client");
  }
  // sources/NAME, views/NAME, and either followed by /rows.
  for (const std::string_view collection : {"sources/", "views/"}) {
    if (!path.starts_with(collection)) continue;
    std::string name = path.substr(collection.size());
    const bool rows = name.ends_with("/rows");
    if (rows) name.resize(name.size() - 5);
    const StreamShape* stream = telemetry_.FindStream(name);
    const bool is_source = collection == "sources/";
    if (stream == nullptr || (stream->kind == "source") != is_source) {
      return request.Error(404, "not_found",
                           std::string("no ") + (is_source ? "source" : "view") + " named '" +
                               name + "' (GET /api/v1/" + (is_source ? "sources" : "views") +
                               " lists them)");
    }
    if (rows) return HandleRows(request, *stream);
    return request.Json(StreamDocument(telemetry_, snapshot.get(), *stream));
  }
  return request.Error(404, "not_found", "no API endpoint /api/v1/" + path + " (see docs/api.md)");
}

namespace {

// A non-negative integer query parameter within [min, max]; `fallback` when absent.
Result<uint64_t> CountParam(const std::optional<std::string>& text, std::string_view name,
                            uint64_t fallback, uint64_t min, uint64_t max) {
  if (!text) return fallback;
  uint64_t value = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (text->empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    return Status::Invalid(std::string(name) + " must be an integer from " + std::to_string(min) +
                           " to " + std::to_string(max) + ", got '" + *text + "'");
  }
  return value;
}

}  // namespace

int DashboardServer::HandleRows(const Request& request, const StreamShape& stream) {
  const auto limit = CountParam(request.Param("limit"), "limit", kDefaultLimit, 1, kMaxLimit);
  if (!limit.ok()) return request.Error(400, "bad_parameter", limit.status().message());
  const auto since_text = request.Param("since");
  const ChangeFeed* feed = telemetry_.feed(stream.name);
  if (!since_text) return request.Json(RowsDocument(stream, feed->CurrentRows(*limit)));
  const auto since = CountParam(since_text, "since", 0, 0, UINT64_MAX);
  if (!since.ok()) return request.Error(400, "bad_parameter", since.status().message());
  return request.Json(ChangesDocument(stream, feed->ReadSince(*since, *limit)));
}

int DashboardServer::HandleRejects(const Request& request) {
  const auto limit = CountParam(request.Param("limit"), "limit", kDefaultLimit, 1, kMaxLimit);
  if (!limit.ok()) return request.Error(400, "bad_parameter", limit.status().message());
  const auto before = CountParam(request.Param("before"), "before", 0, 0, INT64_MAX);
  if (!before.ok()) return request.Error(400, "bad_parameter", before.status().message());
  if (!rejects_) return request.Json(RejectsDocument({}));
  auto rejects =
      rejects_->Recent(request.Param("source").value_or(""), static_cast<int64_t>(*before), *limit);
  if (!rejects.ok()) {
    logger_.Warning("dashboard: " + rejects.status().message());
    return request.Error(503, "storage_unavailable", rejects.status().message());
  }
  return request.Json(RejectsDocument(*rejects));
}

int DashboardServer::OnWebSocketConnect(const mg_connection* conn, void* self) {
  auto* server = static_cast<DashboardServer*>(self);
  try {
    if (!server->HasValidToken(conn)) return 1;  // refused: CivetWeb closes the connection
    const mg_request_info* info = mg_get_request_info(conn);
    const std::string_view query = info->query_string ? info->query_string : "";
    LiveConnection live;
    if (auto view = TakeQueryParameter(query, "view").value) {
      live.view = server->telemetry_.FindStream(*view);
      if (live.view == nullptr) return 1;
      live.since = server->telemetry_.feed(*view)->last_sequence();
    }
    if (auto since = TakeQueryParameter(query, "since").value) {
      auto parsed = CountParam(since, "since", 0, 0, UINT64_MAX);
      if (!parsed.ok()) return 1;
      live.since = *parsed;
    }
    std::lock_guard lock(server->mu_);
    server->live_connections_[conn] = live;
    return 0;
  } catch (const std::exception& e) {
    server->logger_.Error(std::string("dashboard: WebSocket connect failed: ") + e.what());
    return 1;
  }
}

void DashboardServer::OnWebSocketReady(mg_connection* conn, void* self) {
  auto* server = static_cast<DashboardServer*>(self);
  try {
    LiveConnection live;
    {
      std::lock_guard lock(server->mu_);
      live = server->live_connections_[conn];
    }
    const uint64_t id = server->live_->Add(
        live.view, live.since,
        [conn](std::string_view message) {
          return mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_TEXT, message.data(),
                                    message.size()) > 0;
        },
        [conn] { mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, "", 0); });
    if (id == 0) {
      mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, "", 0);
      return;
    }
    std::lock_guard lock(server->mu_);
    server->live_connections_[conn].id = id;
  } catch (const std::exception& e) {
    server->logger_.Error(std::string("dashboard: WebSocket setup failed: ") + e.what());
  }
}

int DashboardServer::OnWebSocketData(mg_connection* /*conn*/, int bits, char* /*data*/,
                                     size_t /*size*/, void* /*self*/) {
  // Clients only listen; a close frame ends the connection.
  return (bits & 0x0f) == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE ? 0 : 1;
}

void DashboardServer::OnWebSocketClose(const mg_connection* conn, void* self) {
  auto* server = static_cast<DashboardServer*>(self);
  try {
    uint64_t id = 0;
    {
      std::lock_guard lock(server->mu_);
      auto it = server->live_connections_.find(conn);
      if (it == server->live_connections_.end()) return;
      id = it->second.id;
      server->live_connections_.erase(it);
    }
    if (id != 0) server->live_->Remove(id);
  } catch (const std::exception& e) {
    server->logger_.Error(std::string("dashboard: WebSocket close failed: ") + e.what());
  }
}

}  // namespace runnel
