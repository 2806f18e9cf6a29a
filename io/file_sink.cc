#include "io/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "decode/record_encoder.h"
#include "io/changelog_writer.h"
#include "io/posix_file.h"

namespace runnel {

class FileSink::Impl {
 public:
  Impl(const FileSinkSpec& spec, UniqueFd fd, int out_fd, const Schema& schema, bool write_header)
      : fd_(std::move(fd)),
        writer_({spec.format, spec.diff_column}, schema, out_fd,
                spec.path == "-" ? "standard output" : "'" + spec.path + "'",
                write_header ? Header(spec, schema) : std::string()),
        path_(spec.path) {}

  void OnChange(const Row& row, Diff diff) {
    writer_.Add(row, diff);
    ++rows_written_;
  }

  Status Advance() { return writer_.Flush(); }

  Status Close() {
    Status status = writer_.Close();
    if (fd_.valid()) {
      if (int err = fd_.Close(); err != 0 && status.ok()) {
        status = Status::IoError("cannot write '" + path_ + "': " + ErrnoText(err));
      }
    }
    return status;
  }

  uint64_t rows_written() const { return rows_written_; }

 private:
  static std::string Header(const FileSinkSpec& spec, const Schema& schema) {
    std::string header;
    if (spec.format != FileFormat::kCsv) return header;
    for (size_t i = 0; i < schema.size(); ++i) {
      if (i > 0) header.push_back(',');
      AppendCsvString(header, schema.column(i).name);
    }
    header.append(spec.diff_column ? ",diff\n" : "\n");
    return header;
  }

  UniqueFd fd_;  // invalid for stdout, which the sink does not own; outlives writer_
  ChangelogWriter writer_;
  std::string path_;
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
  auto impl = std::make_unique<Impl>(spec, std::move(fd), out_fd, schema, write_header);
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
