// Generates the two inputs of the as-of join benchmark (docs/benchmarks.md, "As-of join"):
//   left  `key,ts,temp`: readings, every key reporting on a fixed period over one day, lines in
//         nominal time order with ±1.5 s jitter per reading (roughly, not strictly, sorted);
//   right `key,ts,gain`: calibration records, same keys, a 10× longer period, ±0.5 s jitter.
// Per key, timestamps are strictly increasing in both files (jitter < half the period), so the
// as-of match of every left row is unique and all engines must agree exactly.
// Single-threaded, integer arithmetic only: the files are byte-identical for the same
// parameters on any machine.
//
// usage: gen_asof [--left-rows N] [--right-rows N] [--keys N] [--seed N] [--span-ms N]
//                 [--start-ms N] --left PATH --right PATH

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Options {
  std::int64_t left_rows = 10'000'000;
  std::int64_t right_rows = 1'000'000;
  std::int64_t keys = 1000;
  std::uint64_t seed = 42;
  std::int64_t span_ms = 86'400'000;          // one day
  std::int64_t start_ms = 1'704'067'200'000;  // 2024-01-01T00:00:00Z
  std::string left;
  std::string right;
};

// splitmix64: fully specified, so the data does not depend on the standard library's
// distributions (same generator as gen_readings.cc).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform integer in [lo, hi]; the modulo bias is irrelevant for benchmark data.
  std::int64_t Uniform(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(Next() % static_cast<std::uint64_t>(hi - lo + 1));
  }

 private:
  std::uint64_t state_;
};

// Buffered writer: fwrite per line would dominate the generator's time.
class Writer {
 public:
  explicit Writer(const std::string& path) : file_(std::fopen(path.c_str(), "wb")) {
    if (file_ == nullptr) {
      std::perror(path.c_str());
      std::exit(1);
    }
    buf_.reserve(kChunk + 256);
  }
  ~Writer() {
    Flush();
    if (std::fclose(file_) != 0) {
      std::perror("fclose");
      std::exit(1);
    }
  }
  void Str(const char* s) { buf_.append(s); }
  void Int(std::int64_t v) {
    char tmp[24];
    auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
    buf_.append(tmp, r.ptr);
  }
  // Fixed-point value v / 10^digits, printed exactly (no floating point involved).
  void Fixed(std::int64_t v, int digits) {
    std::int64_t scale = 1;
    for (int i = 0; i < digits; ++i) scale *= 10;
    if (v < 0) {
      buf_.push_back('-');
      v = -v;
    }
    Int(v / scale);
    buf_.push_back('.');
    char tmp[24];
    std::snprintf(tmp, sizeof tmp, "%0*lld", digits, static_cast<long long>(v % scale));
    buf_.append(tmp);
  }
  void Key(std::int64_t k) {
    char tmp[32];
    std::snprintf(tmp, sizeof tmp, "k%04lld,", static_cast<long long>(k));
    buf_.append(tmp);
  }
  void EndLine() {
    buf_.push_back('\n');
    if (buf_.size() >= kChunk) Flush();
  }

 private:
  static constexpr std::size_t kChunk = 1 << 20;
  void Flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) {
      std::perror("fwrite");
      std::exit(1);
    }
    buf_.clear();
  }
  std::FILE* file_;
  std::string buf_;
};

std::int64_t ParseInt(const char* s) {
  char* end = nullptr;
  long long v = std::strtoll(s, &end, 10);
  if (end == s || *end != '\0' || v < 0) {
    std::fprintf(stderr, "gen_asof: bad number '%s'\n", s);
    std::exit(2);
  }
  return v;
}

// Writes rows lines for `keys` keys: row i is key i % keys, slot i / keys, nominal time
// start + slot * period + key * period / keys (keys spread over the period), plus jitter.
// value(key, rng) returns the fixed-point value column.
template <typename Value>
void WriteFile(const Options& o, const std::string& path, const char* header, std::int64_t rows,
               std::int64_t jitter_ms, int digits, Rng& rng, Value value) {
  const std::int64_t period = o.span_ms * o.keys / rows;
  if (period <= 2 * jitter_ms + 1) {
    std::fprintf(stderr, "gen_asof: period %lld ms too short for ±%lld ms jitter\n",
                 static_cast<long long>(period), static_cast<long long>(jitter_ms));
    std::exit(2);
  }
  Writer w(path);
  w.Str(header);
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::int64_t key = i % o.keys;
    const std::int64_t slot = i / o.keys;
    const std::int64_t ts = o.start_ms + slot * period + key * period / o.keys +
                            rng.Uniform(-jitter_ms, jitter_ms);
    w.Key(key);
    w.Int(ts);
    w.Str(",");
    w.Fixed(value(key, rng), digits);
    w.EndLine();
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "gen_asof: %s needs a value\n", a.c_str());
      return 2;
    }
    const char* v = argv[++i];
    if (a == "--left-rows") o.left_rows = ParseInt(v);
    else if (a == "--right-rows") o.right_rows = ParseInt(v);
    else if (a == "--keys") o.keys = ParseInt(v);
    else if (a == "--seed") o.seed = static_cast<std::uint64_t>(ParseInt(v));
    else if (a == "--span-ms") o.span_ms = ParseInt(v);
    else if (a == "--start-ms") o.start_ms = ParseInt(v);
    else if (a == "--left") o.left = v;
    else if (a == "--right") o.right = v;
    else {
      std::fprintf(stderr, "gen_asof: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (o.left.empty() || o.right.empty() || o.keys <= 0 || o.keys > 10000 || o.left_rows <= 0 ||
      o.right_rows <= 0) {
    std::fprintf(stderr, "usage: gen_asof [--left-rows N] [--right-rows N] [--keys N<=10000] "
                         "[--seed N] [--span-ms N] [--start-ms N] --left PATH --right PATH\n");
    return 2;
  }

  // Separate streams so changing one file's size does not change the other file.
  Rng left_rng(o.seed);
  Rng right_rng(o.seed ^ 0x5DEECE66Dull);

  // temp: per-key base (-5.00 … 30.00 °C) plus noise (±0.60), in hundredths.
  std::vector<std::int64_t> base(static_cast<std::size_t>(o.keys));
  for (auto& b : base) b = left_rng.Uniform(-500, 3000);
  WriteFile(o, o.left, "key,ts,temp\n", o.left_rows, 1500, 2, left_rng,
            [&](std::int64_t key, Rng& rng) {
              return base[static_cast<std::size_t>(key)] + rng.Uniform(-60, 60);
            });
  // gain: 0.9000 … 1.1000, in ten-thousandths.
  WriteFile(o, o.right, "key,ts,gain\n", o.right_rows, 500, 4, right_rng,
            [](std::int64_t, Rng& rng) { return rng.Uniform(9000, 11000); });
  return 0;
}
