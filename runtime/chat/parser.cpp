#include "runtime/chat/parser.h"

#include <set>

#include "runtime/chat/builtins.h"
#include "runtime/common/error.h"

namespace quorum::chat {
namespace {

const char* const kField = "chat_template";
// Deeper nesting than any published template needs; bounds the parser's and renderer's stacks.
constexpr int kMaxDepth = 200;

// Tags jinja2 (with transformers' extensions) knows but quorum does not render.
const std::set<std::string> kUnsupportedTags = {
    "macro", "endmacro", "call", "endcall", "filter", "endfilter", "block", "endblock", "extends",
    "include", "import", "from", "with", "endwith", "raw", "endraw", "autoescape", "endautoescape",
    "generation", "endgeneration", "do", "trans", "endtrans", "pluralize"};

class Parser {
 public:
  Parser(const std::vector<Segment>& segments, const std::string& name) : segments_(segments), name_(name) {}

  Body run() {
    std::string end_tag;
    Body body = parse_body({}, end_tag);
    return body;
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& message) const {
    throw InputError(name_, line, kField, message);
  }

  // ---- statements ----

  // Parses statements until one of end_tags (whose name is left in end_tag, its tokens at
  // tokens_ / index_ for the caller) or the end of the template (only when end_tags is empty).
  Body parse_body(const std::set<std::string>& end_tags, std::string& end_tag) {
    Body body;
    while (segment_ < segments_.size()) {
      const Segment& segment = segments_[segment_];
      if (segment.kind == Segment::Kind::Text) {
        auto stmt = std::make_unique<Stmt>();
        stmt->kind = Stmt::Kind::Text;
        stmt->line = segment.line;
        stmt->text = segment.text;
        body.push_back(std::move(stmt));
        ++segment_;
        continue;
      }
      begin_tokens(segment);
      if (segment.kind == Segment::Kind::Expression) {
        auto stmt = std::make_unique<Stmt>();
        stmt->kind = Stmt::Kind::Output;
        stmt->line = segment.line;
        stmt->expr = parse_expression();
        refuse_bare_tuple();
        expect_end();
        body.push_back(std::move(stmt));
        ++segment_;
        continue;
      }
      const Token& keyword = current();
      if (keyword.type != Token::Type::Name) fail(keyword.line, "expected a tag name after '{%'");
      if (end_tags.count(keyword.text)) {  // the caller reads the rest of this tag
        end_tag = keyword.text;
        next();
        return body;
      }
      body.push_back(parse_statement());
    }
    if (!end_tags.empty()) {
      std::string expected;
      for (const auto& tag : end_tags) expected += (expected.empty() ? "'" : " or '") + tag + "'";
      fail(segments_.empty() ? 0 : segments_.back().line, "unexpected end of template, expected " + expected);
    }
    return body;
  }

  std::unique_ptr<Stmt> parse_statement() {
    const Token keyword = current();
    // if and for tags nest by recursion here and in the renderer.
    DepthGuard guard(*this, keyword.line, /*tag=*/true);
    const std::string& tag = keyword.text;
    if (tag == "if") return parse_if();
    if (tag == "for") return parse_for();
    if (tag == "set") return parse_set();
    if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) fail(keyword.line, "'" + tag + "' outside of a loop");
      next();
      expect_end();
      ++segment_;
      auto stmt = std::make_unique<Stmt>();
      stmt->kind = tag == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue;
      stmt->line = keyword.line;
      return stmt;
    }
    if (kUnsupportedTags.count(tag)) fail(keyword.line, "unsupported tag '" + tag + "'");
    fail(keyword.line, "unknown tag '" + tag + "'");
  }

  std::unique_ptr<Stmt> parse_if() {
    auto stmt = std::make_unique<Stmt>();
    stmt->kind = Stmt::Kind::If;
    stmt->line = current().line;
    next();  // if
    while (true) {
      ExprPtr condition = parse_expression();
      expect_end();
      ++segment_;
      std::string end_tag;
      Body body = parse_body({"elif", "else", "endif"}, end_tag);
      stmt->branches.emplace_back(std::move(condition), std::move(body));
      if (end_tag == "elif") continue;
      if (end_tag == "else") {
        expect_end();
        ++segment_;
        stmt->else_body = parse_body({"endif"}, end_tag);
      }
      expect_end();
      ++segment_;
      return stmt;
    }
  }

