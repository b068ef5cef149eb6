#include "runtime/chat/renderer.h"

#include <cmath>
#include <unordered_map>

#include "runtime/chat/builtins.h"
#include "runtime/chat/python_text.h"
#include "runtime/common/error.h"

namespace quorum::chat {
namespace {

const char* const kField = "chat_template";

enum class Flow { Normal, Break, Continue };

// a op b on int64 with Python's result, or RenderError where Python would leave int64.
template <class Op>
std::int64_t checked(Op op, std::int64_t a, std::int64_t b) {
  std::int64_t result = 0;
  if (op(a, b, &result)) throw RenderError("integer overflow");
  return result;
}
bool add(std::int64_t a, std::int64_t b, std::int64_t* r) { return __builtin_add_overflow(a, b, r); }
bool subtract(std::int64_t a, std::int64_t b, std::int64_t* r) { return __builtin_sub_overflow(a, b, r); }
bool multiply(std::int64_t a, std::int64_t b, std::int64_t* r) { return __builtin_mul_overflow(a, b, r); }

std::int64_t as_integer(const Value& v) { return v.kind == Value::Kind::Bool ? v.boolean : v.integer; }
bool is_integral(const Value& v) { return v.kind == Value::Kind::Int || v.kind == Value::Kind::Bool; }

[[noreturn]] void unsupported_operands(const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) throw RenderError(undefined_message(a));
  if (b.is_undefined()) throw RenderError(undefined_message(b));
  throw RenderError("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
}

Value repeat(const Value& sequence, std::int64_t times) {
  const std::size_t size = sequence.is_string() ? sequence.text.size() : sequence.list->size();
  if (times <= 0 || size == 0) return sequence.is_string() ? Value::from_string("") : Value::from_list({}, sequence.sequence);
  // Divided, not multiplied: size * times wraps around for a huge count.
  if (sequence.is_string()) {
    if (static_cast<std::uint64_t>(times) > kMaxStringBytes / size) throw RenderError("repeated string too long");
    std::string out;
    out.reserve(size * static_cast<std::size_t>(times));
    for (std::int64_t i = 0; i < times; ++i) out += sequence.text;
    return Value::from_string(std::move(out));
  }
  if (static_cast<std::uint64_t>(times) > kMaxSequenceItems / size) throw RenderError("repeated list too long");
  std::vector<Value> out;
  for (std::int64_t i = 0; i < times; ++i) out.insert(out.end(), sequence.list->begin(), sequence.list->end());
  return Value::from_list(std::move(out), sequence.sequence);
}

// Python's binary arithmetic operators on the values templates meet.
Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") {
    std::string left = a.str(), right = b.str();
    check_string_size(left.size() + right.size(), "~");
    return Value::from_string(std::move(left) + right);
  }
  const bool numbers = a.is_number() && b.is_number();
  const bool integers = is_integral(a) && is_integral(b);
  if (op == "+") {
    if (integers) return Value::from_int(checked(add, as_integer(a), as_integer(b)));
    if (numbers) return Value::from_float(a.as_double() + b.as_double());
    if (a.is_string() && b.is_string()) {
      check_string_size(a.text.size() + b.text.size(), "+");
      return Value::from_string(a.text + b.text);
    }
    if (a.is_list() && b.is_list() && a.sequence == b.sequence &&
        (a.sequence == Value::Sequence::List || a.sequence == Value::Sequence::Tuple)) {
      std::vector<Value> items = *a.list;
      items.insert(items.end(), b.list->begin(), b.list->end());
      return Value::from_list(std::move(items), a.sequence);
    }
    unsupported_operands(op, a, b);
  }
  if (op == "-") {
    if (integers) return Value::from_int(checked(subtract, as_integer(a), as_integer(b)));
    if (numbers) return Value::from_float(a.as_double() - b.as_double());
    unsupported_operands(op, a, b);
  }
  if (op == "*") {
    if (integers) return Value::from_int(checked(multiply, as_integer(a), as_integer(b)));
    if (numbers) return Value::from_float(a.as_double() * b.as_double());
    auto repeatable = [](const Value& v) {
      return v.is_string() || (v.is_list() && (v.sequence == Value::Sequence::List || v.sequence == Value::Sequence::Tuple));
    };
    if (repeatable(a) && is_integral(b)) return repeat(a, as_integer(b));
    if (is_integral(a) && repeatable(b)) return repeat(b, as_integer(a));
    unsupported_operands(op, a, b);
  }
  if (op == "%" && a.is_string()) throw RenderError("unsupported construct: string formatting with '%'");
  if (!numbers) unsupported_operands(op, a, b);
  if (op == "/") {
    if (b.as_double() == 0) throw RenderError("division by zero");
    return Value::from_float(a.as_double() / b.as_double());
  }
  if (op == "//" || op == "%") {
    if (integers) {
      const std::int64_t x = as_integer(a), y = as_integer(b);
      if (y == 0) throw RenderError("integer division or modulo by zero");
      if (x == INT64_MIN && y == -1) throw RenderError("integer overflow");
      std::int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) --q, m += y;  // Python floors
      return Value::from_int(op == "//" ? q : m);
    }
    const double x = a.as_double(), y = b.as_double();
    if (y == 0) throw RenderError("float division or modulo by zero");
    // CPython's float divmod.
    double m = std::fmod(x, y);
    double div = (x - m) / y;
    if (m != 0) {
      if ((y < 0) != (m < 0)) m += y, div -= 1.0;
    } else {
      m = std::copysign(0.0, y);
    }
    if (op == "%") return Value::from_float(m);
    if (div == 0) return Value::from_float(std::copysign(0.0, x / y));
    double floor_div = std::floor(div);
    if (div - floor_div > 0.5) floor_div += 1.0;
    return Value::from_float(floor_div);
  }
  if (op == "**") {
    if (integers && as_integer(b) >= 0) {
      const std::int64_t base = as_integer(a), exponent = as_integer(b);
      // Bases 0, 1 and -1 never overflow: multiplying `exponent` times would not end.
      if (base == 0) return Value::from_int(exponent == 0 ? 1 : 0);
      if (base == 1) return Value::from_int(1);
      if (base == -1) return Value::from_int(exponent % 2 == 0 ? 1 : -1);
      std::int64_t result = 1;  // |base| >= 2: overflows within 63 steps
      for (std::int64_t e = exponent; e > 0; --e) result = checked(multiply, result, base);
      return Value::from_int(result);
    }
    const double base = a.as_double(), exponent = b.as_double();
    if (base == 0 && exponent < 0) throw RenderError("zero to a negative power");
    if (base < 0 && exponent != std::floor(exponent)) throw RenderError("unsupported: a complex power");
    const double result = std::pow(base, exponent);
    if (std::isinf(result) && std::isfinite(base) && std::isfinite(exponent)) throw RenderError("numerical result out of range");
    return Value::from_float(result);
  }
  throw RenderError("unsupported operator '" + op + "'");
}

