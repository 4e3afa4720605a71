"""Writes Tests/Fixtures/data/chat-rendering.json: conversations rendered with SmolLM2's chat
template exactly as transformers renders them, and their token ids from Hugging Face `tokenizers`,
for the chat rendering test (Tests/RLHFDataTests/ChatRenderingTests.swift).

    pip install jinja2 tokenizers && python3 tools/make_chat_fixtures.py

The template (`../shared/reference/smollm2-hf/chat_template.jinja`) is compiled as transformers'
`_compile_jinja_template` does (sandboxed immutable environment, trim_blocks, lstrip_blocks, the
loopcontrols extension, `raise_exception`, `tojson`, `strftime_now`) and rendered as
`apply_chat_template` does, with `messages`, `add_generation_prompt` and the special tokens of
`tokenizer_config.json` as variables; ids are `encode(text, add_special_tokens=False)`, as
`apply_chat_template(tokenize=True)` tokenizes. For each conversation (its last message is the
assistant's completion):
  - prompt_text / prompt_ids: the messages before the last one, with the generation prompt;
  - full_text / full_ids: every message, without the generation prompt;
  - completion_text / completion_ids: full_text after prompt_text, up to and including the last
    `<|im_end|>` (the template's trailing "\\n" removed), tokenized on its own.

Never a runtime dependency: the fixture file is committed.
"""
import json
from datetime import datetime
from pathlib import Path

import jinja2
import tokenizers
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared/reference/smollm2-hf"
OUTPUT = ROOT / "Tests/Fixtures/data/chat-rendering.json"
END_OF_TURN = "<|im_end|>"


def compile_template(source):
    """As transformers.utils.chat_template_utils._compile_jinja_template (without the
    AssistantTracker extension, which only matters for {% generation %} blocks)."""
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(source)


def special_tokens():
    config = json.loads((REFERENCE / "tokenizer_config.json").read_text())
    return {key: config[key] for key in ("bos_token", "eos_token", "unk_token", "pad_token") if isinstance(config.get(key), str)}


def m(role, content):
    return {"role": role, "content": content}


S, U, A, T = (lambda c: m("system", c)), (lambda c: m("user", c)), (lambda c: m("assistant", c)), (lambda c: m("tool", c))

