"""Renders a chat template the way Hugging Face transformers does (the independent reference for
quorum's C++ renderer, tests/test_chat_template.cpp).

transformers (utils/chat_template_utils.py) compiles templates in jinja2's
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loopcontrols extension,
replaces the tojson filter with json.dumps(ensure_ascii=False, ...) and adds the globals
raise_exception and strftime_now; this script sets jinja2 up the same way, without importing
transformers.

usage: render_chat_template.py TEMPLATE.jinja CASES.json RESULTS.json
  CASES.json: a list of {"messages": [...], "add_generation_prompt": bool, "variables": {...}}
  RESULTS.json: for each case, {"text": the rendered text} or, when jinja2 raises a
  TemplateError (raise_exception, an undefined used as a value, ...), {"error": its message}.
"""

import json
import sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return datetime.now().strftime(format)


def render(template, case):
    # Messages as callers build them: role, then content, then anything else.
    messages = []
    for message in case["messages"]:
        ordered = {key: message[key] for key in ("role", "content") if key in message}
        ordered.update(message)
        messages.append(ordered)
    # transformers always passes tools and documents (None when the caller has none).
    context = {"tools": None, "documents": None, **case.get("variables", {})}
    context["messages"] = messages
    context["add_generation_prompt"] = case["add_generation_prompt"]
    try:
        return {"text": template.render(**context)}
    except jinja2.exceptions.TemplateError as error:
        return {"error": str(error)}


def main():
    template_path, cases_path, results_path = sys.argv[1:4]
    with open(template_path, encoding="utf-8", newline="") as f:
        source = f.read()
    with open(cases_path, encoding="utf-8") as f:
        cases = json.load(f)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    template = env.from_string(source)

    results = [render(template, case) for case in cases]
    with open(results_path, "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
