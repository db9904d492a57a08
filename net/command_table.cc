#include "net/command_table.h"

#include <algorithm>
#include <cctype>

namespace herald::net {

void CommandTable::Add(CommandSpec spec) { rows_.push_back(std::move(spec)); }

namespace {

bool IsLowerCase(std::string_view name) {
  return std::none_of(name.begin(), name.end(),
                      [](char c) { return std::isupper(static_cast<unsigned char>(c)); });
}

}  // namespace

bool CommandTable::Freeze(std::string* error) {
  std::sort(rows_.begin(), rows_.end(),
            [](const CommandSpec& a, const CommandSpec& b) { return a.name < b.name; });
  slots_ = 0;
  for (size_t i = 0; i < rows_.size(); ++i) {
    CommandSpec& row = rows_[i];
    if (!IsLowerCase(row.name)) {
      *error = "command name '" + row.name + "' is not lower-case";
      return false;
    }
    if (i > 0 && row.name == rows_[i - 1].name) {
      *error = "command '" + row.name + "' is registered twice";
      return false;
    }
    if (!row.handler) {
      *error = "command '" + row.name + "' has no handler";
      return false;
    }
    row.slot = slots_++;
    std::sort(row.subcommands.begin(), row.subcommands.end(),
              [](const SubcommandSpec& a, const SubcommandSpec& b) { return a.name < b.name; });
    for (size_t j = 0; j < row.subcommands.size(); ++j) {
      SubcommandSpec& sub = row.subcommands[j];
      sub.full_name = row.name + "|" + sub.name;
      if (!IsLowerCase(sub.name) || sub.name.empty()) {
        *error = "subcommand name '" + sub.full_name + "' is not lower-case";
        return false;
      }
      if (j > 0 && sub.name == row.subcommands[j - 1].name) {
        *error = "subcommand '" + sub.full_name + "' is registered twice";
        return false;
      }
      sub.slot = slots_++;
    }
  }
  return true;
}

const SubcommandSpec* CommandTable::FindSubcommand(const CommandSpec& spec, std::string_view name) {
  for (const SubcommandSpec& sub : spec.subcommands) {
    if (sub.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(name[i])) == sub.name[i];
    }
    if (same) return &sub;
  }
  return nullptr;
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
