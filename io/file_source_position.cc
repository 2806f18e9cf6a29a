#include "io/file_source_position.h"

#include "io/position_codec.h"

namespace runnel {

namespace {

// Bumped when the layout changes; an older layout is still read, a newer one refused.
constexpr uint64_t kVersion = 1;
// A file list in a position is at most this long: more is taken for corrupt bytes, not
// allocated.
constexpr uint64_t kMaxFollowedFiles = 1'000'000;

void WriteFile(PositionWriter& out, const FilePosition& file) {
  out.Bytes(file.path);
  out.U64(file.device);
  out.U64(file.inode);
  out.U64(file.offset);
  out.U64(file.line);
  out.U64(file.header_size);
}

bool ReadFile(PositionReader& in, FilePosition* file) {
  return in.Bytes(&file->path) && in.U64(&file->device) && in.U64(&file->inode) &&
         in.U64(&file->offset) && in.U64(&file->line) && in.U64(&file->header_size) &&
         (file->offset == 0 || file->header_size <= file->offset);
}

}  // namespace

std::string EncodeFileSourcePosition(const FileSourcePosition& position) {
  PositionWriter out;
  out.U64(kVersion);
  out.U64(static_cast<uint64_t>(position.mode));
  out.U64(position.records_read);
  out.U64(position.records_rejected);
  out.I64(position.max_time);
  out.Bool(position.finished);
  if (position.mode == FileSourceMode::kFollow) {
    out.U64(position.followed.size());
    for (const FilePosition& file : position.followed) WriteFile(out, file);
    out.U64(position.cursor);
  } else {
    WriteFile(out, position.current);
    out.U64(position.files_before);
  }
  return out.bytes();
}

Result<FileSourcePosition> DecodeFileSourcePosition(std::string_view bytes) {
  PositionReader in(bytes);
  const auto corrupt = [](const std::string& what) {
    return Status::Corruption("saved file position is corrupt: " + what +
                              "; start over with --reset-state");
  };
  uint64_t version = 0;
  if (!in.U64(&version)) return corrupt("no version");
  if (version == 0 || version > kVersion) {
    return corrupt("unknown version " + std::to_string(version));
  }
  FileSourcePosition position;
  uint64_t mode = 0;
  if (!in.U64(&mode) || mode > static_cast<uint64_t>(FileSourceMode::kFollow)) {
    return corrupt("bad mode");
  }
  position.mode = static_cast<FileSourceMode>(mode);
  if (!in.U64(&position.records_read) || !in.U64(&position.records_rejected) ||
      !in.I64(&position.max_time) || !in.Bool(&position.finished)) {
    return corrupt("bad counters");
  }
  if (position.mode == FileSourceMode::kFollow) {
    uint64_t count = 0;
    if (!in.U64(&count) || count > kMaxFollowedFiles) return corrupt("bad file count");
    for (uint64_t i = 0; i < count; ++i) {
      FilePosition file;
      if (!ReadFile(in, &file)) return corrupt("bad file entry " + std::to_string(i));
      position.followed.push_back(std::move(file));
    }
    if (!in.U64(&position.cursor) || position.cursor > count) return corrupt("bad cursor");
  } else if (!ReadFile(in, &position.current) || !in.U64(&position.files_before)) {
    return corrupt("bad file entry");
  }
  if (!in.AtEnd()) return corrupt("trailing bytes");
  return position;
}

}  // namespace runnel
