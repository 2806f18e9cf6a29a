// The dashboard's static files (web/assets/* and uPlot from npm), compiled into the binary at
// build time by web/embed_assets.cmake: one binary, no files on disk to serve or to traverse.
// Immutable data; any thread.
#pragma once

#include <string_view>

namespace runnel {

struct EmbeddedAsset {
  std::string_view path;  // URL path: "/", "/app.js", "/uPlot.min.js"
  std::string_view content_type;
  std::string_view data;
};

// The asset served at exactly `path`, or nullptr.
const EmbeddedAsset* FindEmbeddedAsset(std::string_view path);

}  // namespace runnel