  std::unique_ptr<Stmt> parse_for() {
    auto stmt = std::make_unique<Stmt>();
    stmt->kind = Stmt::Kind::For;
    stmt->line = current().line;
    next();  // for
    do {
      stmt->targets.push_back(expect_name("a loop variable"));
    } while (skip_operator(","));
    if (!skip_name("in")) fail(current().line, "expected 'in' in the for tag");
    stmt->expr = parse_or();  // jinja2 parses the iterable without "x if c else y"
    if (skip_name("if")) stmt->filter = parse_expression();
    if (current().type == Token::Type::Name && current().text == "recursive")
      fail(current().line, "unsupported loop modifier 'recursive'");
    expect_end();
    ++segment_;
    ++loop_depth_;
    std::string end_tag;
    stmt->body = parse_body({"else", "endfor"}, end_tag);
    --loop_depth_;
    if (end_tag == "else") {
      expect_end();
      ++segment_;
      stmt->else_body = parse_body({"endfor"}, end_tag);
    }
    expect_end();
    ++segment_;
    return stmt;
  }

  std::unique_ptr<Stmt> parse_set() {
    auto stmt = std::make_unique<Stmt>();
    stmt->kind = Stmt::Kind::Set;
    stmt->line = current().line;
    next();  // set
    stmt->targets.push_back(expect_name("a variable name"));
    if (skip_operator(".")) stmt->attribute = expect_name("an attribute name");
    if (is_operator(",")) fail(current().line, "unsupported construct: assignment to several names in 'set'");
    if (current().type == Token::Type::End) fail(current().line, "unsupported tag 'set' in its block form ({% set x %}...{% endset %})");
    if (!skip_operator("=")) fail(current().line, "expected '=' in the set tag");
    stmt->expr = parse_expression();
    refuse_bare_tuple();
    expect_end();
    ++segment_;
    return stmt;
  }

  // jinja2 reads "a, b" at the top of {{ }} or {% set %} as a tuple; quorum asks for parentheses.
  void refuse_bare_tuple() {
    if (is_operator(",")) fail(current().line, "unsupported construct: a tuple without parentheses");
  }

  // ---- tokens ----

