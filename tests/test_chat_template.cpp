// Chat templates (runtime/chat): the published templates of the policies quorum runs, rendered
// in C++ and by jinja2 set up as transformers sets it up (tests/reference/render_chat_template.py),
// compared byte for byte; raise_exception, undefined values, refusals and template loading.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/chat/chat_template.h"
#include "runtime/common/error.h"
#include "cli_runner.h"

namespace {

using quorum::InputError;
using quorum::chat::ChatTemplate;
using quorum::chat::Message;
using quorum::testing::TempDir;
using json = nlohmann::json;

const std::string kTemplates = std::string(QUORUM_TEST_DATA) + "/chat_templates/";

const std::vector<std::string> kPublished = {
    "qwen2.5_instruct.jinja",     "qwen2.5_math_instruct.jinja",          "qwen3.jinja",
    "llama3.1_instruct.jinja",    "llama3.2_instruct.jinja",              "mistral_instruct_v0.1_original.jinja",
    "mistral_instruct_v0.2.jinja", "mistral_instruct_v0.3.jinja"};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A conversation to render: messages (JSON, so they may carry tool_calls), the generation
// prompt flag and the further variables.
struct Case {
  std::string label;
  json messages;
  bool add_generation_prompt = true;
  json variables = json::object();
};

json to_json(const Case& c) {
  return {{"messages", c.messages}, {"add_generation_prompt", c.add_generation_prompt}, {"variables", c.variables}};
}

// jinja2's results for the cases: {"text": ...} or {"error": ...} each.
json reference_render(const std::string& template_file, const std::vector<Case>& cases) {
  TempDir dir("chat-reference");
  json list = json::array();
  for (const auto& c : cases) list.push_back(to_json(c));
  const std::string cases_path = dir.file("cases.json", list.dump());
  const std::string results_path = (dir.path() / "results.json").string();
  const std::string command = "/usr/bin/python3 " + std::string(QUORUM_TEST_DATA) +
                              "/../reference/render_chat_template.py " + template_file + " " + cases_path + " " +
                              results_path;
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  json results = json::parse(read_file(results_path));
  REQUIRE(results.size() == cases.size());
  return results;
}

// quorum's rendering: the text, or the InputError's message prefixed with "error: ".
std::string quorum_render(const ChatTemplate& tpl, const Case& c) {
  try {
    bool plain = true;  // messages with only role and content go through the main entry point
    std::vector<Message> messages;
    for (const auto& m : c.messages) {
      if (m.size() != 2 || !m.contains("role") || !m.contains("content") || !m["content"].is_string()) plain = false;
      else messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
    }
    if (plain) return tpl.render(messages, c.add_generation_prompt, c.variables);
    json context = c.variables;
    context["messages"] = c.messages;
    context["add_generation_prompt"] = c.add_generation_prompt;
    return tpl.render_context(context);
  } catch (const InputError& error) {
    return "error: " + std::string(error.what());
  }
}

// Renders every case both ways and checks they agree: the same bytes, or both refuse (with
// jinja2's message inside quorum's, for raise_exception).
void check_against_reference(const std::string& template_name, const std::vector<Case>& cases) {
  const std::string path = kTemplates + template_name;
  const ChatTemplate tpl = ChatTemplate::parse(read_file(path), path);
  const json reference = reference_render(path, cases);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO(template_name << " / " << cases[i].label << " / add_generation_prompt=" << cases[i].add_generation_prompt
                       << " / variables " << cases[i].variables.dump());
    const std::string ours = quorum_render(tpl, cases[i]);
    if (reference[i].contains("error")) {
      const std::string message = reference[i]["error"].get<std::string>();
      INFO("jinja2 refused: " << message);
      CHECK(ours.rfind("error: ", 0) == 0);
      CHECK(ours.find(message) != std::string::npos);
    } else {
      CHECK(ours == reference[i]["text"].get<std::string>());
    }
  }
}

const std::string kTricky =
    "Solve $\\frac{x^2}{2} = \\sqrt{\\pi}$ \\\\ \\n (not a newline) and \"double\" 'single' quotes,\n"
    "na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x99\x82 \xe2\x80\x94 {{ not a tag }} {% neither %}\n\n"
    "  indented\ttab\r\nCRLF  ";

json message(const std::string& role, const std::string& content) { return {{"role", role}, {"content", content}}; }

json tools() {
  return json::array({{{"type", "function"},
                       {"function",
                        {{"name", "get_weather"},
                         {"description", "Weather \xe2\x80\x94 now"},
                         {"parameters",
                          {{"type", "object"},
                           {"properties", {{"city", {{"type", "string"}}}, {"days", {{"type", "integer"}}}}},
                           {"required", json::array({"city"})}}}}}}});
}

