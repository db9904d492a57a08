// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with everything in it when the
// object goes away. Every fixture that touches disk makes its own.
#pragma once

#include <string>

namespace herald::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Reads a whole file; "" when it cannot be read.
std::string ReadFile(const std::string& path);

// Writes `content` to `path` (replacing it) and returns `path`; throws when it cannot.
std::string WriteFile(const std::string& path, const std::string& content);

}  // namespace herald::testing