class Renderer {
 public:
  Renderer(const std::string& name, const Value& context) : name_(name) {
    scopes_.emplace_back();
    for (auto& [key, value] : global_functions().items) scopes_.back()[key] = value;
    scopes_.emplace_back();
    for (const auto& [key, value] : context.dict->items) scopes_.back()[key] = value;
  }

  std::string run(const Body& body) {
    try {
      exec(body);
    } catch (const TemplateRaised& raised) {
      throw InputError(name_, 0, kField, raised.what());
    }
    return std::move(out_);
  }

 private:
  using Scope = std::unordered_map<std::string, Value>;

  void emit(const std::string& text) {
    if (out_.size() + text.size() > kMaxRenderedBytes)
      throw RenderError("rendered text exceeds " + std::to_string(kMaxRenderedBytes) + " bytes");
    out_ += text;
  }

  Flow exec(const Body& body) {
    for (const auto& stmt : body) {
      Flow flow;
      try {
        flow = exec(*stmt);
      } catch (const RenderError& error) {
        throw InputError(name_, stmt->line, kField, error.what());
      }
      if (flow != Flow::Normal) return flow;
    }
    return Flow::Normal;
  }

  // The render's cost in steps (kMaxRenderSteps), weighed so that a step takes about the same
  // time whatever the template does: a statement or expression is one, a loop iteration
  // (its loop object) eight, every item of a list an operation makes or a comparison reads
  // two, every KB of a string made or copied one, every 16 bytes of a string read by a
  // filter, test, index, slice or method one. (len() and the like, O(1) on a list, cost one:
  // charging them by the list's size made a loop over the messages quadratic.)
  static std::uint64_t weight(const Value& v) {
    return (v.is_list() ? 2 * static_cast<std::uint64_t>(v.list->size()) : 0) + v.text.size() / 1024;
  }
  // A string that a filter, test, slice or method reads character by character: one step per
  // 16 bytes, charged before the work (decoding code points is much slower than copying).
  void charge_reading(const Value& v) { charge(v.text.size() / 16); }
  void charge(std::uint64_t steps) {
    steps_ += steps;
    if (steps_ > kMaxRenderSteps)
      throw RenderError("the template ran more than " + std::to_string(kMaxRenderSteps) +
                        " steps (a loop over a huge range, or huge values copied many times)");
  }

