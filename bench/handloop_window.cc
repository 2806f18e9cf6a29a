// The practical limit for the batch-aggregation benchmark: a minimal, single-threaded,
// hand-written C++ program computing 1-minute tumbling windows per device (avg, min, max,
// count of temp) over a `device,ts,temp` CSV. Reads the file in large chunks, parses each
// line with memchr + std::from_chars, aggregates into an open-addressing hash map keyed by
// (device, window), and writes the result sorted by (device, window_start) in the column
// layout of Runnel's window views (SPEC §4) without the changelog `diff` column.
// Each device keeps its most recent window's partial aggregate next to its name and merges it
// into the hash map when a record for another window arrives: correct for any input order,
// and for roughly time-ordered input it touches the (large, cache-cold) map once per window
// instead of once per record. Phase timings go to stderr.
//
// usage: handloop_window INPUT.csv OUTPUT.csv [--window-ms N]

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::uint64_t HashBytes(const char* p, std::size_t n) {
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
  }
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 32);
}

struct Partial {
  std::int64_t window;
  std::int64_t count;  // 0: no open window
  double sum;
  double min;
  double max;
};

// Interns device names to dense ids.
class DeviceTable {
 public:
  DeviceTable() : slots_(1024, kEmpty) {}

  std::uint32_t Intern(std::string_view name) {
    const std::uint64_t h = HashBytes(name.data(), name.size());
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const std::uint32_t id = slots_[i];
      if (id == kEmpty) break;
      if (names_[id] == name) return id;
    }
    const auto id = static_cast<std::uint32_t>(names_.size());
    names_.emplace_back(name);
    open_.push_back(Partial{0, 0, 0, 0, 0});
    if (names_.size() * 2 > slots_.size()) {
      Rehash(slots_.size() * 2);
    } else {
      Place(id, h);
    }
    return id;
  }

  const std::vector<std::string>& names() const { return names_; }
  Partial& open(std::uint32_t id) { return open_[id]; }

 private:
  static constexpr std::uint32_t kEmpty = std::numeric_limits<std::uint32_t>::max();

  void Place(std::uint32_t id, std::uint64_t h) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = h & mask;
    while (slots_[i] != kEmpty) i = (i + 1) & mask;
    slots_[i] = id;
  }
  void Rehash(std::size_t n) {
    slots_.assign(n, kEmpty);
    for (std::uint32_t id = 0; id < names_.size(); ++id) {
      Place(id, HashBytes(names_[id].data(), names_[id].size()));
    }
  }

  std::vector<std::string> names_;
  std::vector<Partial> open_;  // by id: the device's most recent window, not yet in the map
  std::vector<std::uint32_t> slots_;
};

struct Group {
  std::int64_t window;  // floor(ts / window_ms)
  std::int64_t count;
  double sum;
  double min;
  double max;
  std::uint32_t device;  // kFree when the slot is empty
};

// Open addressing with linear probing, power-of-two capacity, grows at 70 % load.
class GroupTable {
 public:
  static constexpr std::uint32_t kFree = std::numeric_limits<std::uint32_t>::max();

  GroupTable() { slots_.assign(1 << 16, Group{0, 0, 0, 0, 0, kFree}); shift_ = 64 - 16; }

  void Merge(std::uint32_t device, const Partial& p) {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = Slot(device, p.window);; i = (i + 1) & mask) {
      Group& g = slots_[i];
      if (g.device == device && g.window == p.window) {
        g.count += p.count;
        g.sum += p.sum;
        g.min = std::min(g.min, p.min);
        g.max = std::max(g.max, p.max);
        return;
      }
      if (g.device == kFree) {
        g = Group{p.window, p.count, p.sum, p.min, p.max, device};
        if (++size_ * 10 > slots_.size() * 7) Grow();
        return;
      }
    }
  }

  // Moves the groups out densely (so sorting and writing stream through memory) and empties
  // the table.
  std::vector<Group> TakeGroups() {
    std::vector<Group> groups;
    groups.reserve(size_);
    for (const Group& g : slots_) {
      if (g.device != kFree) groups.push_back(g);
    }
    std::vector<Group>().swap(slots_);
    size_ = 0;
    return groups;
  }

 private:
  std::size_t Slot(std::uint32_t device, std::int64_t window) const {
    std::uint64_t h = static_cast<std::uint64_t>(window) * 0x9E3779B97F4A7C15ull +
                      static_cast<std::uint64_t>(device) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ull;
    return static_cast<std::size_t>(h >> shift_);
  }
  void Grow() {
    std::vector<Group> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, Group{0, 0, 0, 0, 0, kFree});
    --shift_;
    const std::size_t mask = slots_.size() - 1;
    for (const Group& g : old) {
      if (g.device == kFree) continue;
      std::size_t i = Slot(g.device, g.window);
      while (slots_[i].device != kFree) i = (i + 1) & mask;
      slots_[i] = g;
    }
  }

  std::vector<Group> slots_;
  std::size_t size_ = 0;
  int shift_;
};

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

class Writer {
 public:
  explicit Writer(std::FILE* f) : f_(f), buf_(1 << 22) {}
  void Put(std::string_view s) {
    Reserve(s.size());
    std::memcpy(buf_.data() + len_, s.data(), s.size());
    len_ += s.size();
  }
  void Put(char c) {
    Reserve(1);
    buf_[len_++] = c;
  }
  template <class T>
  void Num(T v) {
    Reserve(32);
    len_ = static_cast<std::size_t>(std::to_chars(buf_.data() + len_, buf_.data() + len_ + 32, v).ptr -
                                    buf_.data());
  }
  bool Flush() {
    bool ok = std::fwrite(buf_.data(), 1, len_, f_) == len_;
    len_ = 0;
    return ok;
  }

