// Generates the sensor readings used by the batch-aggregation benchmark: a CSV with header
// `device,ts,temp` (ts epoch milliseconds, temp with 2 decimals), devices reporting on a fixed
// period over about one day, lines in nominal time order with small per-reading jitter.
// Single-threaded. Integer arithmetic only, so the file is byte-identical for the same
// parameters on any machine.
//
// usage: gen_readings [--rows N] [--devices N] [--seed N] [--span-ms N] [--start-ms N] [--out PATH]

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Options {
  std::int64_t rows = 10'000'000;
  std::int64_t devices = 1000;
  std::uint64_t seed = 42;
  std::int64_t span_ms = 86'400'000;          // about one day of data
  std::int64_t start_ms = 1'704'067'200'000;  // 2024-01-01T00:00:00Z
  std::string out = "bench/data/readings_10m.csv";
};

// splitmix64: tiny, fast, and fully specified, so the data does not depend on the standard
// library's distributions.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform integer in [lo, hi].
  std::int64_t Uniform(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(Next() % static_cast<std::uint64_t>(hi - lo + 1));
  }

 private:
  std::uint64_t state_;
};

struct Device {
  char name[16];
  std::size_t name_len;
  std::int64_t base_centi;   // mean temperature, hundredths of a degree
  std::int64_t amp_centi;    // daily swing (half peak-to-peak)
  std::int64_t phase_ms;     // when in the day the device is warmest
  std::int64_t slot_ms;      // offset of this device inside each reporting period
};

[[noreturn]] void Usage(const char* msg) {
  std::fprintf(stderr,
               "gen_readings: %s\nusage: gen_readings [--rows N] [--devices N] [--seed N] "
               "[--span-ms N] [--start-ms N] [--out PATH]\n",
               msg);
  std::exit(2);
}

std::int64_t ParseInt(const char* s, const char* flag) {
  std::int64_t v = 0;
  const char* end = s + std::strlen(s);
  auto [p, ec] = std::from_chars(s, end, v);
  if (ec != std::errc() || p != end) Usage((std::string("bad value for ") + flag).c_str());
  return v;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) Usage("missing value");
    const char* v = argv[++i];
    if (a == "--rows") o.rows = ParseInt(v, "--rows");
    else if (a == "--devices") o.devices = ParseInt(v, "--devices");
    else if (a == "--seed") o.seed = static_cast<std::uint64_t>(ParseInt(v, "--seed"));
    else if (a == "--span-ms") o.span_ms = ParseInt(v, "--span-ms");
    else if (a == "--start-ms") o.start_ms = ParseInt(v, "--start-ms");
    else if (a == "--out") o.out = v;
    else Usage("unknown option");
  }
  if (o.rows < 1 || o.devices < 1 || o.devices > 99'999 || o.span_ms < 1) Usage("out of range");
  return o;
}

// Triangle wave over one day, in [-1000, 1000]: +1000 at t = 0, -1000 at half a day.
std::int64_t DailyShape(std::int64_t t_ms) {
  constexpr std::int64_t kDay = 86'400'000;
  std::int64_t x = ((t_ms % kDay) + kDay) % kDay;           // [0, day)
  std::int64_t d = x < kDay / 2 ? x : kDay - x;             // distance from peak, [0, day/2]
  return 1000 - (d * 4000) / kDay;                          // 1000 .. -1000
}

char* WriteCenti(char* p, std::int64_t centi) {
  if (centi < 0) {
    *p++ = '-';
    centi = -centi;
  }
  p = std::to_chars(p, p + 24, centi / 100).ptr;
  *p++ = '.';
  *p++ = static_cast<char>('0' + (centi / 10) % 10);
  *p++ = static_cast<char>('0' + centi % 10);
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = ParseArgs(argc, argv);
  Rng rng(opt.seed);

  const std::int64_t rounds = (opt.rows + opt.devices - 1) / opt.devices;
  const std::int64_t period_ms = std::max<std::int64_t>(1, opt.span_ms / rounds);
  const std::int64_t jitter_ms = std::max<std::int64_t>(0, std::min<std::int64_t>(1500, period_ms / 4));

  std::vector<Device> devices(static_cast<std::size_t>(opt.devices));
  for (std::int64_t d = 0; d < opt.devices; ++d) {
    Device& dev = devices[static_cast<std::size_t>(d)];
    int n = std::snprintf(dev.name, sizeof dev.name, "dev-%04lld", static_cast<long long>(d));
    dev.name_len = static_cast<std::size_t>(n);
    dev.base_centi = rng.Uniform(-500, 3000);      // -5.00 .. 30.00 degC: indoor and outdoor nodes
    dev.amp_centi = rng.Uniform(100, 800);         // 1 .. 8 degC daily swing
    dev.phase_ms = rng.Uniform(0, 86'399'999);
    dev.slot_ms = (period_ms * d) / opt.devices;   // spread devices over each period
  }

  std::FILE* f = std::fopen(opt.out.c_str(), "wb");
  if (f == nullptr) {
    std::perror(opt.out.c_str());
    return 1;
  }
  constexpr std::size_t kBuf = 1 << 22;
  std::vector<char> buf(kBuf + 256);
  char* p = buf.data();
  const char* flush_at = buf.data() + kBuf;
  static constexpr char kHeader[] = "device,ts,temp\n";
  std::memcpy(p, kHeader, sizeof kHeader - 1);
  p += sizeof kHeader - 1;

  std::int64_t written = 0;
  for (std::int64_t r = 0; r < rounds && written < opt.rows; ++r) {
    const std::int64_t nominal = opt.start_ms + r * period_ms;
    for (std::int64_t d = 0; d < opt.devices && written < opt.rows; ++d, ++written) {
      const Device& dev = devices[static_cast<std::size_t>(d)];
      const std::int64_t jitter = jitter_ms > 0 ? rng.Uniform(-jitter_ms, jitter_ms) : 0;
      const std::int64_t ts = nominal + dev.slot_ms + jitter;
      // Noise: sum of two uniforms (triangular), about +-0.60 degC.
      const std::int64_t noise = rng.Uniform(-30, 30) + rng.Uniform(-30, 30);
      const std::int64_t temp = dev.base_centi + (dev.amp_centi * DailyShape(ts - dev.phase_ms)) / 1000 + noise;

      std::memcpy(p, dev.name, dev.name_len);
      p += dev.name_len;
      *p++ = ',';
      p = std::to_chars(p, p + 24, ts).ptr;
      *p++ = ',';
      p = WriteCenti(p, temp);
      *p++ = '\n';
      if (p >= flush_at) {
        if (std::fwrite(buf.data(), 1, static_cast<std::size_t>(p - buf.data()), f) !=
            static_cast<std::size_t>(p - buf.data())) {
          std::perror("write");
          return 1;
        }
        p = buf.data();
      }
    }
  }
  const std::size_t rest = static_cast<std::size_t>(p - buf.data());
  if (std::fwrite(buf.data(), 1, rest, f) != rest || std::fclose(f) != 0) {
    std::perror("write");
    return 1;
  }
  std::fprintf(stderr, "gen_readings: %lld rows, %lld devices, period %lld ms, jitter +-%lld ms -> %s\n",
               static_cast<long long>(written), static_cast<long long>(opt.devices),
               static_cast<long long>(period_ms), static_cast<long long>(jitter_ms), opt.out.c_str());
  return 0;
}
