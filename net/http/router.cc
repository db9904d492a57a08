#include "net/http/router.h"

#include <cassert>

namespace herald::net::http {
namespace {

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    parts.emplace_back(path.substr(start, end - start));
    start = end;
  }
  return parts;
}

bool IsCapture(const std::string& part) {
  return part.size() > 2 && part.front() == '{' && part.back() == '}';
}

}  // namespace

std::size_t Router::Captures(const Row& row) {
  std::size_t n = 0;
  for (const std::string& part : row.parts) n += IsCapture(part) ? 1 : 0;
  return n;
}

void Router::Add(Route route) {
  assert(!frozen_);
  std::vector<std::string> parts = SplitPath(route.pattern);
  for (Row& row : rows_) {
    if (row.route.method == route.method && row.parts == parts) {
      row.route = std::move(route);
      return;
    }
  }
  rows_.push_back({std::move(route), std::move(parts)});
}

bool Router::Matches(const Row& row, const std::vector<std::string>& segments) {
  if (row.parts.size() != segments.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (IsCapture(row.parts[i])) {
      if (segments[i].empty()) return false;
      continue;
    }
    if (row.parts[i] != segments[i]) return false;
  }
  return true;
}

Router::Match Router::Find(std::string_view method, HttpRequest* request) const {
  Match match;
  const Row* found = nullptr;
  for (const Row& row : rows_) {
    if (!Matches(row, request->segments)) continue;
    if (row.route.method == method) {
      // Literal segments win over captures: the row with the fewest captures, the first of
      // those.
      if (found == nullptr || Captures(row) < Captures(*found)) found = &row;
      continue;
    }
    if (match.allow.find(row.route.method) == std::string::npos) {
      if (!match.allow.empty()) match.allow += ", ";
      match.allow += row.route.method;
    }
  }
  if (found == nullptr) {
    match.status = match.allow.empty() ? 404 : 405;
    return match;
  }
  for (std::size_t i = 0; i < found->parts.size(); ++i) {
    if (IsCapture(found->parts[i])) {
      request->params[found->parts[i].substr(1, found->parts[i].size() - 2)] = request->segments[i];
    }
  }
  match.route = &found->route;
  return match;
}

}  // namespace herald::net::http
