// The parsed form of a chat template: expressions and statements as jinja2 builds them for
// the constructs quorum renders.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/chat/value.h"

namespace quorum::chat {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,      // value
    Name,         // name
    List,         // children: items
    Tuple,        // children: items
    Dict,         // children: key, value, key, value, ...
    GetAttr,      // children[0].name
    GetItem,      // children[0][children[1]]
    Slice,        // children[0][a:b:c]; children 1..3 may be null (absent bounds)
    Call,         // children[0](children[1..]; keyword arguments in keywords)
    Filter,       // children[0] | name(children[1..], keywords)
    Test,         // children[0] is [not] name(children[1..])
    Not,          // not children[0]
    Negate,       // -children[0]
    Plus,         // +children[0]
    Binary,       // children[0] op children[1]: + - * / // % ** ~ and or
    Compare,      // children[0] ops[0] children[1] ops[1] children[2] ... (chained, as Python)
    Conditional,  // children[1] if children[0] else children[2] (null: undefined)
  };
  Kind kind = Kind::Literal;
  std::size_t line = 0;
  Value value;
  std::string name;  // Name, GetAttr attribute, Call/Filter/Test name, Binary operator
  std::vector<ExprPtr> children;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  std::vector<std::string> ops;  // Compare: "==", "!=", "<", "<=", ">", ">=", "in", "not in"
  bool negated = false;          // Test: "is not"
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  enum class Kind { Text, Output, If, For, Set, Break, Continue };
  Kind kind = Kind::Text;
  std::size_t line = 0;
  std::string text;                                    // Text
  ExprPtr expr;                                        // Output, Set value, For iterable
  std::vector<std::pair<ExprPtr, Body>> branches;      // If: condition and body, in order
  Body else_body;                                      // If, For
  std::vector<std::string> targets;                    // For: loop variables; Set: one name
  std::string attribute;                               // Set: "ns.attribute = ..." when not empty
  ExprPtr filter;                                      // For: "for x in xs if cond"
  Body body;                                           // For
};

}  // namespace quorum::chat