  void begin_tokens(const Segment& segment) {
    tokens_ = &segment.tokens;
    index_ = 0;
  }
  const Token& current() const { return (*tokens_)[index_]; }
  const Token& peek(std::size_t ahead = 1) const {
    const std::size_t at = index_ + ahead < tokens_->size() ? index_ + ahead : tokens_->size() - 1;
    return (*tokens_)[at];
  }
  void next() {
    if (current().type != Token::Type::End) ++index_;
  }
  bool is_operator(const char* op) const { return current().type == Token::Type::Operator && current().text == op; }
  bool is_name(const char* name) const { return current().type == Token::Type::Name && current().text == name; }
  bool skip_operator(const char* op) {
    if (!is_operator(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* name) {
    if (!is_name(name)) return false;
    next();
    return true;
  }
  void expect_operator(const char* op) {
    if (!skip_operator(op)) fail(current().line, std::string("expected '") + op + "', got " + describe(current()));
  }
  std::string expect_name(const char* what) {
    if (current().type != Token::Type::Name) fail(current().line, std::string("expected ") + what + ", got " + describe(current()));
    std::string name = current().text;
    next();
    return name;
  }
  void expect_end() {
    if (current().type != Token::Type::End) fail(current().line, "unexpected " + describe(current()) + " before the end of the tag");
  }
  static std::string describe(const Token& token) {
    switch (token.type) {
      case Token::Type::End: return "end of tag";
      case Token::Type::String: return "string literal";
      case Token::Type::Integer:
      case Token::Type::Float: return "number";
      default: return "'" + token.text + "'";
    }
  }

  // ---- expressions (jinja2's precedence, loosest first) ----

  ExprPtr make(Expr::Kind kind, std::size_t line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  struct DepthGuard {
    // Expressions count in depth_, tags (if and for inside each other) in tag_depth_.
    DepthGuard(Parser& parser, std::size_t line, bool tag = false)
        : parser_(parser), depth_(tag ? parser.tag_depth_ : parser.depth_) {
      if (++depth_ > kMaxDepth) {
        --depth_;
        parser_.fail(line, std::string(tag ? "tags" : "expression") + " nested too deeply (more than " +
                               std::to_string(kMaxDepth) + " levels)");
      }
    }
    ~DepthGuard() { --depth_; }
    Parser& parser_;
    int& depth_;
  };

  ExprPtr parse_expression() {
    DepthGuard guard(*this, current().line);
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      const std::size_t line = current().line;
      next();
      auto conditional = make(Expr::Kind::Conditional, line);
      conditional->children.push_back(parse_or());
      conditional->children.push_back(std::move(expr));
      conditional->children.push_back(skip_name("else") ? parse_expression() : nullptr);
      expr = std::move(conditional);
    }
    return expr;
  }

  ExprPtr binary(const std::string& op, ExprPtr left, ExprPtr right, std::size_t line) {
    auto e = make(Expr::Kind::Binary, line);
    e->name = op;
    e->children.push_back(std::move(left));
    e->children.push_back(std::move(right));
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      const std::size_t line = current().line;
      next();
      left = binary("or", std::move(left), parse_and(), line);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      const std::size_t line = current().line;
      next();
      left = binary("and", std::move(left), parse_not(), line);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this, current().line);
      auto e = make(Expr::Kind::Not, current().line);
      next();
      e->children.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const std::size_t line = current().line;
    ExprPtr first = parse_math1();
    ExprPtr compare;
    while (true) {
      std::string op;
      if (current().type == Token::Type::Operator &&
          (current().text == "==" || current().text == "!=" || current().text == "<" || current().text == "<=" ||
           current().text == ">" || current().text == ">=")) {
        op = current().text;
        next();
      } else if (is_name("in")) {
        op = "in";
        next();
      } else if (is_name("not") && peek().type == Token::Type::Name && peek().text == "in") {
        op = "not in";
        next();
        next();
      } else {
        break;
      }
      if (!compare) {
        compare = make(Expr::Kind::Compare, line);
        compare->children.push_back(std::move(first));
      }
      compare->ops.push_back(op);
      compare->children.push_back(parse_math1());
    }
    return compare ? std::move(compare) : std::move(first);
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_operator("+") || is_operator("-")) {
      const std::string op = current().text;
      const std::size_t line = current().line;
      next();
      left = binary(op, std::move(left), parse_concat(), line);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_operator("~")) {
      const std::size_t line = current().line;
      next();
      left = binary("~", std::move(left), parse_math2(), line);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_operator("*") || is_operator("/") || is_operator("//") || is_operator("%")) {
      const std::string op = current().text;
      const std::size_t line = current().line;
      next();
      left = binary(op, std::move(left), parse_pow(), line);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_operator("**")) {
      const std::size_t line = current().line;
      next();
      left = binary("**", std::move(left), parse_unary(true), line);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this, current().line);
    ExprPtr node;
    if (is_operator("-") || is_operator("+")) {
      node = make(is_operator("-") ? Expr::Kind::Negate : Expr::Kind::Plus, current().line);
      next();
      node->children.push_back(parse_unary(false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& token = current();
    const std::size_t line = token.line;
    switch (token.type) {
      case Token::Type::Name: {
        auto e = make(Expr::Kind::Literal, line);
        if (token.text == "true" || token.text == "True") e->value = Value::from_bool(true);
        else if (token.text == "false" || token.text == "False") e->value = Value::from_bool(false);
        else if (token.text == "none" || token.text == "None") e->value = Value::none();
        else e->kind = Expr::Kind::Name, e->name = token.text;
        next();
        return e;
      }
      case Token::Type::String: {
        std::string text;
        while (current().type == Token::Type::String) {  // adjacent literals concatenate
          text += current().text;
          next();
        }
        auto e = make(Expr::Kind::Literal, line);
        e->value = Value::from_string(std::move(text));
        return e;
      }
      case Token::Type::Integer:
      case Token::Type::Float: {
        auto e = make(Expr::Kind::Literal, line);
        e->value = token.type == Token::Type::Integer ? Value::from_int(token.integer) : Value::from_float(token.number);
        next();
        return e;
      }
      case Token::Type::Operator:
        if (token.text == "(") {  // a parenthesized expression or a tuple: (), (a,), (a, b)
          next();
          auto tuple = make(Expr::Kind::Tuple, line);
          bool comma = false;
          while (!is_operator(")")) {
            if (!tuple->children.empty()) {
              expect_operator(",");
              comma = true;
              if (is_operator(")")) break;
            }
            tuple->children.push_back(parse_expression());
          }
          next();
          if (tuple->children.size() == 1 && !comma) return std::move(tuple->children[0]);
          return tuple;
        }
        if (token.text == "[") {
          next();
          auto e = make(Expr::Kind::List, line);
          while (!is_operator("]")) {
            if (!e->children.empty()) expect_operator(",");
            if (is_operator("]")) break;
            e->children.push_back(parse_expression());
          }
          next();
          return e;
        }
        if (token.text == "{") {
          next();
          auto e = make(Expr::Kind::Dict, line);
          while (!is_operator("}")) {
            if (!e->children.empty()) expect_operator(",");
            if (is_operator("}")) break;
            e->children.push_back(parse_expression());
            expect_operator(":");
            e->children.push_back(parse_expression());
          }
          next();
          return e;
        }
        break;
      default: break;
    }
    fail(line, "unexpected " + describe(token));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_operator(".") || is_operator("[")) node = parse_subscript(std::move(node));
      else if (is_operator("(")) node = parse_call(std::move(node));
      else return node;
    }
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_operator("|")) node = parse_filter(std::move(node));
      else if (is_name("is")) node = parse_test(std::move(node));
      else if (is_operator("(")) node = parse_call(std::move(node));
      else return node;
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    const std::size_t line = current().line;
    if (skip_operator(".")) {
      if (current().type == Token::Type::Integer) {  // foo.0 is foo[0]
        auto e = make(Expr::Kind::GetItem, line);
        auto index = make(Expr::Kind::Literal, line);
        index->value = Value::from_int(current().integer);
        next();
        e->children.push_back(std::move(node));
        e->children.push_back(std::move(index));
        return e;
      }
      auto e = make(Expr::Kind::GetAttr, line);
      e->name = expect_name("an attribute name");
      e->children.push_back(std::move(node));
      return e;
    }
    expect_operator("[");
    ExprPtr parts[3];
    bool is_slice = false;
    int part = 0;
    while (!is_operator("]")) {
      if (is_operator(":")) {
        is_slice = true;
        if (++part > 2) fail(current().line, "too many ':' in a slice");
        next();
        continue;
      }
      if (is_operator(",")) fail(current().line, "unsupported construct: tuple subscript");
      if (parts[part]) fail(current().line, "unexpected " + describe(current()) + " in a subscript");
      parts[part] = parse_expression();
    }
    next();
    if (!is_slice) {
      if (!parts[0]) fail(line, "empty subscript");
      auto e = make(Expr::Kind::GetItem, line);
      e->children.push_back(std::move(node));
      e->children.push_back(std::move(parts[0]));
      return e;
    }
    auto e = make(Expr::Kind::Slice, line);
    e->children.push_back(std::move(node));
    for (auto& p : parts) e->children.push_back(std::move(p));
    return e;
  }

