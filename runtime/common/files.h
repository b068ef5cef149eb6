// Whole-file writes that a crash or a reader never sees half done.
#pragma once

#include <filesystem>
#include <string>

namespace quorum {

// Writes content beside path (".NAME.partial"), flushes it to the disk and renames it into
// place: a reader, or the file system after a crash, shows the old file or the new one, never a
// mix or a truncated one. InputError naming the file and the reason (a full disk, say) when it
// cannot be written; the partial file is removed then.
void write_file_atomically(const std::filesystem::path& path, const std::string& content);

}  // namespace quorum
