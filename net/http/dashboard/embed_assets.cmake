# Turns the dashboard's files into one C++ source of byte arrays, so that the binary serves
# /queues without reading anything from disk (net/http/dashboard/dashboard_assets.h).
#
#   cmake -DASSET_DIR=<dir> -DFILES=index.html,app.css,... -DOUTPUT=<file.cc> -P embed_assets.cmake
#
# Each file's ETag is the first 16 hex digits of its SHA-256. The version is the same digest
# over every file's name and digest: index.html names its scripts and styles under
# /queues/assets/<version>/, so that a new build's page never runs an old build's cached
# scripts. index.html holds the placeholder @ASSET_VERSION@ for it. The output is rewritten
# only when it changes, so that an unchanged dashboard recompiles nothing.

cmake_minimum_required(VERSION 3.25)

foreach(var ASSET_DIR FILES OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_assets.cmake: -D${var}=... is required")
  endif()
endforeach()

string(REPLACE "," ";" files "${FILES}")

# The version first: it is written into index.html before that file is embedded.
set(all_digests "")
foreach(name IN LISTS files)
  file(SHA256 "${ASSET_DIR}/${name}" digest)
  string(APPEND all_digests "${name}:${digest}\n")
endforeach()
string(SHA256 version "${all_digests}")
string(SUBSTRING "${version}" 0 12 version)

function(content_type_of name out)
  if(name MATCHES "\\.html$")
    set(type "text/html; charset=utf-8")
  elseif(name MATCHES "\\.css$")
    set(type "text/css; charset=utf-8")
  elseif(name MATCHES "\\.(js|mjs)$")
    set(type "text/javascript; charset=utf-8")
  elseif(name MATCHES "\\.svg$")
    set(type "image/svg+xml")
  elseif(name MATCHES "\\.json$")
    set(type "application/json")
  else()
    message(FATAL_ERROR "embed_assets.cmake: no content type for ${name}")
  endif()
  set(${out} "${type}" PARENT_SCOPE)
endfunction()

set(arrays "")
set(rows "")
set(index 0)
foreach(name IN LISTS files)
  set(path "${ASSET_DIR}/${name}")
  if(name STREQUAL "index.html")
    file(READ "${path}" text)
    string(REPLACE "@ASSET_VERSION@" "${version}" text "${text}")
    set(path "${OUTPUT}.index.html")
    file(WRITE "${path}" "${text}")
  endif()
  file(SHA256 "${path}" digest)
  string(SUBSTRING "${digest}" 0 16 etag)
  file(SIZE "${path}" size)
  file(READ "${path}" hex HEX)
  # 16 bytes a line: "0x3c, 0x21, ..." (CMake's regular expressions have no {16}).
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1, " bytes "${hex}")
  string(REPEAT "0x[0-9a-f][0-9a-f], " 16 line_pattern)
  string(REGEX REPLACE "(${line_pattern})" "\\1\n    " bytes "${bytes}")
  string(REPLACE ", \n" ",\n" bytes "${bytes}")
  string(REGEX REPLACE ",[ \n]*$" "" bytes "${bytes}")
  content_type_of("${name}" type)
  string(APPEND arrays "// ${name}\nconst unsigned char kAsset${index}[] = {\n    ${bytes}};\n\n")
  string(APPEND rows
         "      {\"${name}\", \"${type}\", Bytes(kAsset${index}, ${size}), \"\\\"${etag}\\\"\"},\n")
  math(EXPR index "${index} + 1")
endforeach()

set(source "// Generated from net/http/dashboard/ by net/http/dashboard/embed_assets.cmake; do not edit.
#include \"net/http/dashboard/dashboard_assets.h\"

namespace herald::net::http {
namespace {

std::string_view Bytes(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

${arrays}}  // namespace

std::span<const DashboardAsset> DashboardAssets() {
  static const DashboardAsset kAssets[] = {
${rows}  };
  return kAssets;
}

std::string_view DashboardAssetVersion() { return \"${version}\"; }

}  // namespace herald::net::http
")

file(WRITE "${OUTPUT}.new" "${source}")
file(COPY_FILE "${OUTPUT}.new" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.new")
