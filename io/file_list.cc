#include "io/file_list.h"

#include <glob.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>

namespace runnel {

namespace {

namespace fs = std::filesystem;

bool HasExtension(const fs::path& file, const std::vector<std::string>& extensions) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

std::string ExtensionList(const std::vector<std::string>& extensions) {
  std::string out;
  for (const std::string& e : extensions) out += (out.empty() ? "" : " or ") + e;
  return out;
}

struct GlobFree {
  void operator()(glob_t* g) const { globfree(g); }
};

}  // namespace

Result<std::vector<std::string>> ResolveInputFiles(const std::string& path,
                                                   const std::vector<std::string>& extensions) {
  std::vector<std::string> files;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (fs::is_directory(status)) {
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::path& file = it->path();
      std::error_code type_ec;
      if (file.filename().string().starts_with(".") || !it->is_regular_file(type_ec) ||
          !HasExtension(file, extensions)) {
        continue;
      }
      files.push_back(file.string());
    }
    if (ec) return Status::IoError("cannot list directory '" + path + "': " + ec.message());
    if (files.empty()) {
      return Status::Invalid("directory '" + path + "' holds no " + ExtensionList(extensions) +
                             " files");
    }
  } else if (fs::exists(status)) {
    files.push_back(path);
  } else if (path.find_first_of("*?[") != std::string::npos) {
    glob_t matches{};
    const int rc = ::glob(path.c_str(), 0, nullptr, &matches);
    std::unique_ptr<glob_t, GlobFree> owner(&matches);
    if (rc == GLOB_NOSPACE) return Status::IoError("out of memory expanding '" + path + "'");
    for (size_t i = 0; rc == 0 && i < matches.gl_pathc; ++i) {
      std::error_code type_ec;
      if (fs::is_regular_file(matches.gl_pathv[i], type_ec)) files.push_back(matches.gl_pathv[i]);
    }
    if (files.empty()) return Status::Invalid("no file matches '" + path + "'");
  } else {
    return Status::Invalid("'" + path + "' does not exist");
  }
  // Byte order, not the locale's collation that glob(3) uses: the same files always replay in
  // the same order.
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace runnel
