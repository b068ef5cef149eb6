// Helpers shared by the fuzz targets: the parsers that read files get the input through a
// scratch file of this process's own, removed again after each input.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace quorum::fuzz {

// A scratch folder for this process (libFuzzer's -jobs/-fork workers each get their own),
// removed when the process exits normally (a crash leaves it, beside its finding).
inline const std::filesystem::path& scratch_folder() {
  struct Folder {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("quorum-fuzz-" + std::to_string(::getpid()));
    Folder() { std::filesystem::create_directories(path); }
    ~Folder() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Folder folder;
  return folder.path;
}

// Writes bytes to scratch_folder()/name and removes the file when it goes out of scope.
class ScratchFile {
 public:
  ScratchFile(const std::string& name, const std::uint8_t* data, std::size_t size)
      : path_(scratch_folder() / name) {
    std::filesystem::create_directories(path_.parent_path());
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  ~ScratchFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  std::string path() const { return path_.string(); }
  std::string folder() const { return path_.parent_path().string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace quorum::fuzz