// The conversations every template is checked on, with and without the generation prompt.
std::vector<Case> conversations(const json& base_variables) {
  const json system_user = json::array({message("system", "You are a careful mathematician."),
                                        message("user", "What is $2+2$? Please reason step by step.")});
  const json user_only = json::array({message("user", "Compute 17 * 23.")});
  const json multi_turn = json::array({message("system", "  Be brief.  \n"), message("user", "Hi"),
                                       message("assistant", "Hello! How can I help?"), message("user", "2+2?"),
                                       message("assistant", "4"), message("user", "And 3+3?")});
  const json tricky = json::array({message("system", kTricky), message("user", kTricky), message("assistant", kTricky),
                                   message("user", "  " + kTricky + "  ")});
  const json tricky_no_system = json::array({message("user", kTricky)});
  std::vector<Case> cases;
  for (const bool generation : {true, false}) {
    cases.push_back({"system + user", system_user, generation, base_variables});
    cases.push_back({"user only", user_only, generation, base_variables});
    cases.push_back({"multi-turn", multi_turn, generation, base_variables});
    cases.push_back({"tricky content", tricky, generation, base_variables});
    cases.push_back({"tricky content, no system", tricky_no_system, generation, base_variables});
    json with_tools = base_variables;
    with_tools["tools"] = tools();
    cases.push_back({"system + user with tools", system_user, generation, with_tools});
  }
  cases.push_back({"no messages", json::array(), true, base_variables});
  cases.push_back({"user after user", json::array({message("user", "a"), message("user", "b")}), true, base_variables});
  return cases;
}

json special_tokens(const std::string& bos, const std::string& eos) {
  return {{"bos_token", bos}, {"eos_token", eos}};
}

// Conversations with tool calls and tool results (the fields transformers passes through).
std::vector<Case> tool_conversations(const json& base_variables) {
  const json call = {{"id", "abc123XYZ"},
                     {"type", "function"},
                     {"function", {{"name", "get_weather"}, {"arguments", {{"city", "Paris"}, {"days", 3}}}}}};
  json assistant_call = message("assistant", "");
  assistant_call["tool_calls"] = json::array({call});
  json tool_result = message("tool", "{\"temperature\": 21.5}");
  tool_result["tool_call_id"] = "abc123XYZ";
  json two_calls = message("assistant", "Checking.");
  two_calls["tool_calls"] = json::array({call, call});
  json with_tools = base_variables;
  with_tools["tools"] = tools();
  std::vector<Case> cases;
  const json one_call_conversation = json::array(
      {message("system", "sys"), message("user", "Weather in Paris?"), assistant_call, tool_result,
       message("assistant", "It is 21.5 degrees.")});
  cases.push_back({"tool call and result", one_call_conversation, true, with_tools});
  cases.push_back({"tool call and result, no tools listed", one_call_conversation, false, base_variables});
  cases.push_back({"two tool calls", json::array({message("user", "Weather?"), two_calls, message("tool", "a"), message("tool", "b")}),
                   true, with_tools});
  json tools_in_system = with_tools;
  tools_in_system["tools_in_user_message"] = false;
  cases.push_back({"tools in the system message", json::array({message("user", "Weather?")}), true, tools_in_system});
  json builtin = base_variables;
  builtin["builtin_tools"] = json::array({"brave_search", "code_interpreter", "wolfram_alpha"});
  json search_call = message("assistant", "");
  search_call["tool_calls"] = json::array(
      {{{"function", {{"name", "brave_search"}, {"arguments", {{"query", "quorum \"sensing\""}}}}}}});
  cases.push_back({"builtin tools", json::array({message("user", "Search."), search_call,
                                                 {{"role", "ipython"}, {"content", {{"results", {1, 2.5, nullptr, true}}}}}}),
                   true, builtin});
  return cases;
}

}  // namespace

TEST_CASE("Qwen2.5 Instruct renders as transformers renders it", "[chat]") {
  auto cases = conversations(json::object());
  for (auto& c : tool_conversations(json::object())) cases.push_back(c);
  check_against_reference("qwen2.5_instruct.jinja", cases);
}

TEST_CASE("Qwen2.5-Math Instruct renders as transformers renders it", "[chat]") {
  auto cases = conversations(json::object());
  for (auto& c : tool_conversations(json::object())) cases.push_back(c);
  check_against_reference("qwen2.5_math_instruct.jinja", cases);
}

