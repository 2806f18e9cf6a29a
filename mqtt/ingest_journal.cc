#include "mqtt/ingest_journal.h"

#include <fcntl.h>
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

void PutU32(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void PutU64(uint64_t v, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
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
  PutU64(base, &out);
  return out;
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

// Creates `path` holding `contents` atomically (temporary file + rename), and returns an
// append descriptor positioned at its end.
Result<int> ReplaceFile(const std::string& path, std::string_view contents, bool sync) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    return Status::IoError("cannot create MQTT ingest journal " + tmp + ": " + ErrnoMessage(errno) +
                           " (check the state directory's permissions)");
  }
  int error = WriteAll(fd, contents);
  if (error == 0 && sync && ::fdatasync(fd) != 0) error = errno;
  if (error == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status::IoError("cannot write MQTT ingest journal " + path + ": " + ErrnoMessage(error) +
                           " (is the disk full?)");
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<IngestJournal>> IngestJournal::Open(const std::string& path,
                                                           JournalOptions options) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    RUNNEL_ASSIGN_OR_RETURN(fd, ReplaceFile(path, Header(0), options.sync));
    return std::make_unique<IngestJournal>(PrivateTag{}, path, fd, options, 0, 0, 0, 0);
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
  const uint64_t repaired = data->size() - at;
  if (repaired > 0 && ::ftruncate(fd, static_cast<off_t>(at)) != 0) {
    const int error = errno;
    ::close(fd);
    return Status::IoError("cannot cut the torn tail of MQTT ingest journal " + path + ": " +
                           ErrnoMessage(error));
  }
  if (::lseek(fd, 0, SEEK_END) < 0) {
    const int error = errno;
    ::close(fd);
    return Status::IoError("cannot seek in MQTT ingest journal " + path + ": " +
                           ErrnoMessage(error));
  }
  return std::make_unique<IngestJournal>(PrivateTag{}, path, fd, options, base,
                                         base + (at - kHeaderBytes), records, repaired);
}

IngestJournal::IngestJournal(PrivateTag, std::string path, int fd, JournalOptions options,
                             uint64_t base, uint64_t end, uint64_t records, uint64_t repaired)
    : path_(std::move(path)),
      options_(options),
      fd_(fd),
      base_(base),
      end_(end),
      records_at_open_(records),
      repaired_(repaired) {}

IngestJournal::~IngestJournal() { ::close(fd_); }

Status IngestJournal::Append(Timestamp arrival, std::string_view topic, std::string_view payload) {
  std::string frame;
  frame.reserve(kFrameBytes + kBodyFixedBytes + topic.size() + payload.size());
  frame.resize(kFrameBytes);
  PutU64(static_cast<uint64_t>(arrival), &frame);
  PutU32(static_cast<uint32_t>(topic.size()), &frame);
  frame.append(topic);
  frame.append(payload);
  const std::string_view body(frame.data() + kFrameBytes, frame.size() - kFrameBytes);
  if (body.size() > kMaxBodyBytes) {
    return Status::Invalid("MQTT message on " + std::string(topic) + " is too large to journal");
  }
  std::string prefix;
  PutU32(static_cast<uint32_t>(body.size()), &prefix);
  PutU32(Crc32(body), &prefix);
  frame.replace(0, kFrameBytes, prefix);

  std::lock_guard<std::mutex> lock(append_mu_);
  const uint64_t end = end_.load(std::memory_order_relaxed);
  int error = WriteAll(fd_, frame);
  if (error == 0 && options_.sync && ::fdatasync(fd_) != 0) error = errno;
  if (error != 0) {
    // Cut a partial frame so later appends stay readable; Open() would cut it anyway.
    static_cast<void>(::ftruncate(fd_, static_cast<off_t>(kHeaderBytes + (end - base_))));
    static_cast<void>(::lseek(fd_, 0, SEEK_END));
    return Status::IoError("cannot append to MQTT ingest journal " + path_ + ": " +
                           ErrnoMessage(error) + " (is the disk full?)");
  }
  end_.store(end + frame.size(), std::memory_order_release);
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
  const bool all_consumed = position == end_now && position > base_;
  if (!all_consumed && position - base_ < options_.rotate_bytes) return Status::Ok();
  std::string contents = Header(position);
  contents.resize(kHeaderBytes + (end_now - position));
  RUNNEL_RETURN_IF_ERROR(ReadExact(kHeaderBytes + (position - base_),
                                   contents.data() + kHeaderBytes, end_now - position));
  RUNNEL_ASSIGN_OR_RETURN(const int fd, ReplaceFile(path_, contents, options_.sync));
  ::close(fd_);
  fd_ = fd;
  base_ = position;
  return Status::Ok();
}

}  // namespace runnel