  Flow exec(const Stmt& stmt) {
    charge(1);
    switch (stmt.kind) {
      case Stmt::Kind::Text: emit(stmt.text); return Flow::Normal;
      case Stmt::Kind::Output: {
        const Value v = eval(*stmt.expr);
        if (v.kind == Value::Kind::Function) throw RenderError("cannot print a function");
        emit(v.str());
        return Flow::Normal;
      }
      case Stmt::Kind::If:
        for (const auto& [condition, body] : stmt.branches)
          if (eval(*condition).truthy()) return exec(body);
        return exec(stmt.else_body);
      case Stmt::Kind::For: return exec_for(stmt);
      case Stmt::Kind::Set: {
        Value v = eval(*stmt.expr);
        if (stmt.attribute.empty()) {
          scopes_.back()[stmt.targets[0]] = std::move(v);
        } else {
          const Value target = lookup(stmt.targets[0]);
          if (target.kind != Value::Kind::Namespace) throw RenderError("cannot assign attribute on non-namespace object");
          check_namespace_attribute(v);
          target.dict->set(stmt.attribute, std::move(v));
        }
        return Flow::Normal;
      }
      case Stmt::Kind::Break: return Flow::Break;
      case Stmt::Kind::Continue: return Flow::Continue;
    }
    return Flow::Normal;
  }

  void bind_targets(Scope& scope, const std::vector<std::string>& targets, const Value& item) {
    if (targets.size() == 1) {
      scope[targets[0]] = item;
      return;
    }
    const std::vector<Value> parts = iterate(item);
    if (parts.size() != targets.size())
      throw RenderError("cannot unpack " + std::to_string(parts.size()) + " values into " + std::to_string(targets.size()) + " loop variables");
    for (std::size_t i = 0; i < targets.size(); ++i) scope[targets[i]] = parts[i];
  }