TEST_CASE("Qwen3 renders as transformers renders it, thinking included", "[chat]") {
  auto cases = conversations(json::object());
  for (auto& c : tool_conversations(json::object())) cases.push_back(c);
  const json thinking = json::array(
      {message("user", "q1"), message("assistant", "<think>\nfirst reasoning\n</think>\n\nanswer one"),
       message("user", "q2"), message("assistant", "<think>second</think>answer two")});
  cases.push_back({"think blocks in history", thinking, true});
  cases.push_back({"think blocks in history, last assistant", thinking, false});
  cases.push_back({"thinking disabled", json::array({message("user", "q")}), true, {{"enable_thinking", false}}});
  cases.push_back({"thinking enabled", json::array({message("user", "q")}), true, {{"enable_thinking", true}}});
  json reasoning = message("assistant", "final");
  reasoning["reasoning_content"] = "\nbecause\n";
  cases.push_back({"reasoning_content field", json::array({message("user", "q"), reasoning}), false});
  cases.push_back({"tool response as user turn",
                   json::array({message("user", "q"), message("assistant", "calling"),
                                message("user", "<tool_response>\n42\n</tool_response>")}),
                   true});
  check_against_reference("qwen3.jinja", cases);
}

TEST_CASE("Llama 3.1 and 3.2 Instruct render as transformers renders them", "[chat]") {
  for (const std::string name : {"llama3.1_instruct.jinja", "llama3.2_instruct.jinja"}) {
    json variables = special_tokens("<|begin_of_text|>", "<|eot_id|>");
    variables["date_string"] = "01 Dec 2026";
    auto cases = conversations(variables);
    for (auto& c : tool_conversations(variables)) cases.push_back(c);
    // Without date_string: Llama 3.1 falls back to "26 Jul 2024"; only 3.2 asks strftime_now,
    // checked on its own below.
    if (name == "llama3.1_instruct.jinja")
      cases.push_back({"default date", json::array({message("user", "Today?")}), true,
                       special_tokens("<|begin_of_text|>", "<|eot_id|>")});
    check_against_reference(name, cases);
  }
}

TEST_CASE("Llama 3.2 without date_string takes today's date from strftime_now, as transformers does", "[chat]") {
  const std::string path = kTemplates + "llama3.2_instruct.jinja";
  const ChatTemplate tpl = ChatTemplate::parse(read_file(path), path);
  const Case today{"today", json::array({message("user", "What day is it?")}), true, special_tokens("<s>", "</s>")};
  // Rendered before and after the reference, so that a date change during the test cannot fail it.
  const std::string before = quorum_render(tpl, today);
  const std::string reference = reference_render(path, {today})[0]["text"].get<std::string>();
  const std::string after = quorum_render(tpl, today);
  CHECK((reference == before || reference == after));
  CHECK(before.find("Today Date: 26 Jul 2024") == std::string::npos);

  // The same format string, rendered both ways through strftime_now directly.
  TempDir dir("chat-strftime");
  const std::string file = dir.file("strftime.jinja", "{{ strftime_now('%Y-%m-%d %A %B %j') }}|{{ strftime_now is defined }}");
  const ChatTemplate clock = ChatTemplate::parse(read_file(file), file);
  const Case plain{"strftime", json::array(), false};
  const std::string ours_before = quorum_render(clock, plain);
  const std::string theirs = reference_render(file, {plain})[0]["text"].get<std::string>();
  const std::string ours_after = quorum_render(clock, plain);
  CHECK((theirs == ours_before || theirs == ours_after));
  CHECK(theirs.size() > 10);
}

TEST_CASE("Mistral Instruct v0.1, v0.2 and v0.3 render as transformers renders them", "[chat]") {
  for (const std::string name :
       {"mistral_instruct_v0.1_original.jinja", "mistral_instruct_v0.2.jinja", "mistral_instruct_v0.3.jinja"}) {
    auto cases = conversations(special_tokens("<s>", "</s>"));
    for (auto& c : tool_conversations(special_tokens("<s>", "</s>"))) cases.push_back(c);
    check_against_reference(name, cases);
  }
}

TEST_CASE("Every construct quorum implements renders as jinja2 renders it", "[chat]") {
  const json messages = json::array({message("system", " sys "),
                                     {{"role", "user"}, {"content", "q1"}, {"name", "n"}},
                                     message("assistant", "a1"), message("tool", "t"), message("user", "q2"),
                                     message("user", "q3"), message("user", "q4"), message("user", "q5")});
  check_against_reference("features.jinja", {{"many messages", messages, true},
                                             {"no messages", json::array(), false},
                                             {"one message", json::array({message("user", kTricky)}), true}});
}

