// Resolves a file source's `file` setting into the files to read, in name order: a file as
// is, a directory's regular files with the format's extension, or a glob(3) pattern.
// Internal to io/. Pure function of the file system.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/status.h"

namespace runnel {

// `extensions` are the lowercase extensions a directory listing keeps (".csv"). Hidden files
// (".name") in a directory are skipped: editors and copy tools leave partial files there.
// No match is Invalid naming `path`.
Result<std::vector<std::string>> ResolveInputFiles(const std::string& path,
                                                   const std::vector<std::string>& extensions);

}  // namespace runnel
