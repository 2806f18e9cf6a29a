#include "mqtt/ingest_journal.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "io/posix_file.h"

namespace runnel {
namespace {

// File layout: header = magic (8 bytes) + base position (u64 LE); then records, each
// [body length u32][CRC32 of body u32][body: arrival i64, topic length u32, topic, payload],
// all little-endian. The base is the logical position of the first record in this file.
constexpr char kMagic[8] = {'R', 'N', 'L', 'J', 'R', 'N', 'L', '1'};
constexpr size_t kHeaderBytes = 16;
constexpr size_t kFrameBytes = 8;                // length + CRC
constexpr size_t kBodyFixedBytes = 12;           // arrival + topic length
constexpr uint64_t kReadAheadBytes = 256 << 10;  // what Read() fetches from the file at once
constexpr uint32_t kMaxBodyBytes = 1u << 30;     // far above MQTT's 256 MB payload limit
// Positions count every byte ever journaled; no journal reaches 2^62, and the limit keeps
// position arithmetic far from overflow when a damaged header claims more.
constexpr uint64_t kMaxPosition = uint64_t{1} << 62;
// Space is reserved and mapped in steps of at least 1 MiB, doubling up to 64 MiB at a time:
// a reservation (fallocate + mremap) every few thousand messages, not a write(2) per message.
constexpr uint64_t kReserveStep = 1 << 20;
constexpr uint64_t kMaxReserveStep = 64 << 20;

std::string ErrnoMessage(int error) { return std::generic_category().message(error); }

const std::array<uint32_t, 256>& CrcTable() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

// CRC-32 (IEEE 802.3, as zlib's crc32).
uint32_t Crc32(std::string_view data) {
  const auto& table = CrcTable();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char byte : data) c = table[(c ^ byte) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void StoreU32(uint32_t v, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
void StoreU64(uint64_t v, char* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string Header(uint64_t base) {
  std::string out(kMagic, sizeof(kMagic));
  out.resize(kHeaderBytes);
  StoreU64(base, out.data() + sizeof(kMagic));
  return out;
}

uint64_t RoundUp(uint64_t n, uint64_t step) { return (n + step - 1) / step * step; }

// A journal file reserved on disk and mapped shared: stores into `data` reach the file.
struct MappedFile {
  int fd = -1;
  char* data = nullptr;
  uint64_t size = 0;
};

// Reserves the first `size` bytes of `fd` on disk (so that stores into the mapping cannot hit a
// full disk, which would be SIGBUS) and maps them. `fd` stays open on error.
Result<MappedFile> ReserveAndMap(int fd, uint64_t size, const std::string& path) {
  const int reserved = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
  if (reserved != 0) {
    return Status::IoError("cannot reserve " + std::to_string(size >> 20) +
                           " MiB for MQTT ingest journal " + path + ": " + ErrnoMessage(reserved) +
                           " (is the disk full?)");
  }
  void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    return Status::IoError("cannot map MQTT ingest journal " + path + ": " + ErrnoMessage(errno));
  }
  return MappedFile{fd, static_cast<char*>(data), size};
}

// Reads the whole file (journals are compacted, so they stay moderate).
Result<std::string> ReadWholeFile(int fd, const std::string& path) {
  std::string data;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("cannot read MQTT ingest journal " + path + ": " +
                             ErrnoMessage(errno));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

// Creates `path` holding `contents` atomically (temporary file + rename), reserved and mapped
// with room to append.
Result<MappedFile> ReplaceFile(const std::string& path, std::string_view contents, bool sync) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    return Status::IoError("cannot create MQTT ingest journal " + tmp + ": " + ErrnoMessage(errno) +
                           " (check the state directory's permissions)");
  }
  const auto fail = [&](Status status, MappedFile* mapped) -> Status {
    if (mapped != nullptr) ::munmap(mapped->data, mapped->size);
    ::close(fd);
    ::unlink(tmp.c_str());
    return status;
  };
  const int written = WriteAll(fd, contents);
  if (written != 0) {
    return fail(Status::IoError("cannot write MQTT ingest journal " + tmp + ": " +
                                ErrnoMessage(written) + " (is the disk full?)"),
                nullptr);
  }
  auto mapped = ReserveAndMap(fd, RoundUp(contents.size() + 1, kReserveStep), path);
  if (!mapped.ok()) return fail(mapped.status(), nullptr);
  int error = 0;
  if (sync && ::fdatasync(fd) != 0) error = errno;
  if (error == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    return fail(Status::IoError("cannot write MQTT ingest journal " + path + ": " +
                                ErrnoMessage(error) + " (is the disk full?)"),
                &*mapped);
  }
  return *mapped;
}

}  // namespace

Result<std::unique_ptr<IngestJournal>> IngestJournal::Open(const std::string& path,
                                                           JournalOptions options) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    RUNNEL_ASSIGN_OR_RETURN(const MappedFile created, ReplaceFile(path, Header(0), options.sync));
    return std::make_unique<IngestJournal>(PrivateTag{}, path, options, created.fd, created.data,
                                           created.size, 0, 0, 0, 0);
  }
  if (fd < 0) {
    return Status::IoError("cannot open MQTT ingest journal " + path + ": " + ErrnoMessage(errno) +
                           " (check the state directory's permissions)");
  }
  auto data = ReadWholeFile(fd, path);
  if (!data.ok()) {
    ::close(fd);
    return data.status();
  }
  if (data->size() < kHeaderBytes || std::memcmp(data->data(), kMagic, sizeof(kMagic)) != 0) {
    ::close(fd);
    return Status::Corruption(path +
                              " is not a Runnel MQTT ingest journal (move it away, or start "
                              "over with --reset-state)");
  }
  const uint64_t base = GetU64(data->data() + sizeof(kMagic));
  if (base > kMaxPosition) {
    ::close(fd);
    return Status::Corruption(path + " starts at position " + std::to_string(base) +
                              ", beyond any journal: the file is damaged (move it away, or "
                              "start over with --reset-state)");
  }
  size_t at = kHeaderBytes;
  uint64_t records = 0;
  while (data->size() - at >= kFrameBytes) {
    const uint32_t length = GetU32(data->data() + at);
    const uint32_t crc = GetU32(data->data() + at + 4);
    if (length < kBodyFixedBytes || length > kMaxBodyBytes ||
        data->size() - at - kFrameBytes < length) {
      break;
    }
    const std::string_view body(data->data() + at + kFrameBytes, length);
    if (Crc32(body) != crc || GetU32(body.data() + 8) > length - kBodyFixedBytes) break;
    at += kFrameBytes + length;
    ++records;
  }
  // After the last whole record: zeros of the unused reserve, or a torn or corrupt record.
  // Both are cut, so that appends continue right after the last record; only the latter is a
  // repair.
  const size_t last_nonzero = data->find_last_not_of('\0');
  const uint64_t repaired =
      last_nonzero == std::string::npos || last_nonzero < at ? 0 : last_nonzero + 1 - at;
  if (data->size() > at && ::ftruncate(fd, static_cast<off_t>(at)) != 0) {
    const int error = errno;
    ::close(fd);
    return Status::IoError("cannot cut the torn tail of MQTT ingest journal " + path + ": " +
                           ErrnoMessage(error));
  }
  auto mapped = ReserveAndMap(fd, RoundUp(at + 1, kReserveStep), path);
  if (!mapped.ok()) {
    ::close(fd);
    return mapped.status();
  }
  return std::make_unique<IngestJournal>(PrivateTag{}, path, options, fd, mapped->data,
                                         mapped->size, base, base + (at - kHeaderBytes), records,
                                         repaired);
}

