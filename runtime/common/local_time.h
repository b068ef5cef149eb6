// The wall-clock time people read in reports and job records.
#pragma once

#include <ctime>
#include <string>

namespace quorum {

// Now, in this machine's time zone: "2026-11-23 09:17:13".
inline std::string local_time_now() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

}  // namespace quorum
