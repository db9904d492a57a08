// SmallTmpfs: a tmpfs of its own on a directory, for tests of a full disk. Mounting needs root
// or CAP_SYS_ADMIN; where it fails the test skips. Fill() takes what room is left, so that
// the next write that needs a new page fails with ENOSPC; Resize() gives room back.
#pragma once

#include <string>

namespace herald::testing {

class SmallTmpfs {
 public:
  // Creates `mount_point` (a directory in the test's TempDir); mounts nothing yet.
  explicit SmallTmpfs(std::string mount_point);
  ~SmallTmpfs();  // unmounts (lazily: files still open go on)
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  // Mounts a tmpfs of `size` ("8m"). "" when mounted, otherwise why not (strerror).
  std::string Mount(const std::string& size);
  // The mounted tmpfs gets the new `size` (files stay). False on error (errno kept).
  bool Resize(const std::string& size);
  // Writes a file of zeros until the disk is full. False when it could not be made.
  bool Fill();

  const std::string& path() const { return mount_point_; }

 private:
  std::string mount_point_;
  bool mounted_ = false;
};

}  // namespace herald::testing
