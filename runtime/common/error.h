// Errors caused by what a user handed quorum: they name the file, the line and the field so
// the user can fix the input, and the CLI turns them into one message and a non-zero exit.
#pragma once

#include <stdexcept>
#include <string>

namespace quorum {

class InputError : public std::runtime_error {
 public:
  // file may be empty (command-line input); line 0 means "no line"; field may be empty.
  InputError(std::string file, std::size_t line, std::string field, const std::string& what);

  const std::string& file() const { return file_; }
  std::size_t line() const { return line_; }
  const std::string& field() const { return field_; }

 private:
  std::string file_;
  std::size_t line_;
  std::string field_;
};

}  // namespace quorum