IngestJournal::IngestJournal(PrivateTag, std::string path, JournalOptions options, int fd,
                             char* map, uint64_t map_size, uint64_t base, uint64_t end,
                             uint64_t records, uint64_t repaired)
    : path_(std::move(path)),
      options_(options),
      fd_(fd),
      map_(map),
      map_size_(map_size),
      base_(base),
      end_(end),
      records_at_open_(records),
      repaired_(repaired) {}

IngestJournal::~IngestJournal() {
  ::munmap(map_, map_size_);
  // Give the unused reserve back; Open() would cut it anyway.
  static_cast<void>(::ftruncate(fd_, static_cast<off_t>(kHeaderBytes + (end() - base_))));
  ::close(fd_);
}

Status IngestJournal::Grow(uint64_t needed) {
  const uint64_t size =
      RoundUp(std::max(needed, map_size_ + std::min(map_size_, kMaxReserveStep)), kReserveStep);
  const int reserved = ::posix_fallocate(fd_, 0, static_cast<off_t>(size));
  if (reserved != 0) {
    return Status::IoError("cannot append to MQTT ingest journal " + path_ + ": " +
                           ErrnoMessage(reserved) + " (is the disk full?)");
  }
  void* moved = ::mremap(map_, map_size_, size, MREMAP_MAYMOVE);
  if (moved == MAP_FAILED) {
    return Status::IoError("cannot map more of MQTT ingest journal " + path_ + ": " +
                           ErrnoMessage(errno));
  }
  map_ = static_cast<char*>(moved);
  map_size_ = size;
  return Status::Ok();
}

