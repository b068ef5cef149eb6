// Whole-file writes that a crash or a reader never sees half done.
#pragma once

#include <filesystem>
#include <string>

namespace quorum {

// Writes content beside path (".NAME.partial") and renames it into place: a reader sees the
// old file or the new one, never a mix. InputError naming the file when it cannot be written.
void write_file_atomically(const std::filesystem::path& path, const std::string& content);

}  // namespace quorum
