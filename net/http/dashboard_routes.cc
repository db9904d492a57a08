#include "net/http/dashboard_routes.h"

#include <string>
#include <utility>

#include "net/http/dashboard/dashboard_assets.h"

namespace herald::net::http {
namespace {

// The page's scripts may come only from this server: no inline script, no other origin.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

// Assets named under this build's version never change; anything else is checked again each
// time (the ETag lets a client see that it has the bytes already).
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kRevalidate = "no-cache";

const DashboardAsset* AssetNamed(std::string_view name) {
  for (const DashboardAsset& asset : DashboardAssets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

HttpResponse AssetResponse(const HttpRequest& request, const DashboardAsset& asset,
                           std::string_view cache_control) {
  HttpResponse response;
  // A client that has these bytes already (its ETag) is told so, without them.
  if (request.Header("if-none-match") == asset.etag) {
    response.status = 304;
    response.headers.emplace_back("ETag", std::string(asset.etag));
    response.headers.emplace_back("Cache-Control", std::string(cache_control));
    return response;
  }
  response.content_type = std::string(asset.content_type);
  response.body = std::string(asset.bytes);
  response.headers.emplace_back("ETag", std::string(asset.etag));
  response.headers.emplace_back("Cache-Control", std::string(cache_control));
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (asset.name.ends_with(".html")) {
    response.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
    response.headers.emplace_back("Referrer-Policy", "no-referrer");
    response.headers.emplace_back("X-Frame-Options", "DENY");
  }
  return response;
}

HttpResponse Page(HttpRequest& request) {
  static const DashboardAsset* page = AssetNamed("index.html");
  if (page == nullptr) {
    return ErrorResponse(500, "internal", "the dashboard was built without index.html");
  }
  return AssetResponse(request, *page, kRevalidate);
}

HttpResponse NoAsset(std::string_view name) {
  return ErrorResponse(404, "not_found", "no dashboard file '" + std::string(name) + "'");
}

// index.html is the page, served at /queues; it is not an asset of its own.
HttpResponse Asset(HttpRequest& request) {
  std::string_view name = request.Param("file");
  const DashboardAsset* asset = AssetNamed(name);
  if (asset == nullptr || name == "index.html") return NoAsset(name);
  return AssetResponse(request, *asset, kRevalidate);
}

// A page of an older build may still ask for its version's files: it gets this build's,
// revalidated, rather than a 404 in the middle of an upgrade.
HttpResponse VersionedAsset(HttpRequest& request) {
  std::string_view name = request.Param("file");
  const DashboardAsset* asset = AssetNamed(name);
  if (asset == nullptr || name == "index.html") return NoAsset(name);
  bool current = request.Param("version") == DashboardAssetVersion();
  return AssetResponse(request, *asset, current ? kImmutable : kRevalidate);
}

// A read-only GET row.
Route Get(std::string pattern, RouteHandler handler) {
  return Route("GET", std::move(pattern), kReadOnly, std::move(handler));
}

}  // namespace

void AddDashboardRoutes(Router* router) {
  // Deep links: /queues/emails, /queues/jobs/{id}, /queues/users/{id}, ... The router matches
  // whole segments, so each depth is a pattern; the assets' literal segment wins over these.
  router->Add(Get("/queues", Page));
  router->Add(Get("/queues/{a}", Page));
  router->Add(Get("/queues/{a}/{b}", Page));
  router->Add(Get("/queues/{a}/{b}/{c}", Page));
  router->Add(Get("/queues/{a}/{b}/{c}/{d}", Page));
  router->Add(Get("/queues/assets/{file}", Asset));
  router->Add(Get("/queues/assets/{version}/{file}", VersionedAsset));
}

}  // namespace herald::net::http
