// Builds the statements of a chat template from its segments, with jinja2's grammar and
// operator precedence; every construct quorum does not render is refused here, by name.
#pragma once

#include <string>
#include <vector>

#include "runtime/chat/ast.h"
#include "runtime/chat/lexer.h"

namespace quorum::chat {

// InputError(name, line, "chat_template", ...) for a syntax error or an unsupported construct.
Body parse_template(const std::vector<Segment>& segments, const std::string& name);

}  // namespace quorum::chat
