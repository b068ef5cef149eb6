// Answer extraction, normalisation and equivalence: the table of cases in
// tests/data/answer_cases.tsv, extraction, voting classes, bounded work on hostile input, and
// the `quorum equiv` command end to end.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/answers/answer.h"
#include "runtime/answers/value.h"

namespace {

using quorum::answers::Answer;
using quorum::answers::equivalent;
using quorum::answers::extract;
using quorum::answers::extract_answer;
using quorum::answers::ExtractionRule;
using quorum::answers::ExtractOptions;
using quorum::answers::group_classes;

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

std::vector<Answer> parse_all(const std::vector<std::string>& raw) {
  std::vector<Answer> answers;
  for (const auto& text : raw) answers.push_back(Answer::parse(text));
  return answers;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs a shell command and returns its exit status.
int run_command(const std::string& command) {
  const int status = std::system(command.c_str());
  REQUIRE(status != -1);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace

TEST_CASE("answers: equivalence table", "[answers]") {
  const std::string path = std::string(QUORUM_TEST_DATA) + "/answer_cases.tsv";
  std::ifstream in(path);
  REQUIRE(in);
  int rows = 0;
  int must_not_match = 0;
  std::string line;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    if (line.empty() || line[0] == '#') continue;
    const auto fields = split_tabs(line);
    INFO(path << ":" << line_number << ": " << line);
    REQUIRE(fields.size() == 3);
    REQUIRE((fields[2] == "1" || fields[2] == "0"));
    const bool expected = fields[2] == "1";
    const Answer gold = Answer::parse(fields[0]);
    const Answer pred = Answer::parse(fields[1]);
    INFO("normalised gold '" << gold.normalized() << "', pred '" << pred.normalized() << "'");
    CHECK(gold.equivalent_to(pred) == expected);
    CHECK(pred.equivalent_to(gold) == expected);  // equivalence is symmetric
    ++rows;
    if (!expected) ++must_not_match;
  }
  // Issue 16: at least 600 cases, at least a third of them must-not-match.
  CHECK(rows >= 600);
  CHECK(must_not_match * 3 >= rows);
}

TEST_CASE("answers: normalised forms", "[answers]") {
  CHECK(Answer::parse("\\left( 1, 2 \\right)").normalized() == "(1,2)");
  CHECK(Answer::parse("\\text{Evelyn}.").normalized() == "evelyn");
  CHECK(Answer::parse("x = 5").normalized() == "5");
  CHECK(Answer::parse("1,000,000").normalized() == "1000000");
  CHECK(Answer::parse("\\dfrac{1}{2}").normalized() == "\\frac{1}{2}");
  CHECK(Answer::parse("\\$5 \\text{ dollars}").normalized() == "5");
  CHECK(Answer::parse("30^{\\circ}").normalized() == "30");
  CHECK(Answer::parse("50\\%").normalized() == "50%");
  CHECK(Answer::parse("2 \\pi r").normalized() == "2\\pi r");
  CHECK(Answer::parse("  $ $ ").normalized().empty());
  CHECK(Answer::parse("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}").normalized() ==
        "\\matrix((1,2),(3,4))");
  CHECK(Answer::parse("\\begin{bmatrix} 1 \\\\ 2 \\end{bmatrix}").normalized() == "(1,2)");
  CHECK(Answer::parse("-1 \\le x < 4").normalized() == "[-1,4)");
  CHECK(Answer::parse("x<-1 \\text{ or } x \\geq 2").normalized() ==
        "(-\\infty,-1)\\cup[2,\\infty)");
  CHECK(Answer::parse("\\{x \\mid x > 0\\}").normalized() == "(0,\\infty)");
  CHECK(Answer::parse("\\frac{7}{12} \\approx 0.58").normalized() == "\\frac{7}{12}");
  CHECK(Answer::parse("0.58 \\text{ (approximately)}").normalized() == "0.58");
  CHECK(Answer::parse("20\\text{ km/h}").normalized() == "20");
}

TEST_CASE("answers: no answer is never equivalent", "[answers]") {
  CHECK_FALSE(equivalent("", ""));
  CHECK_FALSE(equivalent("5", ""));
  CHECK_FALSE(equivalent("", "5"));
  CHECK_FALSE(Answer{}.equivalent_to(Answer::parse("5")));
  CHECK(equivalent("5", "5"));
}

TEST_CASE("answers: extraction from boxes", "[answers]") {
  SECTION("nested braces") {
    CHECK(extract_answer("so $\\boxed{\\frac{1}{\\sqrt{2}}}$.") == "\\frac{1}{\\sqrt{2}}");
    CHECK(extract_answer("\\boxed{\\{1, 2\\}}") == "\\{1, 2\\}");
  }
  SECTION("the last box wins") {
    CHECK(extract_answer("first \\boxed{1}, then \\boxed{2}") == "2");
    CHECK(extract_answer("\\boxed{3} and \\boxedtext{4}") == "3");
    CHECK(extract("\\boxed{3}. Wait, that is wrong: \\boxed{4}").rule == ExtractionRule::boxed);
  }
  SECTION("boxes joined only by list words read as one list") {
    const auto both = extract("The solutions are $\\boxed{2}$ and $\\boxed{-3}$.");
    CHECK(both.answer == "2, -3");
    CHECK(both.rule == ExtractionRule::boxed_list);
    CHECK(extract_answer("\\boxed{3} and \\fbox{4}") == "3, 4");
    CHECK(extract_answer("$\\boxed{1}$, $\\boxed{2}$ \\text{or} $\\boxed{5}$") == "1, 2, 5");
    CHECK(extract("\\boxed{4} so again \\boxed{4}").answer == "4");
    CHECK(extract("\\boxed{4} and \\boxed{4}").rule == ExtractionRule::boxed);  // counted once
  }
  SECTION("\\fbox and unbraced boxes") {
    CHECK(extract_answer("\\fbox{7}") == "7");
    CHECK(extract_answer("answer: $\\boxed 5$") == "5");
  }
  SECTION("an unterminated last box yields to the previous one") {
    CHECK(extract_answer("\\boxed{3} ... so \\boxed{\\frac{1}{2") == "3");
  }
  SECTION("a box beats the phrases and the last number") {
    CHECK(extract_answer("The answer is \\boxed{12}. Check: 12 * 2 = 24") == "12");
  }
}

TEST_CASE("answers: extraction fallbacks", "[answers]") {
  SECTION("The answer is") {
    CHECK(extract_answer("Adding up, the answer is 42.") == "42");
    CHECK(extract_answer("The final answer is: $\\frac{1}{2}$.") == "\\frac{1}{2}");
    CHECK(extract_answer("The answer is 3. No wait, the answer is 4.") == "4");
    CHECK(extract_answer("The answer is 3.5.") == "3.5");
    CHECK(extract_answer("Final Answer: **17**") == "17");
  }
  SECTION("the last math environment of the final part") {
    const auto dollars = extract("We simplify and get $x = 5$.");
    CHECK(dollars.answer == "x = 5");
    CHECK(dollars.rule == ExtractionRule::math_environment);
    CHECK(extract_answer("so \\[ \\frac{1}{2} \\] is the probability") == "\\frac{1}{2}");
    CHECK(extract_answer("hence \\(3\\sqrt{2}\\)") == "3\\sqrt{2}");
    CHECK(extract_answer("$$y = 2x + 1$$ and $7$") == "7");
    CHECK(extract_answer("It costs \\$5 and then $12$ more") == "12");  // \$ is no delimiter
    CHECK(extract_answer("$1$ then $2") == "1");  // an unclosed environment is skipped
    // Currency is no math: a single $ opens before a non-space, closes after one, not before
    // a digit.
    const auto currency = extract("She earns $5 per hour and $10 on Sundays, so 72 in all.");
    CHECK(currency.answer == "72");
    CHECK(currency.rule == ExtractionRule::last_number);
    CHECK(extract_answer("a $ b $c$") == "c");
    // Math far from the end is working, not the conclusion: the phrase decides.
    const std::string working = "We know $a = 3$. " + std::string(400, '.') + " The answer is 9.";
    const auto phrase = extract(working);
    CHECK(phrase.answer == "9");
    CHECK(phrase.rule == ExtractionRule::pattern);
    CHECK(phrase.pattern == 1);
    ExtractOptions no_math;
    no_math.math_environment_fallback = false;
    CHECK(extract_answer("The answer is 4, since $2+2$", no_math) == "4, since $2+2$");
  }
  SECTION("the rule that fired is recorded") {
    CHECK(extract("3 apples").rule == ExtractionRule::last_number);
    CHECK(extract("nothing here").rule == ExtractionRule::none);
    CHECK_FALSE(extract("nothing here").answer.has_value());
    CHECK(rule_name(ExtractionRule::math_environment) == "last math environment");
  }
  SECTION("GSM8K's ####") {
    CHECK(extract_answer("She pays 5 + 7 = 12 dollars.\n#### 12") == "12");
    CHECK(extract_answer("The answer is 7.\n#### 1,000") == "1,000");
  }
  SECTION("the last number") {
    CHECK(extract_answer("3 apples and 15 more make 18 in total.") == "18");
    CHECK(extract_answer("It costs -12 dollars") == "-12");
    CHECK(extract_answer("so 3-5") == "5");
    CHECK(extract_answer("about 1,000,000 people") == "1,000,000");
    CHECK(extract_answer("so 1,2,345") == "2,345");
    CHECK(extract_answer("x is 3.5.") == "3.5");
    CHECK(extract_answer("a ratio of 3/4") == "3/4");
  }
  SECTION("no answer") {
    CHECK_FALSE(extract_answer("I do not know.").has_value());
    CHECK_FALSE(extract_answer("").has_value());
    ExtractOptions no_numbers;
    no_numbers.last_number_fallback = false;
    CHECK_FALSE(extract_answer("it is 5", no_numbers).has_value());
  }
  SECTION("configured patterns") {
    ExtractOptions options;
    options.fallback_patterns = {R"(ANSWER:\s*(\S+))"};
    CHECK(extract_answer("reasoning...\nANSWER: B\nmore text 9", options) == "B");
    options.fallback_patterns = {"(unclosed"};
    CHECK_THROWS_AS(extract_answer("text", options), std::invalid_argument);
    options.fallback_patterns = {"no group"};
    CHECK_THROWS_AS(extract_answer("text", options), std::invalid_argument);
  }
  SECTION("a pattern that backtracks catastrophically still finishes fast") {
    ExtractOptions options;
    options.fallback_patterns = {"((a+)+)b"};
    options.last_number_fallback = false;
    const auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(extract_answer(std::string(100000, 'a') + "c", options).has_value());
    CHECK(seconds_since(start) < 2.0);
  }
}

TEST_CASE("answers: verdicts name the deciding rule", "[answers]") {
  auto rule = [](const char* gold, const char* pred) {
    return Answer::parse(gold).compare(Answer::parse(pred)).rule;
  };
  CHECK(rule("1/2", "1/2") == "same normalised text");
  CHECK(rule("\\frac12", "0.5") == "exact rational");
  CHECK(rule("\\frac13", "0.3333") == "decimal to its written precision (relative 1e-4)");
  CHECK(rule("\\pi", "3.14159265") == "within relative 1e-6");
  CHECK(rule("50\\%", "0.5") == "percent: p% = p/100");
  CHECK(rule("(a+1)^2", "a^2+2a+1") == "equal at 6 seeded sample points");
  CHECK(rule("x+y=5", "2x+2y=10") == "same equation up to a constant factor");
  CHECK(rule("x+y=5", "x+y=6") == "different equations");
  CHECK(rule("(1,2)", "(1,3)") == "element 2 differs: different numbers");
  CHECK(rule("\\{1,2\\}", "\\{1,2,3\\}") == "different numbers of elements");
  CHECK(rule("\\text{yes}", "\\text{no}") == "different text");
  CHECK(rule("5", "") == "no answer");
}

TEST_CASE("answers: classes", "[answers]") {
  SECTION("equivalent answers share the class of the first; empty answers abstain") {
    const auto answers =
        parse_all({"1/2", "0.5", "\\frac{1}{2}", "2", "", "2.0", "x", "\\boxed{2}"});
    CHECK(group_classes(answers) == std::vector<int>{0, 0, 0, 1, -1, 1, 2, 1});
  }
  SECTION("no answers") { CHECK(group_classes({}).empty()); }
  SECTION("answers join a class by matching its representative") {
    // 50% matches 50 and 0.5, but 0.5 does not match 50, the class's first answer.
    const auto answers = parse_all({"50", "50\\%", "0.5"});
    CHECK(group_classes(answers) == std::vector<int>{0, 0, 1});
  }
  SECTION("sets and tuples") {
    const auto answers = parse_all({"\\{1,2\\}", "\\{2,1\\}", "(1,2)", "(2,1)", "(1, 2)"});
    CHECK(group_classes(answers) == std::vector<int>{0, 0, 1, 2, 1});
  }
}

TEST_CASE("answers: hostile input finishes fast", "[answers]") {
  const auto start = std::chrono::steady_clock::now();
  SECTION("a million nested braces") {
    const std::string nested =
        "\\boxed{" + std::string(1000000, '{') + "7" + std::string(1000000, '}') + "}";
    const auto extracted = extract_answer(nested);
    REQUIRE(extracted.has_value());
    CHECK(extracted->size() == 2000001);
    const Answer answer = Answer::parse(*extracted);
    CHECK(answer.equivalent_to(answer));
    CHECK_FALSE(answer.equivalent_to(Answer::parse("7")));
    const Answer unbalanced = Answer::parse(std::string(1000000, '{') + "7");
    CHECK_FALSE(unbalanced.equivalent_to(Answer::parse("7")));
    CHECK_FALSE(extract_answer(std::string(1000000, '}') + "\\boxed{" + std::string(1000000, '{'))
                    .has_value());
  }
  SECTION("huge exponents") {
    CHECK(equivalent("10^{99999999}", "10^{99999999}"));
    CHECK_FALSE(equivalent("10^{99999999}", "10^{99999998}"));
    CHECK_FALSE(equivalent("2^{2^{2^{2^{2^{2}}}}}", "0"));
    CHECK_FALSE(equivalent("1e99999999", "1e99999998"));
    CHECK(equivalent("1^{99999999}", "1"));
    CHECK(equivalent("(-1)^{99999999}", "-1"));
  }
  SECTION("100 kB of digits") {
    const std::string digits(100000, '7');
    std::string other = digits;
    other.back() = '8';
    CHECK(equivalent(digits, digits));
    CHECK_FALSE(equivalent(digits, other));
    CHECK(extract_answer(digits) == digits);
    const std::string decimal = "0." + digits;
    CHECK(equivalent(decimal, decimal));
  }
  SECTION("deeply nested roots, groups and signs") {
    std::string roots;
    for (int i = 0; i < 100000; ++i) roots += "\\sqrt{";
    roots += "2" + std::string(100000, '}');
    CHECK(equivalent(roots, roots));
    CHECK_FALSE(equivalent(roots, "2"));
    std::string short_roots;  // within the length bound, beyond the depth bound
    for (int i = 0; i < 80; ++i) short_roots += "\\sqrt";
    short_roots += "{16}";
    CHECK_FALSE(equivalent(short_roots, "1"));
    const std::string parentheses = std::string(200, '(') + "1" + std::string(200, ')');
    CHECK_FALSE(equivalent(parentheses, "1"));
    CHECK(equivalent("((((1))))", "1"));
    CHECK_FALSE(equivalent(std::string(400, '-') + "5", "5"));
    const std::string sets = std::string(5000, '(') + std::string(5000, ')');
    CHECK(equivalent(sets, sets));
    std::string tuples;
    for (int i = 0; i < 10; ++i) tuples += "(1,";
    tuples += "1" + std::string(10, ')');
    CHECK(equivalent(tuples, tuples));
  }
  SECTION("a comparison stops at its step budget with a reason") {
    std::string forward = "1", backward = "64";
    for (int i = 2; i <= 64; ++i) {
      forward += "," + std::to_string(i);
      backward += "," + std::to_string(65 - i);
    }
    const auto a = quorum::answers::parse_value(forward);
    const auto b = quorum::answers::parse_value(backward);
    CHECK(quorum::answers::compare_values(a, b).equivalent);  // 2080 steps: within the budget
    const auto stopped = quorum::answers::compare_values(a, b, 100);
    CHECK_FALSE(stopped.equivalent);
    CHECK(stopped.rule == "comparison budget exhausted");
  }
  SECTION("unterminated environments, relations and boxes") {
    std::string begins;
    for (int i = 0; i < 50000; ++i) begins += "\\begin{pmatrix}1&2\\\\";
    CHECK_FALSE(equivalent(begins, "1"));
    std::string boxes;
    for (int i = 0; i < 50000; ++i) boxes += "$\\boxed{1}$ and ";
    CHECK(extract_answer(boxes) == "1");
    std::string dollars(200000, '$');
    CHECK(extract(dollars).rule == ExtractionRule::none);
    std::string chain = "1";
    for (int i = 0; i < 20000; ++i) chain += "<x";
    CHECK_FALSE(equivalent(chain, "(1,\\infty)"));
    std::string functions;
    for (int i = 0; i < 100; ++i) functions += "\\sin ";
    CHECK_FALSE(equivalent(functions + "x", "x"));
  }
  SECTION("long lines and many elements") {
    const std::string line = "The answer is " + std::string(1000000, 'a') + " 5";
    CHECK(extract_answer(line).has_value());
    std::string many = "1";
    for (int i = 0; i < 2000; ++i) many += ",1";
    CHECK(equivalent(many, many));
    std::string reordered = "2";
    for (int i = 0; i < 2000; ++i) reordered += ",1";
    CHECK_FALSE(equivalent(many, reordered));
  }
  CHECK(seconds_since(start) < 5.0);
}

TEST_CASE("answers: comparisons are pure: the same verdict every time", "[answers]") {
  // Speed is bench material; what a test can pin is that repeated comparisons (with their
  // seeded sample points) never drift.
  const std::vector<std::string> typical = {"\\frac{1}{2}", "0.5",   "(1, \\sqrt{2})", "\\{1,2\\}",
                                            "2\\pi",        "x^2+1", "\\text{Evelyn}", "1,000"};
  int matches = 0;
  for (int round = 0; round < 2500; ++round) {
    for (std::size_t i = 0; i < typical.size(); ++i) {
      matches += equivalent(typical[i], typical[(i + 1) % typical.size()]);
    }
  }
  CHECK(matches == 2500);  // \frac{1}{2} and 0.5, once per round
}

TEST_CASE("answers: quorum equiv end to end", "[answers]") {
  const std::string binary = QUORUM_BINARY;
  REQUIRE(std::filesystem::exists(binary));
  const std::string quiet = " > /dev/null 2>&1";
  CHECK(run_command("'" + binary + "' equiv '\\frac{1}{2}' 0.5" + quiet) == 0);
  CHECK(run_command("'" + binary + "' equiv 1/3 0.33" + quiet) == 1);
  CHECK(run_command("'" + binary + "' equiv --help" + quiet) == 0);

  const auto dir =
      std::filesystem::temp_directory_path() / ("quorum_equiv_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto pairs = dir / "pairs.tsv";
  const auto output = dir / "out.txt";
  {
    std::ofstream out(pairs);
    out << "1/2\t0.5\n(1,2)\t(2,1)\n\\text{Evelyn}\tEvelyn\r\n12\t1,2\n";
  }
  CHECK(run_command("'" + binary + "' equiv --pairs '" + pairs.string() + "' > '" +
                    output.string() + "'") == 0);
  CHECK(read_file(output) == "1\n0\n1\n0\n");

  {
    std::ofstream out(pairs);
    out << "1\t1\nno tab here\n";
  }
  CHECK(run_command("'" + binary + "' equiv --pairs '" + pairs.string() + "'" + quiet) == 2);
  CHECK(run_command("'" + binary + "' equiv --pairs '" + (dir / "missing.tsv").string() + "'" +
                    quiet) == 2);
  std::filesystem::remove_all(dir);
}