Status IngestJournal::Append(Timestamp arrival, std::string_view topic, std::string_view payload) {
  const uint64_t body = kBodyFixedBytes + topic.size() + payload.size();
  if (body > kMaxBodyBytes) {
    return Status::Invalid("MQTT message on " + std::string(topic) + " is too large to journal");
  }
  const uint64_t frame = kFrameBytes + body;
  std::lock_guard<std::mutex> lock(append_mu_);
  const uint64_t end = end_.load(std::memory_order_relaxed);
  const uint64_t at = kHeaderBytes + (end - base_);
  if (at + frame > map_size_) RUNNEL_RETURN_IF_ERROR(Grow(at + frame));
  // The record is copied in place; until end_ moves past it, nothing reads it, and a process
  // killed in the middle leaves a frame whose CRC does not match (cut by Open()).
  char* out = map_ + at;
  StoreU32(static_cast<uint32_t>(body), out);
  StoreU64(static_cast<uint64_t>(arrival), out + kFrameBytes);
  StoreU32(static_cast<uint32_t>(topic.size()), out + kFrameBytes + 8);
  std::memcpy(out + kFrameBytes + kBodyFixedBytes, topic.data(), topic.size());
  std::memcpy(out + kFrameBytes + kBodyFixedBytes + topic.size(), payload.data(), payload.size());
  StoreU32(Crc32(std::string_view(out + kFrameBytes, body)), out + 4);
  if (options_.sync && ::fdatasync(fd_) != 0) {
    const int error = errno;
    std::memset(out, 0, frame);  // not appended: the next record takes its place
    return Status::IoError("cannot append to MQTT ingest journal " + path_ + ": " +
                           ErrnoMessage(error) + " (is the disk full?)");
  }
  end_.store(end + frame, std::memory_order_release);
  return Status::Ok();
}

Status IngestJournal::ReadExact(uint64_t file_offset, char* out, size_t n) const {
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd_, out + done, n - done, static_cast<off_t>(file_offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      return Status::IoError("cannot read MQTT ingest journal " + path_ + ": " +
                             (got < 0 ? ErrnoMessage(errno) : std::string("unexpected end")));
    }
    done += static_cast<size_t>(got);
  }
  return Status::Ok();
}

Result<std::string_view> IngestJournal::ReadAhead(uint64_t position, size_t n) const {
  const uint64_t end_now = end();
  if (position < base_ || n > end_now - std::min(position, end_now)) {
    return Status::Corruption("MQTT ingest journal " + path_ + ": no record at position " +
                              std::to_string(position) +
                              " (the saved position does not match the journal; start over "
                              "with --reset-state)");
  }
  if (position < read_ahead_at_ || position + n > read_ahead_at_ + read_ahead_.size()) {
    // One pread for many records: the engine reads what Paho appended since its last poll.
    const size_t size = static_cast<size_t>(
        std::min<uint64_t>(end_now - position, std::max<uint64_t>(n, kReadAheadBytes)));
    read_ahead_.resize(size);
    read_ahead_at_ = position;
    Status read = ReadExact(kHeaderBytes + (position - base_), read_ahead_.data(), size);
    if (!read.ok()) {
      read_ahead_.clear();
      return read;
    }
  }
  return std::string_view(read_ahead_).substr(position - read_ahead_at_, n);
}

