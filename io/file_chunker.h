// FileChunker: cuts the files of a static source, in name order, into chunks that reader
// threads parse independently. A cut is a line break at which a record surely ends:
// - JSON Lines: any line break (a JSON string cannot hold a raw one);
// - CSV: a line break with no double quote between the end of the header (or the restart
//   offset) and it. A quoted field may hold line breaks, so from the first quote on, the
//   rest of the file is one chunk, parsed by one thread from a known record start.
// No cut lands before a line that starts with a UTF-8 byte order mark (a reader skips one
// only at the start of its stream, i.e. of the file). Opening a file checks its header as the
// sequential reader does; an error becomes a chunk that carries it, in order.
// Internal to io/. Threading: one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/file_source.h"
#include "io/file_source_position.h"
#include "io/posix_file.h"
#include "io/record_file_reader.h"
#include "io/resume_stream.h"
#include "runtime/status.h"

namespace runnel {

struct FileChunk {
  size_t file = 0;          // index into the source's files
  bool opens_file = false;  // the file's first chunk
  FilePosition position;    // opens_file: where reading the file starts, and its identity
  Status error;             // not ok: the file could not be opened or read; nothing else set
  std::string path;
  UniqueFd fd;         // this chunk's own descriptor of the file
  std::string prefix;  // CSV: the header, served first when the chunk starts past it
  uint64_t start = 0;  // file offsets [start, end); end kToEnd: to the end of the file
  uint64_t end = ResumeStream::kToEnd;
};

class FileChunker {
 public:
  struct Options {
    std::vector<std::string> files;
    FileFormat format = FileFormat::kCsv;
    const RecordLayout* layout = nullptr;  // must outlive the chunker
    uint64_t chunk_bytes = 256 * 1024;     // a chunk is at least this long (but for the last)
    size_t first_file = 0;
    // The first file open already (a restart mid-file, or the file opened at load time):
    // its descriptor and where reading it starts. Invalid: open files[first_file] afresh.
    UniqueFd first_fd;
    FilePosition first_position;
  };

  explicit FileChunker(Options options);
  FileChunker(const FileChunker&) = delete;
  FileChunker& operator=(const FileChunker&) = delete;

  // The next chunk in input order; nullopt after the last one, and after one with an error.
  std::optional<FileChunk> Next();

 private:
  // Opens path_ to read from its start, checks its header and fills *position.
  Status OpenFile(FilePosition* position);
  // Sets the state for cutting the open file from `position` on.
  Status Begin(const FilePosition& position);
  // The offset of the first cut at least chunk_bytes past `from`; kToEnd: none (the rest of
  // the file is one chunk).
  Result<uint64_t> FindCut(uint64_t from);
  // Reads up to `n` bytes of the file at `offset`; returns how many (fewer: its end).
  Result<size_t> ReadAt(uint64_t offset, char* out, size_t n);

  Options options_;
  size_t next_file_;
  bool done_ = false;
  // The file being cut.
  size_t file_ = 0;
  UniqueFd fd_;
  std::string path_;
  uint64_t size_ = 0;
  uint64_t header_size_ = 0;
  std::string header_;  // its bytes, for chunks past it
  uint64_t next_start_ = 0;
  bool splittable_ = true;  // CSV: no quote seen since the header
  std::vector<char> buffer_;
};

}  // namespace runnel
