#include "io/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>

#include "decode/record_encoder.h"
#include "io/posix_file.h"

namespace runnel {

namespace {

// Large enough that a busy sink writes in few system calls, small enough for a gateway.
constexpr size_t kFlushThreshold = size_t{1} << 20;

}  // namespace

class FileSink::Impl {
 public:
  Impl(FileSinkSpec spec, UniqueFd fd, int out_fd, const Schema& schema, bool write_header)
      : spec_(std::move(spec)),
        fd_(std::move(fd)),
        out_fd_(out_fd),
        json_(schema, spec_.diff_column) {
    buffer_.reserve(kFlushThreshold + 4096);
    if (spec_.format == FileFormat::kCsv) {
      for (size_t i = 0; write_header && i < schema.size(); ++i) {
        if (i > 0) buffer_.push_back(',');
        AppendCsvString(buffer_, schema.column(i).name);
      }
      if (write_header) buffer_.append(spec_.diff_column ? ",diff\n" : "\n");
    }
    num_columns_ = schema.size();
  }

  void OnChange(const Row& row, Diff diff) {
    const size_t n = std::min(row.size(), num_columns_);
    if (spec_.format == FileFormat::kCsv) {
      for (size_t i = 0; i < num_columns_; ++i) {
        if (i > 0) buffer_.push_back(',');
        if (i < n) AppendCsvField(buffer_, row[i]);
      }
      if (spec_.diff_column) {
        buffer_.push_back(',');
        AppendInt(diff);
      }
      buffer_.push_back('\n');
    } else {
      json_.Append(buffer_, row, diff);
      buffer_.push_back('\n');
    }
    ++rows_written_;
    if (buffer_.size() >= kFlushThreshold) Flush();
  }

  // After a failed write the data of this run is incomplete anyway: drop further output and
  // keep reporting the first error.
  void Flush() {
    if (error_.ok() && !buffer_.empty()) {
      if (int err = WriteAll(out_fd_, buffer_); err != 0) error_ = WriteError(err);
    }
    buffer_.clear();
  }

  Status Advance() {
    Flush();
    return error_;
  }

  Status Close() {
    Flush();
    if (fd_.valid()) {
      if (int err = fd_.Close(); err != 0 && error_.ok()) error_ = WriteError(err);
    }
    out_fd_ = -1;
    return error_;
  }

  uint64_t rows_written() const { return rows_written_; }

 private:
  void AppendInt(int64_t i) {
    char buf[24];
    buffer_.append(buf, std::to_chars(buf, buf + sizeof(buf), i).ptr);
  }

  Status WriteError(int err) const {
    const std::string name = spec_.path == "-" ? "standard output" : "'" + spec_.path + "'";
    return Status::IoError("cannot write " + name + ": " + ErrnoText(err));
  }

  FileSinkSpec spec_;
  UniqueFd fd_;  // invalid for stdout, which the sink does not own
  int out_fd_;
  size_t num_columns_ = 0;
  JsonChangeEncoder json_;
  std::string buffer_;
  Status error_;
  uint64_t rows_written_ = 0;
};

Result<std::unique_ptr<FileSink>> FileSink::Create(FileSinkSpec spec, const Schema& schema) {
  UniqueFd fd;
  int out_fd = STDOUT_FILENO;
  if (spec.path != "-") {
    const std::filesystem::path parent = std::filesystem::path(spec.path).parent_path();
    if (!parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
      if (ec) {
        return Status::IoError("cannot create directory '" + parent.string() + "' for '" +
                               spec.path + "': " + ec.message());
      }
    }
    const int mode = spec.append ? O_APPEND : O_TRUNC;
    fd = UniqueFd(::open(spec.path.c_str(), O_WRONLY | O_CREAT | mode | O_CLOEXEC, 0644));
    if (!fd.valid()) {
      return Status::IoError("cannot open '" + spec.path + "' for writing: " + ErrnoText(errno));
    }
    out_fd = fd.get();
  }
  bool write_header = true;
  if (spec.append && fd.valid()) {
    struct stat info {};
    write_header = ::fstat(fd.get(), &info) != 0 || info.st_size == 0;
  }
  auto impl = std::make_unique<Impl>(std::move(spec), std::move(fd), out_fd, schema, write_header);
  return std::unique_ptr<FileSink>(new FileSink(std::move(impl)));
}

FileSink::FileSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FileSink::~FileSink() = default;

void FileSink::OnChange(int /*port*/, const Row& row, Timestamp /*time*/, Diff diff) {
  impl_->OnChange(row, diff);
}

Status FileSink::Advance(std::span<const Timestamp> input_watermarks, Timestamp* output_watermark) {
  *output_watermark = input_watermarks.empty() ? kMaxTime : input_watermarks[0];
  return impl_->Advance();
}

Status FileSink::Close() { return impl_->Close(); }

OperatorStats FileSink::stats() const {
  OperatorStats stats;
  stats.rows_written = impl_->rows_written();
  return stats;
}

}  // namespace runnel
