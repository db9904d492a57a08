#include "storage/list_node.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/keys.h"

namespace herald::storage {
namespace {

using Views = std::vector<std::string_view>;

Views ElementsOf(std::string_view node) {
  Views out;
  EXPECT_TRUE(list_node::Elements(node, &out));
  return out;
}

TEST(ListNodeTest, ANewNodeIsAHeaderWithItsLinks) {
  std::string node = list_node::New(7, 0x0102030405060708);
  ASSERT_EQ(node.size(), list_node::kHeaderSize);
  // Pinned bytes (keys.h): u8 1, be32 count, be64 prev_node, be64 next_node.
  EXPECT_EQ(node, std::string("\x01"
                              "\x00\x00\x00\x00"
                              "\x00\x00\x00\x00\x00\x00\x00\x07"
                              "\x01\x02\x03\x04\x05\x06\x07\x08",
                              21));
  EXPECT_TRUE(list_node::LooksValid(node));
  EXPECT_EQ(list_node::Count(node), 0u);
  EXPECT_EQ(list_node::Link(node, ListEnd::kLeft), 7u);
  EXPECT_EQ(list_node::Link(node, ListEnd::kRight), 0x0102030405060708u);
  EXPECT_TRUE(ElementsOf(node).empty());
}

TEST(ListNodeTest, LinksChangeInPlace) {
  std::string node = list_node::New(1, 2);
  list_node::Push(&node, ListEnd::kRight, "x");
  list_node::SetLink(&node, ListEnd::kLeft, 0);
  list_node::SetLink(&node, ListEnd::kRight, 99);
  EXPECT_EQ(list_node::Link(node, ListEnd::kLeft), 0u);
  EXPECT_EQ(list_node::Link(node, ListEnd::kRight), 99u);
  EXPECT_EQ(ElementsOf(node), Views{"x"});
}

TEST(ListNodeTest, PushesAndPopsAtBothEnds) {
  std::string node = list_node::New(0, 0);
  list_node::Push(&node, ListEnd::kRight, "b");
  list_node::Push(&node, ListEnd::kRight, std::string(300, 'c'));  // a two-byte varint length
  list_node::Push(&node, ListEnd::kLeft, "a");
  list_node::Push(&node, ListEnd::kLeft, "");
  EXPECT_EQ(list_node::Count(node), 4u);
  EXPECT_EQ(ElementsOf(node), (Views{"", "a", "b", std::string(300, 'c')}));
  // The entries are varint length + bytes, after the header.
  EXPECT_EQ(node.substr(list_node::kHeaderSize, 4), std::string("\x00\x01"
                                                                "a\x01",
                                                                4));

  std::string value = "old";
  ASSERT_TRUE(list_node::Pop(&node, ListEnd::kRight, &value));
  EXPECT_EQ(value, std::string(300, 'c'));
  ASSERT_TRUE(list_node::Pop(&node, ListEnd::kLeft, &value));
  EXPECT_EQ(value, "");
  EXPECT_EQ(ElementsOf(node), (Views{"a", "b"}));
  ASSERT_TRUE(list_node::Pop(&node, ListEnd::kLeft, &value));
  EXPECT_EQ(value, "a");
  ASSERT_TRUE(list_node::Pop(&node, ListEnd::kRight, &value));
  EXPECT_EQ(value, "b");
  EXPECT_EQ(list_node::Count(node), 0u);
  EXPECT_EQ(node, list_node::New(0, 0));  // back to an empty header
  EXPECT_FALSE(list_node::Pop(&node, ListEnd::kLeft, &value));
  EXPECT_FALSE(list_node::Pop(&node, ListEnd::kRight, &value));
  EXPECT_EQ(value, "b");
}

TEST(ListNodeTest, ElementFindsEachEntry) {
  std::string node = list_node::New(0, 0);
  for (const char* v : {"zero", "one", "two"}) list_node::Push(&node, ListEnd::kRight, v);
  std::size_t entry_at = 0;
  std::string_view value;
  ASSERT_TRUE(list_node::Element(node, 0, &entry_at, &value));
  EXPECT_EQ(value, "zero");
  EXPECT_EQ(entry_at, list_node::kHeaderSize);
  ASSERT_TRUE(list_node::Element(node, 2, &entry_at, &value));
  EXPECT_EQ(value, "two");
  EXPECT_EQ(entry_at, list_node::kHeaderSize + 5 + 4);  // after "zero" and "one"
  EXPECT_EQ(node.substr(entry_at), std::string("\x03two"));
  EXPECT_FALSE(list_node::Element(node, 3, &entry_at, &value));
}

TEST(ListNodeTest, RoomForStopsAtTheElementAndByteLimits) {
  std::string node = list_node::New(0, 0);
  EXPECT_TRUE(list_node::RoomFor(node, std::string(list_node::kMaxBytes - 31, 'x')));
  EXPECT_FALSE(list_node::RoomFor(node, std::string(list_node::kMaxBytes - 30, 'x')));
  for (std::uint32_t i = 0; i + 1 < list_node::kMaxElements; ++i) {
    list_node::Push(&node, ListEnd::kRight, "v");
  }
  EXPECT_TRUE(list_node::RoomFor(node, "v"));
  list_node::Push(&node, ListEnd::kRight, "v");
  EXPECT_EQ(list_node::Count(node), list_node::kMaxElements);
  EXPECT_FALSE(list_node::RoomFor(node, ""));  // full by count

  std::string big = list_node::New(0, 0);
  list_node::Push(&big, ListEnd::kRight, std::string(8000, 'b'));
  EXPECT_TRUE(list_node::RoomFor(big, std::string(8192 - big.size() - 10, 's')));
  EXPECT_FALSE(list_node::RoomFor(big, std::string(8192 - big.size() - 9, 's')));
}

TEST(ListNodeTest, MalformedNodesAreRefused) {
  EXPECT_FALSE(list_node::LooksValid(""));
  EXPECT_FALSE(list_node::LooksValid(list_node::New(0, 0).substr(0, 20)));  // short header
  std::string wrong_version = list_node::New(0, 0);
  wrong_version[0] = 2;
  EXPECT_FALSE(list_node::LooksValid(wrong_version));

  std::string node = list_node::New(0, 0);
  for (const char* v : {"ab", "cd"}) list_node::Push(&node, ListEnd::kRight, v);
  std::vector<std::string_view> out;
  std::size_t entry_at = 0;
  std::string_view value;
  std::string popped = "kept";

  // An entry cut short: its length says more bytes than the node has.
  std::string cut = node.substr(0, node.size() - 1);
  EXPECT_FALSE(list_node::Elements(cut, &out));
  EXPECT_FALSE(list_node::Element(cut, 1, &entry_at, &value));
  EXPECT_FALSE(list_node::Pop(&cut, ListEnd::kRight, &popped));
  EXPECT_EQ(popped, "kept");
  EXPECT_EQ(cut, node.substr(0, node.size() - 1));  // unchanged

  // A count that disagrees with the entries, either way.
  std::string more = node;
  more[4] = 3;
  out.clear();
  EXPECT_FALSE(list_node::Elements(more, &out));
  EXPECT_FALSE(list_node::Pop(&more, ListEnd::kRight, &popped));
  std::string fewer = node;
  fewer[4] = 1;
  out.clear();
  EXPECT_FALSE(list_node::Elements(fewer, &out));  // bytes left over

  // A varint that never ends.
  std::string endless = list_node::New(0, 0) + std::string(12, '\xff');
  endless[4] = 1;
  out.clear();
  EXPECT_FALSE(list_node::Elements(endless, &out));
  EXPECT_FALSE(list_node::Element(endless, 0, &entry_at, &value));
  EXPECT_FALSE(list_node::Pop(&endless, ListEnd::kLeft, &popped));
  EXPECT_EQ(popped, "kept");
}

}  // namespace
}  // namespace herald::storage