TEST_CASE("raise_exception gives an InputError carrying the template's message", "[chat]") {
  const std::string path = kTemplates + "mistral_instruct_v0.2.jinja";
  const ChatTemplate tpl = ChatTemplate::parse(read_file(path), path);
  try {
    tpl.render({{"user", "a"}, {"user", "b"}}, true, special_tokens("<s>", "</s>"));
    FAIL("two user turns in a row were rendered");
  } catch (const InputError& error) {
    CHECK(error.file() == path);
    CHECK(error.line() == 0);
    CHECK(error.field() == "chat_template");
    CHECK(std::string(error.what()).find("After the optional system message, conversation roles must alternate "
                                         "user/assistant/user/assistant/...") != std::string::npos);
  }
  const ChatTemplate direct = ChatTemplate::parse("ok {{ raise_exception('stop: ' ~ messages|length) }}", "inline");
  try {
    direct.render({{"user", "a"}}, false);
    FAIL("raise_exception did not raise");
  } catch (const InputError& error) {
    CHECK(std::string(error.what()) == "inline: field 'chat_template': stop: 1");
  }
}

TEST_CASE("Undefined values behave as jinja2's Undefined", "[chat]") {
  const ChatTemplate tpl = ChatTemplate::parse(
      "[{{ missing }}]{% if missing %}yes{% else %}no{% endif %} {{ missing is defined }} {{ missing|length }} "
      "{{ messages[0].absent is defined }} {{ missing|default('d') }} {% for x in missing %}x{% endfor %}",
      "undefined");
  CHECK(tpl.render({{"user", "hi"}}, false) == "[]no False 0 False d ");
  const ChatTemplate attribute = ChatTemplate::parse("a\n{{ missing.attr }}", "attribute");
  try {
    attribute.render({}, false);
    FAIL("an attribute of an undefined was rendered");
  } catch (const InputError& error) {
    CHECK(error.line() == 2);
    CHECK(std::string(error.what()).find("'missing' is undefined") != std::string::npos);
  }
  const ChatTemplate item = ChatTemplate::parse("{{ messages[0]['content'] }}", "item");
  CHECK_THROWS_WITH(item.render({}, false), Catch::Contains("list object has no element 0"));
  const ChatTemplate arithmetic = ChatTemplate::parse("{{ missing + 'x' }}", "arithmetic");
  CHECK_THROWS_AS(arithmetic.render({}, false), InputError);
}

TEST_CASE("Constructs quorum does not render are refused at parse time, by name", "[chat]") {
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"{% macro f() %}x{% endmacro %}", "unsupported tag 'macro'"},
      {"{{ x|xyz }}", "unsupported filter 'xyz'"},
      {"{{ x is prime }}", "unsupported test 'prime'"},
      {"{% generation %}x{% endgeneration %}", "unsupported tag 'generation'"},
      {"{% include 'other.jinja' %}", "unsupported tag 'include'"},
      {"{% raw %}{{ x }}{% endraw %}", "unsupported tag 'raw'"},
      {"{% set x %}block{% endset %}", "block form"},
      {"{% set a, b = [1, 2] %}", "several names"},
      {"{% for x in xs recursive %}{% endfor %}", "recursive"},
      {"{{ 1, 2 }}", "a tuple without parentheses"},
      {"{{ f(*args) }}", "argument unpacking"},
      {"{% frobnicate %}", "unknown tag 'frobnicate'"},
      {"{% if x %}never closed", "unexpected end of template"},
      {"{{ 'unterminated }}", "unterminated string"},
      {"{{ x ", "unterminated '{{'"},
      {"{% break %}", "'break' outside of a loop"},
      {"line 1\nline 2\n{{ x | }}", "expected a filter name"},
  };
  for (const auto& [source, expected] : refused) {
    INFO(source);
    try {
      ChatTemplate::parse(source, "refused.jinja");
      FAIL("parsed: " << source);
    } catch (const InputError& error) {
      CHECK(std::string(error.what()).find(expected) != std::string::npos);
      CHECK(error.file() == "refused.jinja");
      CHECK(error.field() == "chat_template");
    }
  }
  try {
    ChatTemplate::parse("line 1\nline 2\n{{ x | }}", "lines");
  } catch (const InputError& error) {
    CHECK(error.line() == 3);
  }
  // Python features a template may reach at render time that quorum does not compute.
  CHECK_THROWS_WITH(ChatTemplate::parse("{{ '%s' % 1 }}", "t").render({}, false), Catch::Contains("string formatting"));
  CHECK_THROWS_WITH(ChatTemplate::parse("{{ 'x'.format(1) }}", "t").render({}, false),
                    Catch::Contains("unsupported str method 'format'"));
  CHECK_THROWS_WITH(ChatTemplate::parse("{{ messages.append(1) }}", "t").render({}, false),
                    Catch::Contains("unsupported list method 'append'"));
  CHECK_THROWS_WITH(ChatTemplate::parse("{{ 'ü'|upper }}", "t").render({}, false), Catch::Contains("non-ASCII"));
  // Python prints a generator, a range or the loop object with its type and memory address.
  CHECK_THROWS_WITH(ChatTemplate::parse("{{ messages|selectattr('role') }}", "t").render({{"user", "a"}}, false),
                    Catch::Contains("cannot print a generator"));
  CHECK_THROWS_WITH(ChatTemplate::parse("{{ range(3) }}", "t").render({}, false), Catch::Contains("cannot print a range"));
  CHECK_THROWS_WITH(ChatTemplate::parse("{% for m in messages %}{{ loop }}{% endfor %}", "t").render({{"user", "a"}}, false),
                    Catch::Contains("LoopContext"));
  // A generator has no length in Python, so |length on one fails there too.
  CHECK_THROWS_WITH(ChatTemplate::parse("{{ messages|map(attribute='role')|length }}", "t").render({{"user", "a"}}, false),
                    Catch::Contains("has no len()"));
}

