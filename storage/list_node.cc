#include "storage/list_node.h"

#include "storage/keys.h"

namespace herald::storage::list_node {
namespace {

constexpr std::size_t kCountAt = 1;
constexpr std::size_t kPrevAt = 5;
constexpr std::size_t kNextAt = 13;

std::size_t LinkAt(ListEnd side) { return side == ListEnd::kLeft ? kPrevAt : kNextAt; }

void SetCount(std::string* node, std::uint32_t count) {
  std::string bytes;
  keys::PutBe32(&bytes, count);
  node->replace(kCountAt, 4, bytes);
}

}  // namespace

std::string New(std::uint64_t prev, std::uint64_t next) {
  std::string node;
  node.reserve(256);
  node.push_back(static_cast<char>(keys::kValueVersion));
  keys::PutBe32(&node, 0);
  keys::PutBe64(&node, prev);
  keys::PutBe64(&node, next);
  return node;
}

bool LooksValid(std::string_view node) {
  return node.size() >= kHeaderSize && static_cast<std::uint8_t>(node[0]) == keys::kValueVersion;
}

std::uint32_t Count(std::string_view node) { return keys::LoadBe32(node.data() + kCountAt); }

std::uint64_t Link(std::string_view node, ListEnd side) {
  return keys::LoadBe64(node.data() + LinkAt(side));
}

void SetLink(std::string* node, ListEnd side, std::uint64_t node_id) {
  std::string bytes;
  keys::PutBe64(&bytes, node_id);
  node->replace(LinkAt(side), 8, bytes);
}

bool RoomFor(std::string_view node, std::string_view value) {
  return Count(node) < kMaxElements && node.size() + value.size() + 10 <= kMaxBytes;
}

void Push(std::string* node, ListEnd end, std::string_view value) {
  if (end == ListEnd::kRight) {
    keys::PutVarint(node, value.size());
    node->append(value);
  } else {
    std::string entry;
    keys::PutVarint(&entry, value.size());
    entry.append(value);
    node->insert(kHeaderSize, entry);
  }
  SetCount(node, Count(*node) + 1);
}

bool Pop(std::string* node, ListEnd end, std::string* value) {
  const std::uint32_t count = Count(*node);
  std::size_t entry_at = 0;
  std::string_view bytes;
  if (count == 0 || !Element(*node, end == ListEnd::kLeft ? 0 : count - 1, &entry_at, &bytes)) {
    return false;
  }
  value->assign(bytes);
  if (end == ListEnd::kLeft) {
    node->erase(kHeaderSize, static_cast<std::size_t>(bytes.data() + bytes.size() -
                                                      (node->data() + kHeaderSize)));
  } else {
    node->resize(entry_at);
  }
  SetCount(node, count - 1);
  return true;
}

bool Element(std::string_view node, std::uint32_t index, std::size_t* entry_at,
             std::string_view* value) {
  keys::Reader r(node.substr(kHeaderSize));
  for (std::uint32_t i = 0;; ++i) {
    const std::size_t at = node.size() - r.rest().size();
    std::uint64_t len = 0;
    if (!r.GetVarint(&len) || len > r.rest().size()) return false;
    if (i == index) {
      *entry_at = at;
      *value = r.rest().substr(0, len);
      return true;
    }
    r = keys::Reader(r.rest().substr(len));
  }
}

bool Elements(std::string_view node, std::vector<std::string_view>* out) {
  keys::Reader r(node.substr(kHeaderSize));
  const std::uint32_t count = Count(node);
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint64_t len = 0;
    if (!r.GetVarint(&len) || len > r.rest().size()) return false;
    out->push_back(r.rest().substr(0, len));
    r = keys::Reader(r.rest().substr(len));
  }
  return r.empty();
}

}  // namespace herald::storage::list_node