CONVERSATIONS = [
    # No system message: the template inserts its default one.
    [U("Hi"), A("Hello! How can I help you today?")],
    [U("What is 2 + 2?"), A("2 + 2 = 4.")],
    [U("Write a haiku about autumn."), A("Crisp leaves drift and fall,\nGolden light on quiet paths,\nThe year exhales slow.")],
    [U("List three primary colours."), A("1. Red\n2. Blue\n3. Yellow")],
    [U("Give me steps to boil an egg."), A("Steps:\n\n1. Boil water.\n2. Add the egg.\n3. Wait 9 minutes.\n4. Cool it in cold water.\n")],
    [U("Bullet points please"), A("- first\n- second\n  - nested\n- third")],
    [U("Translate 'thank you' to Japanese."), A("ありがとう (arigatou) — or more politely, ありがとうございます.")],
    [U("Emoji?"), A("Sure 🎉🚀 👩‍👩‍👧 ✨")],
    [U("Café, naïve, résumé, Ångström"), A("Those words use diacritics: é, ï, é, Å and ö.")],
    [U("Combining: e\u0301 vs é"), A("The first is e + U+0301, the second is U+00E9.")],
    [U("Greek and Cyrillic"), A("Αλφα, Бета, Гамма.")],
    [U("Show code"), A("```python\ndef add(a, b):\n    return a + b\n```")],
    [U("Tabs\tand  double  spaces"), A("Tabs\tkept\tand  spaces  too.")],
    [U("  leading and trailing spaces  "), A("  answer with spaces  ")],
    [U("\n\nStarts with newlines"), A("\n\nAnswer that starts with newlines")],
    [U("Ends with a newline\n"), A("Answer that ends with a newline\n")],
    [U("Windows line ends\r\nhere"), A("Reply\r\nwith CRLF\r\n")],
    [U("Numbers 1234567 and 3.14159"), A("Digits: 0123456789, 10,000, 1e-9.")],
    [U("Say nothing"), A("")],
    [U("Quote \"this\" and 'that'"), A("He said \"hi\" and she said 'bye'.")],
    [U("Backslashes \\n are not newlines"), A("Right: \\n, \\t and \\\\ are literal here.")],
    [U("Mention the end token <|im_end|> literally"), A("The token is <|im_end|> and ends a turn.")],
    # With a system message.
    [S("You are a pirate."), U("Hello"), A("Arr, ahoy matey!")],
    [S("Answer in one word."), U("Capital of France?"), A("Paris")],
    [S("You are concise.\nNever use lists."), U("Explain gravity"), A("Mass attracts mass; the pull grows with mass and falls with the square of distance.")],
    [S(""), U("Empty system prompt"), A("Fine.")],
    [S("Système: réponds en français."), U("Bonjour !"), A("Bonjour ! Comment puis-je vous aider ?")],
    # Multi-turn (the completion is the last assistant turn; the earlier turns are the prompt).
    [U("Hi"), A("Hello!"), U("How are you?"), A("I'm doing well, thank you.")],
    [S("Be helpful."), U("Name a fruit."), A("Apple."), U("Another?"), A("Banana."), U("One more?"), A("Cherry.")],
    [U("Count to 3"), A("1\n2\n3"), U("Now backwards"), A("3\n2\n1")],
    [U("Start a list"), A("1. One"), U("Continue it"), A("2. Two\n3. Three")],
    [U("Use a tool"), A("Calling the calculator."), T("42"), A("The answer is 42.")],
    # A system message that is not first: the default system prompt still comes first.
    [U("First"), S("Late system message"), U("Second"), A("Noted.")],
    [U("What did I ask?"), A("You asked nothing yet."), U("Multi\nline\nquestion?"), A("Multi\nline\nanswer.")],
    [U("Long answer"), A("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 3)],
    [U("Mixed 中文 and English"), A("好的, here is a mix of 中文 and English text.")],
]


def main():
    template = compile_template((REFERENCE / "chat_template.jinja").read_text())
    tokenizer = Tokenizer.from_file(str(REFERENCE / "tokenizer.json"))
    variables = special_tokens()

    def render(messages, add_generation_prompt):
        return template.render(messages=messages, tools=None, documents=None,
                               add_generation_prompt=add_generation_prompt, **variables)

    def ids(text):
        return tokenizer.encode(text, add_special_tokens=False).ids

    cases = []
    for messages in CONVERSATIONS:
        assert messages[-1]["role"] == "assistant"
        prompt_text = render(messages[:-1], True)
        full_text = render(messages, False)
        assert full_text.startswith(prompt_text)
        rest = full_text[len(prompt_text):]
        completion_text = rest[: rest.rindex(END_OF_TURN) + len(END_OF_TURN)]
        assert rest[len(completion_text):] == "\n"
        cases.append({
            "messages": messages,
            "prompt_text": prompt_text, "prompt_ids": ids(prompt_text),
            "full_text": full_text, "full_ids": ids(full_text),
            "completion_text": completion_text, "completion_ids": ids(completion_text),
        })
    document = {
        "generator": "tools/make_chat_fixtures.py",
        "version": 1,
        "template": "smollm2-hf/chat_template.jinja",
        "jinja2": jinja2.__version__,
        "tokenizers": tokenizers.__version__,
        "cases": cases,
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    # One case per line: readable diffs, a small file.
    header = json.dumps({k: v for k, v in document.items() if k != "cases"}, ensure_ascii=False)[:-1]
    lines = ",\n".join(json.dumps(case, ensure_ascii=False, separators=(",", ":")) for case in cases)
    OUTPUT.write_text(header + ', "cases": [\n' + lines + "\n]}\n")
    print(f"wrote {len(cases)} conversations to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
