#include "runtime/common/files.h"

#include <fstream>

#include "runtime/common/error.h"

namespace quorum {

void write_file_atomically(const std::filesystem::path& path, const std::string& content) {
  const auto temporary = path.parent_path() / ("." + path.filename().string() + ".partial");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) throw InputError(temporary.string(), 0, "", "cannot write");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) throw InputError(path.string(), 0, "", "cannot rename into place: " + error.message());
}

}  // namespace quorum
