// The files the HTML report inlines, compiled into the binary so that `quorum report` needs
// neither the network nor the source tree: Vega, Vega-Lite and vega-embed (npm packages pinned
// by web/package-lock.json, fetched by the build) and the report's own script and style sheet.
#pragma once

#include <string_view>

namespace quorum::report {

struct Asset {
  std::string_view name;     // e.g. "vega-lite 6.4.1", or "report.js"
  std::string_view content;
};

Asset vega_js();
Asset vega_lite_js();
Asset vega_embed_js();
Asset report_js();
Asset report_css();

}  // namespace quorum::report