  Flow exec_for(const Stmt& stmt) {
    std::vector<Value> items = iterate(eval(*stmt.expr));
    if (stmt.filter) {
      std::vector<Value> kept;
      for (const Value& item : items) {
        scopes_.emplace_back();
        bind_targets(scopes_.back(), stmt.targets, item);
        const bool keep = eval(*stmt.filter).truthy();
        scopes_.pop_back();
        if (keep) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) return exec(stmt.else_body);
    const auto n = static_cast<std::int64_t>(items.size());
    for (std::int64_t i = 0; i < n; ++i) {
      charge(8);  // an iteration, even of an empty body
      Dict loop;
      loop.set("index0", Value::from_int(i));
      loop.set("index", Value::from_int(i + 1));
      loop.set("revindex0", Value::from_int(n - i - 1));
      loop.set("revindex", Value::from_int(n - i));
      loop.set("first", Value::from_bool(i == 0));
      loop.set("last", Value::from_bool(i == n - 1));
      loop.set("length", Value::from_int(n));
      loop.set("depth0", Value::from_int(0));
      loop.set("depth", Value::from_int(1));
      if (i > 0) loop.set("previtem", items[i - 1]);
      if (i + 1 < n) loop.set("nextitem", items[i + 1]);
      scopes_.emplace_back();
      Value loop_object = Value::from_dict(std::move(loop));
      loop_object.object_type = "LoopContext";
      scopes_.back()["loop"] = std::move(loop_object);
      bind_targets(scopes_.back(), stmt.targets, items[i]);
      Flow flow;
      try {
        flow = exec(stmt.body);
      } catch (...) {
        scopes_.pop_back();
        throw;
      }
      scopes_.pop_back();
      if (flow == Flow::Break) break;
    }
    return Flow::Normal;
  }

  Value lookup(const std::string& name) const {
    for (auto scope = scopes_.rbegin(); scope != scopes_.rend(); ++scope) {
      const auto found = scope->find(name);
      if (found != scope->end()) return found->second;
    }
    return Value::undefined("'" + name + "' is undefined");
  }

  std::optional<std::int64_t> slice_bound(const Expr* e) {
    if (!e) return std::nullopt;
    const Value v = eval(*e);
    if (v.is_none()) return std::nullopt;
    if (!is_integral(v)) throw RenderError("slice indices must be integers or None");
    return as_integer(v);
  }

  Value eval(const Expr& e) {
    Value v = evaluate(e);
    // A list looked up is shared, not copied: only a string's bytes are.
    const bool lookup = e.kind == Expr::Kind::Name || e.kind == Expr::Kind::Literal || e.kind == Expr::Kind::GetAttr ||
                        e.kind == Expr::Kind::GetItem;
    if (!lookup && v.is_string()) check_string_size(v.text.size(), "a computed value");
    charge(1 + (lookup ? v.text.size() / 1024 : weight(v)));
    return v;
  }

  Value evaluate(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::Literal: return e.value;
      case Expr::Kind::Name: return lookup(e.name);
      case Expr::Kind::List:
      case Expr::Kind::Tuple: {
        std::vector<Value> items;
        for (const auto& child : e.children) items.push_back(eval(*child));
        return Value::from_list(std::move(items), e.kind == Expr::Kind::Tuple ? Value::Sequence::Tuple : Value::Sequence::List);
      }
      case Expr::Kind::Dict: {
        Dict d;
        for (std::size_t i = 0; i + 1 < e.children.size(); i += 2) {
          const Value key = eval(*e.children[i]);
          if (!key.is_string()) throw RenderError("unsupported construct: a dict key that is not a string");
          d.set(key.text, eval(*e.children[i + 1]));
        }
        return Value::from_dict(std::move(d));
      }
      case Expr::Kind::GetAttr: {
        const Value object = eval(*e.children[0]);
        charge_reading(object);  // a string's attributes are its methods
        return get_attribute(object, e.name);
      }
      case Expr::Kind::GetItem: {
        const Value object = eval(*e.children[0]);
        charge_reading(object);  // a string is indexed by code point
        return get_item(object, eval(*e.children[1]));
      }
      case Expr::Kind::Slice: {
        const Value object = eval(*e.children[0]);
        const auto start = slice_bound(e.children[1].get());
        const auto stop = slice_bound(e.children[2].get());
        const auto step = slice_bound(e.children[3].get());
        charge_reading(object);
        if (object.is_string()) return Value::from_string(python_slice(object.text, start, stop, step));
        if (object.is_indexable()) {
          std::vector<Value> items;
          for (std::int64_t i : slice_indices(static_cast<std::int64_t>(object.list->size()), start, stop, step))
            items.push_back((*object.list)[i]);
          return Value::from_list(std::move(items), object.sequence);
        }
        if (object.is_undefined()) throw RenderError(undefined_message(object));
        // jinja2 answers a failed subscript with an undefined.
        return Value::undefined("'" + object.type_name() + " object' is not subscriptable");
      }
      case Expr::Kind::Call: {
        const Value callee = eval(*e.children[0]);
        if (callee.is_undefined()) throw RenderError(undefined_message(callee));
        if (callee.kind != Value::Kind::Function) throw RenderError("'" + callee.type_name() + "' object is not callable");
        Args args;
        Kwargs kwargs;
        evaluate_arguments(e, 1, args, kwargs);
        return (*callee.function)(args, kwargs);
      }
      case Expr::Kind::Filter: {
        const Value operand = eval(*e.children[0]);
        Args args;
        Kwargs kwargs;
        evaluate_arguments(e, 1, args, kwargs);
        charge_reading(operand);
        return apply_filter(e.name, operand, args, kwargs);
      }
      case Expr::Kind::Test: {
        const Value operand = eval(*e.children[0]);
        Args args;
        Kwargs kwargs;
        evaluate_arguments(e, 1, args, kwargs);
        charge_reading(operand);
        if (!kwargs.empty()) throw RenderError("test '" + e.name + "' takes no keyword arguments");
        return Value::from_bool(apply_test(e.name, operand, args) != e.negated);
      }
      case Expr::Kind::Not: return Value::from_bool(!eval(*e.children[0]).truthy());
      case Expr::Kind::Negate:
      case Expr::Kind::Plus: {
        const Value v = eval(*e.children[0]);
        if (v.is_undefined()) throw RenderError(undefined_message(v));
        if (!v.is_number()) throw RenderError("bad operand type for unary " + std::string(e.kind == Expr::Kind::Negate ? "-" : "+") + ": '" + v.type_name() + "'");
        if (e.kind == Expr::Kind::Plus) return is_integral(v) ? Value::from_int(as_integer(v)) : v;
        if (is_integral(v)) {
          if (as_integer(v) == INT64_MIN) throw RenderError("integer overflow");
          return Value::from_int(-as_integer(v));
        }
        return Value::from_float(-v.number);
      }
      case Expr::Kind::Binary: {
        if (e.name == "and" || e.name == "or") {  // Python: the deciding operand itself
          Value left = eval(*e.children[0]);
          if (left.truthy() == (e.name == "or")) return left;
          return eval(*e.children[1]);
        }
        const Value left = eval(*e.children[0]);
        return arithmetic(e.name, left, eval(*e.children[1]));
      }
      case Expr::Kind::Compare: {
        Value left = eval(*e.children[0]);
        for (std::size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.children[i + 1]);
          charge(weight(left) + weight(right));  // == and `in` read whole lists and strings
          const std::string& op = e.ops[i];
          bool holds;
          if (op == "==") holds = equal(left, right);
          else if (op == "!=") holds = !equal(left, right);
          else if (op == "in") holds = python_contains(right, left);
          else if (op == "not in") holds = !python_contains(right, left);
          else holds = python_compare(op, left, right);
          if (!holds) return Value::from_bool(false);
          left = std::move(right);
        }
        return Value::from_bool(true);
      }
      case Expr::Kind::Conditional:
        if (eval(*e.children[0]).truthy()) return eval(*e.children[1]);
        if (e.children[2]) return eval(*e.children[2]);
        return Value::undefined("the conditional expression had no else branch");
    }
    throw RenderError("unknown expression");
  }

  void evaluate_arguments(const Expr& e, std::size_t first, Args& args, Kwargs& kwargs) {
    for (std::size_t i = first; i < e.children.size(); ++i) args.push_back(eval(*e.children[i]));
    for (const auto& [key, value] : e.keywords) kwargs.emplace_back(key, eval(*value));
  }

  const std::string& name_;
  std::vector<Scope> scopes_;
  std::string out_;
  std::uint64_t steps_ = 0;
};

}  // namespace

std::string render_template(const Body& body, const std::string& name, const Value& context) {
  return Renderer(name, context).run(body);
}

}  // namespace quorum::chat
