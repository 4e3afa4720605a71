"""Writes Tests/Fixtures/data/chat-rendering.json: conversations rendered with SmolLM2's chat
template exactly as transformers renders them, and their token ids from Hugging Face `tokenizers`,
for the chat rendering test (Tests/RLHFDataTests/ChatRenderingTests.swift); and
Tests/Fixtures/data/chat-rendering-llama3.json: conversations rendered with Meta's Llama 3,
Llama 3.1 (= 3.3) and Llama 3.2 Instruct templates (text only: no Llama 3 tokenizer here), for
Tests/RLHFTokenizerTests/Llama3ChatTemplateTests.swift.

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

The Llama 3 templates are compiled and rendered the same way, with Meta's special tokens
(`bos_token` `<|begin_of_text|>`, `eos_token` `<|eot_id|>` as in the Instruct models'
tokenizer_config.json) and `strftime_now` pinned to LLAMA32_NOW (Llama 3.2's template prints
today's date; the fixture must not change from day to day). Each conversation is rendered whole
with and without the generation prompt, and, when it ends with the assistant, without its last
message with the generation prompt (the prompt). The template sources are stored in the fixture
too, so the test can also check `ChatTemplate.detect(fromJinja:)` on them.

Never a runtime dependency: the fixture files are committed.
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
LLAMA3_OUTPUT = ROOT / "Tests/Fixtures/data/chat-rendering-llama3.json"


def compile_template(source, now=datetime.now):
    """As transformers.utils.chat_template_utils._compile_jinja_template (without the
    AssistantTracker extension, which only matters for {% generation %} blocks); `now` is the clock
    `strftime_now` reads (transformers: `datetime.now`)."""
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return now().strftime(format)

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


# MARK: - Llama 3 / 3.1 / 3.2 Instruct (text only: no Llama 3 tokenizer is available here)

# Meta-Llama-3-8B-Instruct, tokenizer_config.json "chat_template", in its revision that honours
# `add_generation_prompt` (the April 2024 original always appended the assistant header: see
# llama.cpp tests/test-chat-template.cpp, "Llama-3"). Text as quoted by abetlen/llama-cpp-python,
# llama_cpp/llama_chat_format.py (LLAMA3_INSTRUCT_CHAT_TEMPLATE, commit 3691546f, "Source:
# https://huggingface.co/meta-llama/Meta-Llama-3-8B-Instruct/blob/main/tokenizer_config.json"); the
# JSON's "\n" are newlines in the template text. BOS comes with the first message only, every
# content is `| trim`med.
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

# Llama-3.1-8B-Instruct (identical to Llama-3.3-70B-Instruct's), byte for byte as llama.cpp stores it
# in models/templates/meta-llama-Llama-3.1-8B-Instruct.jinja (added in ggml-org/llama.cpp 8b576b6c,
# #9639, fetched from the Hugging Face repository's tokenizer_config.json; read from the ye-NX/llama.cpp
# mirror at 1eeb523c). BOS always; a system turn always, "Cutting Knowledge Date: December 2023\n"
# "Today Date: 26 Jul 2024\n\n" + the first message's content `| trim` when it is the system's.
LLAMA31_TEMPLATE = r'''{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message + builtin tools #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\n\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\n\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {%- if builtin_tools is defined and tool_call.name in builtin_tools %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
            {{- "<|python_tag|>" + tool_call.name + ".call(" }}
            {%- for arg_name, arg_val in tool_call.arguments | items %}
                {{- arg_name + '="' + arg_val + '"' }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- endif %}
                {%- endfor %}
            {{- ")" }}
        {%- else  %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
            {{- '{"name": "' + tool_call.name + '", ' }}
            {{- '"parameters": ' }}
            {{- tool_call.arguments | tojson }}
            {{- "}" }}
        {%- endif %}
        {%- if builtin_tools is defined %}
            {#- This means we're in ipython mode #}
            {{- "<|eom_id|>" }}
        {%- else %}
            {{- "<|eot_id|>" }}
        {%- endif %}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
'''

# Llama-3.2-3B-Instruct (the 1B's is the same), from llama.cpp models/templates/
# meta-llama-Llama-3.2-3B-Instruct.jinja (same commit and source as above). As 3.1 without
# builtin_tools, and the date is `strftime_now("%d %b %Y")`: the day of rendering.
LLAMA32_TEMPLATE = r'''{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\n\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
'''

LLAMA3_TEMPLATES = {"llama3": LLAMA3_TEMPLATE, "llama3.1": LLAMA31_TEMPLATE, "llama3.2": LLAMA32_TEMPLATE}
# The Instruct models' tokenizer_config.json (the templates use only bos_token).
LLAMA3_SPECIAL_TOKENS = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
# strftime_now's clock for the fixture (transformers: now; a fixture must not change by the day).
LLAMA32_NOW = datetime(2024, 9, 25, 12, 0, 0)

I = lambda c: m("ipython", c)

LLAMA3_CONVERSATIONS = CONVERSATIONS + [
    # Whitespace around contents: Jinja's `trim` is Python's str.strip() (Unicode whitespace as
    # str.isspace: also \x1c-\x1f, not U+200B or U+FEFF).
    [U("  padded question  "), A("\n\n  padded answer \n")],
    [S("  padded system prompt \n"), U("\tHi\t"), A(" Hello ")],
    [U("\x1c\x1d\x1e\x1fseparators\x1f \x0b\x0c"), A("\u3000ideographic space\u3000")],
    [U("\xa0no-break\xa0\u2007figure\u202f"), A("\u2028line and paragraph separators\u2029\x85")],
    [U("\u200bzero-width space is no whitespace\u200b"), A("\ufeffnor is a BOM\ufeff")],
    [U(" \u0301a combining mark after a space"), A("e \u0301")],
    [U("\r\nCRLF around\r\n"), A("\r\n\r\nreply\r\n")],
    [U("   "), A(" \n\t ")],
    [S("\n"), U("Whitespace-only system prompt"), A("Fine.")],
    # A second system message is an ordinary turn (only messages[0] is the system prompt in 3.1+).
    [S("First system."), U("q"), S("  Second system.  "), A("a")],
    # Tool results: 3.0 renders the role as given; 3.1+ as "ipython", the content through tojson.
    [U("Weather?"), A("Calling the weather tool."), T('{"temp": 20, "unit": "°C"}'), A("20 °C.")],
    [U("Run it"), A("Running."), I("line 1\nline 2\t\\ \"quoted\" \x01\x08\x0c\x1f\x7f é 🎉 \u2028"), A("Done.")],
    [U("Padded tool output"), A("Ok."), T("  padded  "), A("Seen.")],
    # Ending with the user: the prompt as sent for sampling.
    [S("Be brief."), U("Hi"), A("Hello."), U("Bye")],
    [U("Only a user message")],
    [S("Only a system message")],
]


def llama3_cases():
    cases, errors = [], []
    for name, source in LLAMA3_TEMPLATES.items():
        template = compile_template(source, now=lambda: LLAMA32_NOW)

        def render(messages, add_generation_prompt):
            return template.render(messages=messages, tools=None, documents=None,
                                   add_generation_prompt=add_generation_prompt, **LLAMA3_SPECIAL_TOKENS)

        seen = set()

        def add(messages, add_generation_prompt):
            key = (json.dumps(messages), add_generation_prompt)
            if key in seen:
                return
            seen.add(key)
            case = {"template": name, "messages": messages, "add_generation_prompt": add_generation_prompt}
            try:
                case["text"] = render(messages, add_generation_prompt)
            except jinja2.exceptions.UndefinedError as error:
                # 3.1+ read messages[0]['role']: transformers raises for an empty conversation.
                case["error"] = str(error)
                errors.append(case)
                return
            cases.append(case)

        # Each conversation whole without the generation prompt; then, when it ends with the
        # assistant, the prompt (all but the last message, with it), else with it too.
        for messages in LLAMA3_CONVERSATIONS + [[]]:
            add(messages, False)
            add(messages[:-1] if messages and messages[-1]["role"] == "assistant" else messages, True)
    return cases, errors


def write_llama3():
    cases, errors = llama3_cases()
    assert [case["template"] for case in errors] == ["llama3.1", "llama3.1", "llama3.2", "llama3.2"], errors
    # As ChatRendering assumes: a prompt's rendering starts the whole conversation's.
    texts = {(case["template"], json.dumps(case["messages"]), case["add_generation_prompt"]): case["text"] for case in cases}
    for (name, messages, generation), text in texts.items():
        messages = json.loads(messages)
        if not generation and messages and messages[-1]["role"] == "assistant":
            assert text.startswith(texts[(name, json.dumps(messages[:-1]), True)]), (name, messages)
    document = {
        "generator": "tools/make_chat_fixtures.py",
        "version": 1,
        "jinja2": jinja2.__version__,
        "special_tokens": LLAMA3_SPECIAL_TOKENS,
        # What strftime_now returned: Llama 3.2's "Today Date" in this fixture.
        "now": LLAMA32_NOW.isoformat(),
        "today_date": LLAMA32_NOW.strftime("%d %b %Y"),
        "templates": LLAMA3_TEMPLATES,
        "cases": cases + errors,
    }
    header = json.dumps({k: v for k, v in document.items() if k != "cases"}, ensure_ascii=False)[:-1]
    lines = ",\n".join(json.dumps(case, ensure_ascii=False, separators=(",", ":")) for case in document["cases"])
    LLAMA3_OUTPUT.write_text(header + ', "cases": [\n' + lines + "\n]}\n")
    print(f"wrote {len(cases)} renderings ({len(errors)} that raise) to {LLAMA3_OUTPUT.relative_to(ROOT)}")


def write_chatml():
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


def main():
    write_chatml()
    write_llama3()


if __name__ == "__main__":
    main()
