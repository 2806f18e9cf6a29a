// Dashboard: wires the web dashboard into a run. Puts a ChangeFeedTap on every stream's output,
// publishes telemetry snapshots from a step listener (at most every 250 ms), and serves them with
// a DashboardServer on [dashboard] listen until destroyed. Composition only.
// Threading: Start and the destructor on the thread that calls Dataflow::Run, before and after
// it; the step listener runs on the engine thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "app/pipeline_builder.h"
#include "config/pipeline_config.h"
#include "runtime/clock.h"
#include "runtime/logger.h"
#include "runtime/telemetry.h"
#include "web/dashboard_server.h"

namespace runnel {

class Dashboard {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  static constexpr std::chrono::milliseconds kPublishPeriod{250};

  // Reads the token file, taps the pipeline and starts serving; logs the dashboard's address.
  // Errors: Invalid for an unusable token file, IoError when the address cannot be served.
  static Result<std::unique_ptr<Dashboard>> Start(Pipeline& pipeline, const DashboardConfig& config,
                                                  Logger& logger);
  Dashboard(PrivateTag, Pipeline& pipeline, std::unique_ptr<Telemetry> telemetry);
  ~Dashboard();
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

 private:
  void Publish();

  Pipeline& pipeline_;
  std::unique_ptr<Telemetry> telemetry_;
  std::unique_ptr<DashboardServer> server_;
  SystemClock clock_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_publish_{};
  std::vector<uint64_t> last_records_;  // per source stream, for rates
  uint64_t steps_ = 0;
};

}  // namespace runnel
