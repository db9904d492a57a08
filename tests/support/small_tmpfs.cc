#include "tests/support/small_tmpfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace herald::testing {

SmallTmpfs::SmallTmpfs(std::string mount_point) : mount_point_(std::move(mount_point)) {
  std::filesystem::create_directories(mount_point_);
}

SmallTmpfs::~SmallTmpfs() {
  if (mounted_) umount2(mount_point_.c_str(), MNT_DETACH);
}

std::string SmallTmpfs::Mount(const std::string& size) {
  const std::string options = "size=" + size;
  if (mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
    return std::strerror(errno);
  }
  mounted_ = true;
  return "";
}

bool SmallTmpfs::Resize(const std::string& size) {
  const std::string options = "size=" + size;
  return mount("tmpfs", mount_point_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0;
}

bool SmallTmpfs::Fill() {
  const std::string path = mount_point_ + "/filler";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return false;
  const std::vector<char> zeros(64 * 1024, 0);
  std::size_t chunk = zeros.size();
  // Smaller and smaller writes take the last pages too.
  while (chunk > 0) {
    if (write(fd, zeros.data(), chunk) < 0) chunk /= 2;
  }
  close(fd);
  return true;
}

}  // namespace herald::testing
