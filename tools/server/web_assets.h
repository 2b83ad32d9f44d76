// The web page served by `flowinone serve` at "/" (tools/server/web/: plain HTML, CSS and
// JavaScript, no framework, nothing fetched from outside), compiled into the binary by
// cmake/embed_web_assets.cmake so that the server works from any directory and offline.
//
//   "/"                  index.html
//   "/static/NAME"       every other file of tools/server/web/ (style.css, app.js, ...)
#pragma once

#include <string_view>
#include <vector>

namespace fi::server {

struct WebAsset {
  std::string_view path;          // the URL path: "/" or "/static/NAME"
  std::string_view content_type;  // e.g. "text/css; charset=utf-8"
  std::string_view body;          // the file's bytes, as they are in the source tree
};

/// Every file of the page, sorted by source path; generated at build time.
const std::vector<WebAsset>& web_assets();

/// The asset at `path` ("/" or "/static/NAME"), or nullptr.
inline const WebAsset* find_web_asset(std::string_view path) {
  for (const WebAsset& asset : web_assets())
    if (asset.path == path) return &asset;
  return nullptr;
}

}  // namespace fi::server
