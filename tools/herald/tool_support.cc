#include "tools/herald/tool_support.h"

#include <algorithm>
#include <chrono>

#include "tools/herald/remote_worker.h"

namespace herald::tools {

void PrintTable(std::FILE* out, const Row& header, const std::vector<Row>& rows) {
  std::vector<std::size_t> widths(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (const Row& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  auto print = [&](const Row& row) {
    std::string line;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < widths.size()) line += std::string(widths[i] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::fprintf(out, "%s\n", line.c_str());
  };
  print(header);
  Row rule;
  for (std::size_t width : widths) rule.push_back(std::string(width, '-'));
  print(rule);
  for (const Row& row : rows) print(row);
}

std::string Bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  }
  return text;
}

std::unique_ptr<client::Client> ConnectTool(std::string_view tool, const std::string& connect,
                                            const std::string& password, std::FILE* err,
                                            int* exit_code) {
  const std::string name(tool);
  std::string host;
  std::uint16_t port = 0;
  if (Status status = ParseHostPort(connect, &host, &port); !status.ok()) {
    std::fprintf(err, "herald %s: --connect: %s\n", name.c_str(), status.message().c_str());
    *exit_code = 2;
    return nullptr;
  }
  auto connected = client::Client::Connect(host, port, std::chrono::seconds(5));
  if (!connected.ok()) {
    std::fprintf(err, "herald %s: cannot reach %s: %s\n", name.c_str(), connect.c_str(),
                 connected.status().message().c_str());
    *exit_code = 2;
    return nullptr;
  }
  std::unique_ptr<client::Client> client = std::move(connected).value();
  if (!password.empty()) {
    auto auth = client->Auth(password);
    if (!auth.ok() || auth->is_error()) {
      std::fprintf(err, "herald %s: %s\n", name.c_str(),
                   auth.ok() ? auth->str.c_str() : auth.status().message().c_str());
      *exit_code = auth.ok() ? 1 : 2;
      return nullptr;
    }
  }
  *exit_code = 0;
  return client;
}

std::optional<resp::Reply> CallTool(client::Client& client, std::string_view tool,
                                    const std::vector<std::string>& args, std::FILE* err,
                                    int* exit_code) {
  auto reply = client.Command(args);
  const std::string name(tool);
  if (!reply.ok()) {
    std::fprintf(err, "herald %s: %s\n", name.c_str(), reply.status().message().c_str());
    *exit_code = 2;
    return std::nullopt;
  }
  if (reply->is_error()) {
    std::fprintf(err, "herald %s: %s\n", name.c_str(), reply->str.c_str());
    *exit_code = 1;
    return std::nullopt;
  }
  return std::move(reply).value();
}

}  // namespace herald::tools