 private:
  void Reserve(std::size_t n) {
    if (len_ + n > buf_.size()) Flush();
  }
  std::FILE* f_;
  std::vector<char> buf_;
  std::size_t len_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 5) {
    std::fprintf(stderr, "usage: handloop_window INPUT.csv OUTPUT.csv [--window-ms N]\n");
    return 2;
  }
  std::int64_t window_ms = 60'000;
  if (argc == 5) {
    if (std::strcmp(argv[3], "--window-ms") != 0 ||
        std::from_chars(argv[4], argv[4] + std::strlen(argv[4]), window_ms).ec != std::errc() ||
        window_ms <= 0) {
      std::fprintf(stderr, "handloop_window: bad --window-ms\n");
      return 2;
    }
  }

  using Clock = std::chrono::steady_clock;
  const auto t_start = Clock::now();
  const int fd = ::open(argv[1], O_RDONLY);
  if (fd < 0) {
    std::perror(argv[1]);
    return 1;
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  DeviceTable devices;
  GroupTable groups;
  std::int64_t rows = 0;
  std::int64_t bad = 0;
  bool header = true;

  constexpr std::size_t kChunk = 8 << 20;
  std::vector<char> buf(kChunk);
  std::size_t have = 0;  // bytes of an unfinished line carried over from the previous chunk
  for (;;) {
    if (have == buf.size()) buf.resize(buf.size() * 2);  // a line longer than the buffer
    const ssize_t n = ::read(fd, buf.data() + have, buf.size() - have);
    if (n < 0) {
      std::perror("read");
      return 1;
    }
    const bool eof = n == 0;
    const char* p = buf.data();
    const char* end = buf.data() + have + static_cast<std::size_t>(n);
    for (;;) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      if (nl == nullptr) {
        if (!eof || p == end) break;
        nl = end;  // last line without a newline
      }
      const char* line_end = nl;
      if (line_end > p && line_end[-1] == '\r') --line_end;
      if (header) {
        header = false;
      } else if (line_end > p) {
        const char* c1 = static_cast<const char*>(std::memchr(p, ',', static_cast<std::size_t>(line_end - p)));
        std::int64_t ts = 0;
        double temp = 0;
        std::from_chars_result r1{}, r2{};
        if (c1 != nullptr && (r1 = std::from_chars(c1 + 1, line_end, ts)).ec == std::errc() &&
            r1.ptr < line_end && *r1.ptr == ',' &&
            (r2 = std::from_chars(r1.ptr + 1, line_end, temp)).ec == std::errc() && r2.ptr == line_end) {
          const std::uint32_t dev = devices.Intern(std::string_view(p, static_cast<std::size_t>(c1 - p)));
          const std::int64_t window = FloorDiv(ts, window_ms);
          Partial& open = devices.open(dev);
          if (open.count != 0 && open.window == window) {
            open.count += 1;
            open.sum += temp;
            if (temp < open.min) open.min = temp;
            if (temp > open.max) open.max = temp;
          } else {
            if (open.count != 0) groups.Merge(dev, open);
            open = Partial{window, 1, temp, temp, temp};
          }
          ++rows;
        } else {
          ++bad;  // a null or malformed field: not part of this benchmark's data
        }
      }
      p = nl + (nl < end ? 1 : 0);
      if (p >= end) break;
    }
    have = static_cast<std::size_t>(end - p);
    if (eof) break;
    std::memmove(buf.data(), p, have);
  }
  ::close(fd);
  const auto& names = devices.names();
  for (std::uint32_t id = 0; id < names.size(); ++id) {
    if (devices.open(id).count != 0) groups.Merge(id, devices.open(id));
  }
  const auto t_aggregated = Clock::now();

  // Sort by (device name, window).
  std::vector<std::uint32_t> rank(names.size());
  {
    std::vector<std::uint32_t> order(names.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return names[a] < names[b]; });
    for (std::uint32_t r = 0; r < order.size(); ++r) rank[order[r]] = r;
  }
  std::vector<Group> out = groups.TakeGroups();
  std::sort(out.begin(), out.end(), [&](const Group& x, const Group& y) {
    return rank[x.device] != rank[y.device] ? rank[x.device] < rank[y.device] : x.window < y.window;
  });
  const auto t_sorted = Clock::now();

  std::FILE* f = std::fopen(argv[2], "wb");
  if (f == nullptr) {
    std::perror(argv[2]);
    return 1;
  }
  Writer w(f);
  w.Put("window_start,window_end,device,avg_temp,min_temp,max_temp,n\n");
  for (const Group& g : out) {
    const std::int64_t start = g.window * window_ms;
    w.Num(start);
    w.Put(',');
    w.Num(start + window_ms);
    w.Put(',');
    w.Put(names[g.device]);
    w.Put(',');
    w.Num(g.sum / static_cast<double>(g.count));
    w.Put(',');
    w.Num(g.min);
    w.Put(',');
    w.Num(g.max);
    w.Put(',');
    w.Num(g.count);
    w.Put('\n');
  }
  if (!w.Flush() || std::fclose(f) != 0) {
    std::perror(argv[2]);
    return 1;
  }
  const auto t_written = Clock::now();
  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  std::fprintf(stderr,
               "handloop_window: %lld rows, %lld skipped, %zu devices, %zu windows; "
               "read+aggregate %.3f s, sort %.3f s, write %.3f s\n",
               static_cast<long long>(rows), static_cast<long long>(bad), names.size(), out.size(),
               secs(t_start, t_aggregated), secs(t_aggregated, t_sorted), secs(t_sorted, t_written));
  return 0;
}