TEST_CASE("Rendering is bounded in output and nesting", "[chat]") {
  // 20 strings of 4 MB (the most a template computes): 100 000 of 1 KB now meet the step limit first.
  const ChatTemplate huge = ChatTemplate::parse("{% for i in range(20) %}{{ 'x' * 4000000 }}{% endfor %}", "huge");
  CHECK_THROWS_WITH(huge.render({}, false), Catch::Contains("exceeds"));
  const std::string deep = std::string(500, '(') + "1" + std::string(500, ')');
  CHECK_THROWS_WITH(ChatTemplate::parse("{{ " + deep + " }}", "deep"), Catch::Contains("nested too deeply"));
  CHECK_THROWS_WITH(ChatTemplate::parse("{{ range(10000000)|length }}", "range").render({}, false),
                    Catch::Contains("range too big"));
}

TEST_CASE("load_chat_template reads a model directory's template", "[chat]") {
  TempDir dir("chat-load");
  const std::string qwen = read_file(kTemplates + "qwen2.5_instruct.jinja");
  const std::vector<Message> chat = {{"user", "hi"}};
  const std::string expected = ChatTemplate::parse(qwen, "q").render(chat, true);
  REQUIRE(expected.find("<|im_start|>user\nhi<|im_end|>") != std::string::npos);

  SECTION("no template: nullopt") {
    CHECK(!quorum::chat::load_chat_template(dir.path().string()));
    dir.file("tokenizer_config.json", R"({"bos_token": null, "eos_token": "</s>"})");
    CHECK(!quorum::chat::load_chat_template(dir.path().string()));
  }
  SECTION("tokenizer_config.json, string form") {
    dir.file("tokenizer_config.json", json{{"chat_template", qwen}}.dump());
    const auto tpl = quorum::chat::load_chat_template(dir.path().string());
    REQUIRE(tpl);
    CHECK(tpl->render(chat, true) == expected);
  }
  SECTION("tokenizer_config.json, list form: the default entry") {
    dir.file("tokenizer_config.json",
             json{{"chat_template", json::array({{{"name", "tool_use"}, {"template", "tools {{ messages|length }}"}},
                                                 {{"name", "default"}, {"template", qwen}}})}}
                 .dump());
    const auto tpl = quorum::chat::load_chat_template(dir.path().string());
    REQUIRE(tpl);
    CHECK(tpl->render(chat, true) == expected);
  }
  SECTION("list form without a default entry is refused") {
    dir.file("tokenizer_config.json",
             json{{"chat_template", json::array({{{"name", "tool_use"}, {"template", "x"}}})}}.dump());
    CHECK_THROWS_WITH(quorum::chat::load_chat_template(dir.path().string()), Catch::Contains("default"));
  }
  SECTION("chat_template.jinja wins over tokenizer_config.json") {
    dir.file("tokenizer_config.json", json{{"chat_template", "from the config"}}.dump());
    dir.file("chat_template.jinja", qwen);
    const auto tpl = quorum::chat::load_chat_template(dir.path().string());
    REQUIRE(tpl);
    CHECK(tpl->render(chat, true) == expected);
    CHECK(tpl->name() == (dir.path() / "chat_template.jinja").string());
  }
}
