// What the operator's subcommands of `herald` share (admin, backup, export, import, reload,
// check): a connection to a running server, authenticated, and readable tables.
//
// Thread safety: runs on the calling thread.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/client/client.h"

namespace herald::tools {

using Row = std::vector<std::string>;

// Columns padded to their widest cell, a rule under the header; control bytes as spaces.
void PrintTable(std::FILE* out, const Row& header, const std::vector<Row>& rows);

// "12.5 MiB", "812 B".
std::string Bytes(std::uint64_t bytes);

// A connection to `connect` (host:port), authenticated with `password` when one is given.
// Null, with the reason printed to `err` as "herald <tool>: ...", when it cannot be made;
// *exit_code is then 2 (no connection, a usage error) or 1 (the server refused the password).
std::unique_ptr<client::Client> ConnectTool(std::string_view tool, const std::string& connect,
                                            const std::string& password, std::FILE* err,
                                            int* exit_code);

// The reply to `args`; nullopt when the exchange failed (*exit_code 2) or the server answered
// an error (*exit_code 1), the reason printed to `err` as "herald <tool>: ...".
std::optional<resp::Reply> CallTool(client::Client& client, std::string_view tool,
                                    const std::vector<std::string>& args, std::FILE* err,
                                    int* exit_code);

}  // namespace herald::tools