Status IngestJournal::Read(uint64_t position, JournalRecord* out, uint64_t* next) const {
  RUNNEL_ASSIGN_OR_RETURN(const std::string_view head,
                          ReadAhead(position, kFrameBytes + kBodyFixedBytes));
  const uint32_t length = GetU32(head.data());
  const uint32_t topic_length = GetU32(head.data() + kFrameBytes + 8);
  if (length < kBodyFixedBytes || topic_length > length - kBodyFixedBytes) {
    return Status::Corruption("MQTT ingest journal " + path_ + ": no record at position " +
                              std::to_string(position) +
                              " (the saved position does not match the journal; start over "
                              "with --reset-state)");
  }
  RUNNEL_ASSIGN_OR_RETURN(const std::string_view frame, ReadAhead(position, kFrameBytes + length));
  out->arrival = static_cast<Timestamp>(GetU64(frame.data() + kFrameBytes));
  const std::string_view data = frame.substr(kFrameBytes + kBodyFixedBytes);
  out->topic.assign(data.substr(0, topic_length));
  out->payload.assign(data.substr(topic_length));
  *next = position + kFrameBytes + length;
  return Status::Ok();
}

Result<uint64_t> IngestJournal::RecordsBefore(uint64_t position) const {
  const uint64_t end_now = end();
  if (position < base_ || position > end_now) {
    return Status::Corruption("MQTT ingest journal " + path_ + " holds positions " +
                              std::to_string(base_) + " to " + std::to_string(end_now) +
                              ", not the saved position " + std::to_string(position) +
                              " (start over with --reset-state)");
  }
  uint64_t at = base_, count = 0;
  while (at < position) {
    char frame[kFrameBytes];
    RUNNEL_RETURN_IF_ERROR(ReadExact(kHeaderBytes + (at - base_), frame, sizeof(frame)));
    const uint64_t next = at + kFrameBytes + GetU32(frame);
    if (next > position) {
      return Status::Corruption("MQTT ingest journal " + path_ + ": saved position " +
                                std::to_string(position) +
                                " is inside a record (start over with --reset-state)");
    }
    ++count;
    at = next;
  }
  return count;
}

Status IngestJournal::Compact(uint64_t position) {
  std::lock_guard<std::mutex> lock(append_mu_);
  const uint64_t end_now = end_.load(std::memory_order_relaxed);
  const uint64_t consumed = position - base_;
  const bool all_consumed = position == end_now && consumed > 0;
  if (consumed < (all_consumed ? options_.empty_bytes : options_.rotate_bytes)) {
    // Kept, but no longer read: drop the consumed pages from the mapping, so that they stop
    // counting in the process's RSS (the page cache keeps them, dirty or not, for the file).
    static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t release_to = (kHeaderBytes + consumed) / page * page;
    if (release_to > released_) {
      static_cast<void>(::madvise(map_ + released_, release_to - released_, MADV_DONTNEED));
      released_ = release_to;
    }
    return Status::Ok();
  }
  std::string contents = Header(position);
  contents.append(map_ + kHeaderBytes + (position - base_), end_now - position);
  RUNNEL_ASSIGN_OR_RETURN(const MappedFile replaced, ReplaceFile(path_, contents, options_.sync));
  ::munmap(map_, map_size_);
  ::close(fd_);  // the old file, already replaced under its name
  fd_ = replaced.fd;
  map_ = replaced.data;
  map_size_ = replaced.size;
  released_ = 0;
  base_ = position;
  return Status::Ok();
}

}  // namespace runnel