  // Arguments of a call, filter or test: positional first, then name=value.
  void parse_arguments(Expr& e) {
    expect_operator("(");
    bool first = true;
    while (!is_operator(")")) {
      if (!first) expect_operator(",");
      first = false;
      if (is_operator(")")) break;
      if (is_operator("*") || is_operator("**")) fail(current().line, "unsupported construct: argument unpacking");
      if (current().type == Token::Type::Name && peek().type == Token::Type::Operator && peek().text == "=") {
        std::string keyword = current().text;
        next();
        next();
        e.keywords.emplace_back(std::move(keyword), parse_expression());
      } else {
        if (!e.keywords.empty()) fail(current().line, "a positional argument after a keyword argument");
        e.children.push_back(parse_expression());
      }
    }
    next();
  }

  ExprPtr parse_call(ExprPtr node) {
    auto e = make(Expr::Kind::Call, current().line);
    e->children.push_back(std::move(node));
    parse_arguments(*e);
    return e;
  }

  ExprPtr parse_filter(ExprPtr node) {
    const std::size_t line = current().line;
    next();  // |
    auto e = make(Expr::Kind::Filter, line);
    e->name = expect_name("a filter name");
    if (!is_known_filter(e->name)) fail(line, "unsupported filter '" + e->name + "'");
    e->children.push_back(std::move(node));
    if (is_operator("(")) parse_arguments(*e);
    return e;
  }

  ExprPtr parse_test(ExprPtr node) {
    const std::size_t line = current().line;
    next();  // is
    auto e = make(Expr::Kind::Test, line);
    e->negated = skip_name("not");
    // "none", "true" and "false" are test names here, not literals.
    e->name = expect_name("a test name");
    if (!is_known_test(e->name)) fail(line, "unsupported test '" + e->name + "'");
    e->children.push_back(std::move(node));
    if (is_operator("(")) {
      parse_arguments(*e);
    } else {
      const Token& t = current();
      const bool starts_argument =
          t.type == Token::Type::String || t.type == Token::Type::Integer || t.type == Token::Type::Float ||
          (t.type == Token::Type::Operator && (t.text == "[" || t.text == "{")) ||
          (t.type == Token::Type::Name && t.text != "else" && t.text != "or" && t.text != "and");
      if (starts_argument) e->children.push_back(parse_postfix(parse_primary()));
    }
    return e;
  }

  const std::vector<Segment>& segments_;
  const std::string& name_;
  std::size_t segment_ = 0;
  const std::vector<Token>* tokens_ = nullptr;
  std::size_t index_ = 0;
  int loop_depth_ = 0;
  int depth_ = 0;
  int tag_depth_ = 0;
};

}  // namespace

Body parse_template(const std::vector<Segment>& segments, const std::string& name) {
  return Parser(segments, name).run();
}

}  // namespace quorum::chat
