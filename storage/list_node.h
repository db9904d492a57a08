// The codec of a list node, the row that holds a run of a list's elements (layout in keys.h:
// u8 1, be32 count, be64 prev_node, be64 next_node, then count elements, each varint length +
// bytes). A list is a chain of nodes linked both ways, like Redis's quicklist; node id 0 means
// none. These functions read and edit one node's bytes in place; which row holds which node,
// and the list's header, are the caller's (storage/kv_lists.h).
//
// The accessors (Count, Link, Push, Pop) require a node for which LooksValid() holds; Element,
// Elements and Pop also check the elements themselves and return false when they are
// malformed.
//
// Thread safety: pure functions over the caller's bytes; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/kv_store.h"

namespace herald::storage::list_node {

// A node takes elements while it has fewer than kMaxElements and stays within kMaxBytes (an
// element bigger than that gets a node of its own).
inline constexpr std::uint32_t kMaxElements = 128;
inline constexpr std::size_t kMaxBytes = 8 << 10;
inline constexpr std::size_t kHeaderSize = 21;  // version, count, prev, next

// An empty node between `prev` and `next`.
std::string New(std::uint64_t prev, std::uint64_t next);
// Whether `node` has a whole header of the current version (the accessors need no more).
bool LooksValid(std::string_view node);

std::uint32_t Count(std::string_view node);
// The node beyond `side`: prev_node for kLeft, next_node for kRight (0 = none).
std::uint64_t Link(std::string_view node, ListEnd side);
void SetLink(std::string* node, ListEnd side, std::uint64_t node_id);

// Whether `value` fits in `node` (see kMaxElements, kMaxBytes).
bool RoomFor(std::string_view node, std::string_view value);
// Adds `value` at end `end` of the node.
void Push(std::string* node, ListEnd end, std::string_view value);
// Removes the element at end `end` into `*value`. False when the node has none or is
// malformed (then the node is unchanged).
bool Pop(std::string* node, ListEnd end, std::string* value);

// Element `index` of a node: where its entry starts, and its bytes. False when the node is
// shorter than that or malformed.
bool Element(std::string_view node, std::uint32_t index, std::size_t* entry_at,
             std::string_view* value);
// Appends every element of a node, in order, to `*out`; false when malformed (count and
// entries disagree).
bool Elements(std::string_view node, std::vector<std::string_view>* out);

}  // namespace herald::storage::list_node
