"""Drives byok with the official Anthropic Python SDK and checks what it receives.

Run by tests/tests/anthropic.rs, with byok in front of a stand-in Codex backend that plays
an agent (tests/src/scripted.rs): a request with tools and no tool result gets thinking and
a tool call, one with a tool result gets the final text, the others the recorded
reasoning.sse stream. Environment:
  ANTHROPIC_BASE_URL  byok's address, e.g. http://127.0.0.1:PORT
  BYOK_EXPECT         JSON: {"text", "thinking", "final", "tool_thinking", "call_id"}
Prints one "ok: ..." line per check; exits non-zero at the first failure.
"""

import base64
import json
import os
import sys

import anthropic
from anthropic import Anthropic

EXPECT = json.loads(os.environ["BYOK_EXPECT"])
CLIENT = Anthropic(
    base_url=os.environ["ANTHROPIC_BASE_URL"],
    api_key="byok-client-key",
    max_retries=0,
    timeout=60,
)
MODEL = "claude-sonnet-4-5-20250929"
WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
# A 1x1 PNG.
PIXEL = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5f0e1a40000000049454e44ae426082"
    )
).decode()


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def words(text):
    return text.split()


def streaming_text():
    with CLIENT.messages.stream(
        model=MODEL,
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "Factorial of 5, step by step?"}],
    ) as stream:
        text = "".join(stream.text_stream)
        message = stream.get_final_message()
    check(text == EXPECT["text"], "streaming text arrives as recorded")
    check(message.model == MODEL, "the message names the model asked for")
    check(message.stop_reason == "end_turn", "stop_reason end_turn")
    kinds = [block.type for block in message.content]
    check(kinds == ["thinking", "text"], f"a thinking block, then the text ({kinds})")
    check(
        words(message.content[0].thinking) == words(EXPECT["thinking"]),
        "the thinking is the recorded reasoning summary",
    )
    check(message.usage.output_tokens > 0, "usage reported")


def tool_round_trip():
    question = {"role": "user", "content": "What is the weather in Paris?"}
    first = CLIENT.messages.create(
        model=MODEL,
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 2048},
        tools=[WEATHER],
        messages=[question],
    )
    check(first.stop_reason == "tool_use", "the first turn stops for tool_use")
    thinking = [b for b in first.content if b.type == "thinking"]
    calls = [b for b in first.content if b.type == "tool_use"]
    check(len(thinking) == 1 and thinking[0].thinking == EXPECT["tool_thinking"], "thinking before the call")
    check(thinking[0].signature.startswith("byok1:"), "the thinking block is signed")
    check(
        len(calls) == 1 and calls[0].name == "get_weather" and calls[0].input == {"city": "Paris"},
        "a get_weather call with parsed input",
    )
    check(calls[0].id == EXPECT["call_id"], "the call keeps the upstream's call id")
    # The next turn, as the SDK's docs say: the assistant's content back, then the result.
    with CLIENT.messages.stream(
        model=MODEL,
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 2048},
        tools=[WEATHER],
        messages=[
            question,
            {"role": "assistant", "content": first.content},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": calls[0].id, "content": "Sunny, 21 C"}
                ],
            },
        ],
    ) as stream:
        final = stream.get_final_message()
    texts = [b.text for b in final.content if b.type == "text"]
    check(texts == [EXPECT["final"]], "the final text after the tool result")
    check(final.stop_reason == "end_turn", "the final turn ends the turn")


def image():
    message = CLIENT.messages.create(
        model="claude-haiku-4-5",
        max_tokens=256,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
                    {"type": "text", "text": "What is in this image?"},
                ],
            }
        ],
    )
    check(message.model == "claude-haiku-4-5", "an image request is answered")
    check(message.content[-1].type == "text" and message.content[-1].text, "with text")


def count_tokens():
    short = CLIENT.messages.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": "Hello"}]
    )
    long = CLIENT.messages.count_tokens(
        model=MODEL,
        system="You are a helpful assistant.",
        tools=[WEATHER],
        messages=[{"role": "user", "content": "Hello there, how are you today? " * 50}],
    )
    check(0 < short.input_tokens < 20, f"count_tokens of a short message ({short.input_tokens})")
    check(350 < long.input_tokens < 600, f"count_tokens grows with the request ({long.input_tokens})")


def errors():
    try:
        CLIENT.messages.create(
            model="claude-2.1", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
        check(False, "an unknown model is refused")
    except anthropic.NotFoundError as err:
        check(err.body["type"] == "error", "errors in Anthropic's shape")
        check(err.body["error"]["type"] == "not_found_error", "404 not_found_error for a model")
    try:
        CLIENT.messages.create(
            model=MODEL,
            max_tokens=10,
            stop_sequences=["END"],
            messages=[{"role": "user", "content": "hi"}],
        )
        check(False, "stop_sequences are refused")
    except anthropic.BadRequestError as err:
        check(err.body["error"]["type"] == "invalid_request_error", "400 invalid_request_error")
        check("stop_sequences" in err.body["error"]["message"], "the message names the field")


streaming_text()
tool_round_trip()
image()
count_tokens()
errors()
