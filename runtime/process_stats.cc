#include "runtime/process_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

namespace runnel {

namespace {

double Seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; }

uint64_t ResidentBytes() {
  // statm's second field is the resident set in pages.
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int read = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  if (read != 2) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

ProcessTelemetry SampleProcess(std::chrono::steady_clock::time_point started) {
  ProcessTelemetry out;
  out.rss_bytes = ResidentBytes();
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    out.cpu_seconds = Seconds(usage.ru_utime) + Seconds(usage.ru_stime);
  }
  out.uptime_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

}  // namespace runnel
