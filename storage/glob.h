// Redis glob patterns, as KEYS, SCAN and CONFIG GET match them: * (any run), ? (any byte),
// [abc], [^a], [a-z] (a class; a reversed range works too), \x (x itself). Case-sensitive,
// byte-wise, with Redis's guards against patterns that would take exponential time and its
// nesting limit (a pattern nested deeper than 1000 stars matches nothing).
//
// Thread safety: pure functions; thread-safe.
#pragma once

#include <string_view>

namespace herald::storage {

// Redis's stringmatchlen (util.c). Note that "*" does not match the empty string there; KEYS
// and SCAN treat a lone "*" as "every key" before calling it.
bool GlobMatch(std::string_view pattern, std::string_view text);

// The bytes of `pattern` before its first special character (* ? [ \): every text it matches
// starts with them, so a sorted key range can start there.
std::string_view GlobLiteralPrefix(std::string_view pattern);

}  // namespace herald::storage
