// Python's str methods over UTF-8 text: templates index, slice, strip and split by code
// point, and strip what Python's str.isspace calls whitespace, so these work on code points.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace quorum::chat {

// Decodes UTF-8 (RenderError for invalid bytes) / encodes code points.
std::u32string to_code_points(const std::string& text);
std::string from_code_points(const std::u32string& code_points);

// Python's str.isspace for one code point.
bool python_isspace(char32_t c);

// str.strip/lstrip/rstrip(chars): chars std::nullopt strips whitespace.
std::string python_strip(const std::string& text, const std::optional<std::string>& chars, bool left, bool right);

// str.split(sep, maxsplit) (sep std::nullopt: runs of whitespace); maxsplit -1: no limit.
std::vector<std::string> python_split(const std::string& text, const std::optional<std::string>& sep,
                                      std::int64_t maxsplit);

// str.replace(old, new, count); count -1: all.
std::string python_replace(const std::string& text, const std::string& old, const std::string& replacement,
                           std::int64_t count);

// str.upper/lower/capitalize/title for ASCII letters; RenderError when the text has
// non-ASCII letters (Python would case-map them with Unicode tables quorum does not carry).
std::string python_upper(const std::string& text);
std::string python_lower(const std::string& text);
std::string python_capitalize(const std::string& text);
std::string python_title(const std::string& text);

// text[start:stop:step] with Python's slice rules on code points (absent bounds: nullopt).
std::string python_slice(const std::string& text, std::optional<std::int64_t> start,
                         std::optional<std::int64_t> stop, std::optional<std::int64_t> step);

// Normalises Python slice bounds for a sequence of length n; returns the selected indices.
std::vector<std::int64_t> slice_indices(std::int64_t n, std::optional<std::int64_t> start,
                                        std::optional<std::int64_t> stop, std::optional<std::int64_t> step);

}  // namespace quorum::chat
