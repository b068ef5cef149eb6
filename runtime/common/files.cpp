#include "runtime/common/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/common/error.h"

namespace quorum {

void write_file_atomically(const std::filesystem::path& path, const std::string& content) {
  const auto temporary = path.parent_path() / ("." + path.filename().string() + ".partial");
  // Plain POSIX calls, for the errno that says why (a full disk: "No space left on device").
  const auto fail = [&](const std::string& what) {
    const std::string reason = std::strerror(errno);
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);  // a partial file left behind would only take space
    throw InputError(path.string(), 0, "", what + ": " + reason);
  };
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot write");
  for (std::size_t written = 0; written < content.size();) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      errno = error;
      fail("cannot write");
    }
    written += static_cast<std::size_t>(n);
  }
  // On the disk before the rename: after a crash the name holds the old file or the whole new one.
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    errno = error;
    fail("cannot write");
  }
  if (::close(fd) != 0) fail("cannot write");
  if (::rename(temporary.c_str(), path.c_str()) != 0) fail("cannot rename into place");
}

}  // namespace quorum
