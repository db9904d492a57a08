// The files of the /queues dashboard (HTML, CSS, JavaScript), compiled into the binary: a
// build step (embed_assets.cmake) turns each file of this folder that net/CMakeLists.txt lists
// into a byte array of a generated source, so that nothing is read from disk or the network
// when the page is served.
//
// Thread safety: immutable.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace herald::net::http {

struct DashboardAsset {
  std::string_view name;          // "app.js": a file name of net/http/dashboard/
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view bytes;
  std::string_view etag;  // quoted, from the bytes' SHA-256: "\"3f2a...\""
};

// Every file, in the order net/CMakeLists.txt lists them. Lives as long as the program.
std::span<const DashboardAsset> DashboardAssets();

// 12 hex digits that change whenever any file does; index.html loads its scripts and styles
// from /queues/assets/<version>/.
std::string_view DashboardAssetVersion();

}  // namespace herald::net::http
