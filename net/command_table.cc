#include "net/command_table.h"

#include <algorithm>
#include <cctype>

namespace herald::net {

void CommandTable::Add(CommandSpec spec) { rows_.push_back(std::move(spec)); }

bool CommandTable::Freeze(std::string* error) {
  std::sort(rows_.begin(), rows_.end(),
            [](const CommandSpec& a, const CommandSpec& b) { return a.name < b.name; });
  for (size_t i = 0; i < rows_.size(); ++i) {
    for (char c : rows_[i].name) {
      if (std::isupper(static_cast<unsigned char>(c))) {
        *error = "command name '" + rows_[i].name + "' is not lower-case";
        return false;
      }
    }
    if (i > 0 && rows_[i].name == rows_[i - 1].name) {
      *error = "command '" + rows_[i].name + "' is registered twice";
      return false;
    }
    if (!rows_[i].handler) {
      *error = "command '" + rows_[i].name + "' has no handler";
      return false;
    }
  }
  return true;
}

const CommandSpec* CommandTable::Find(std::string_view name) const {
  if (name.size() > 64) return nullptr;
  char lower[64];
  for (size_t i = 0; i < name.size(); ++i) {
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  }
  std::string_view key(lower, name.size());
  auto it =
      std::lower_bound(rows_.begin(), rows_.end(), key,
                       [](const CommandSpec& row, std::string_view k) { return row.name < k; });
  if (it == rows_.end() || it->name != key) return nullptr;
  return &*it;
}

std::vector<std::string> FlagNames(std::uint32_t flags) {
  std::vector<std::string> names;
  if (flags & kWrite) names.push_back("write");
  if (flags & kReadonly) names.push_back("readonly");
  if (flags & kBlocking) names.push_back("blocking");
  if (flags & kAdmin) names.push_back("admin");
  if (flags & kNoAuth) names.push_back("no_auth");
  if (flags & kFast) names.push_back("fast");
  return names;
}

}  // namespace herald::net
