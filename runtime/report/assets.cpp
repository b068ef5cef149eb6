#include "runtime/report/assets.h"

// Each file is placed in the object's read-only data by the assembler's .incbin, between two
// symbols; CMake passes the paths (QUORUM_ASSET_*) and makes this object depend on the files.
// A zero byte after each keeps the end symbol inside the section even for an empty file.
#define QUORUM_EMBED(symbol, path)                                              \
  __asm__(".pushsection .rodata\n"                                              \
          ".balign 16\n"                                                        \
          ".global " #symbol "_begin\n" #symbol "_begin:\n"                     \
          ".incbin \"" path "\"\n"                                              \
          ".global " #symbol "_end\n" #symbol "_end:\n"                         \
          ".byte 0\n"                                                           \
          ".popsection\n");                                                     \
  extern "C" const char symbol##_begin[];                                       \
  extern "C" const char symbol##_end[];

QUORUM_EMBED(quorum_asset_vega, QUORUM_ASSET_VEGA)
QUORUM_EMBED(quorum_asset_vega_lite, QUORUM_ASSET_VEGA_LITE)
QUORUM_EMBED(quorum_asset_vega_embed, QUORUM_ASSET_VEGA_EMBED)
QUORUM_EMBED(quorum_asset_report_js, QUORUM_ASSET_REPORT_JS)
QUORUM_EMBED(quorum_asset_report_css, QUORUM_ASSET_REPORT_CSS)

namespace quorum::report {
namespace {

std::string_view between(const char* begin, const char* end) {
  return {begin, static_cast<std::size_t>(end - begin)};
}

}  // namespace

Asset vega_js() {
  return {"vega " QUORUM_VEGA_VERSION, between(quorum_asset_vega_begin, quorum_asset_vega_end)};
}
Asset vega_lite_js() {
  return {"vega-lite " QUORUM_VEGA_LITE_VERSION, between(quorum_asset_vega_lite_begin, quorum_asset_vega_lite_end)};
}
Asset vega_embed_js() {
  return {"vega-embed " QUORUM_VEGA_EMBED_VERSION,
          between(quorum_asset_vega_embed_begin, quorum_asset_vega_embed_end)};
}
Asset report_js() { return {"report.js", between(quorum_asset_report_js_begin, quorum_asset_report_js_end)}; }
Asset report_css() { return {"report.css", between(quorum_asset_report_css_begin, quorum_asset_report_css_end)}; }

}  // namespace quorum::report
