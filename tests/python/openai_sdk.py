"""Drives byok with the official OpenAI Python SDK and checks what it receives.

Run by tests/tests/clients.rs, with byok in front of a stand-in Codex backend that answers
requests with tools from tools.sse and the others from reasoning.sse. Environment:
  OPENAI_BASE_URL  byok's base URL, e.g. http://127.0.0.1:PORT/v1
  BYOK_EXPECT      JSON: {"calls": [[id, name, arguments], ...], "text": ..., "reasoning": ...}
Prints one "ok: ..." line per check; exits non-zero at the first failure.
"""

from byok_sdk import check, expectations, openai_client

EXPECT = expectations()
CLIENT = openai_client()
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "parameters": {"type": "object", "properties": {}},
        },
    }
    for name in ("get_weather", "calculate_distance")
]


def stream_tool_calls():
    stream = CLIENT.chat.completions.create(
        model="gpt-5",
        messages=[{"role": "user", "content": "Weather in New York, and how far to LA?"}],
        tools=TOOLS,
        stream=True,
        stream_options={"include_usage": True},
    )
    calls, finish, usage = {}, [], None
    for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or []:
                entry = calls.setdefault(call.index, ["", "", ""])
                entry[0] = call.id or entry[0]
                if call.function is not None:
                    entry[1] = call.function.name or entry[1]
                    entry[2] += call.function.arguments or ""
            if choice.finish_reason:
                finish.append(choice.finish_reason)
    got = [calls[i] for i in sorted(calls)]
    check(got == EXPECT["calls"], f"tool calls {got!r} != {EXPECT['calls']!r}")
    check(finish == ["tool_calls"], f"finish reasons {finish!r}")
    check(usage is not None and usage.prompt_tokens > 0, f"usage {usage!r}")
    print(f"ok: chat stream with {len(got)} tool calls")


def stream_reasoning():
    stream = CLIENT.chat.completions.create(
        model="gpt-5",
        messages=[{"role": "user", "content": "Factorial of 5, step by step."}],
        reasoning_effort="low",
        stream=True,
    )
    text, reasoning = "", ""
    for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
            reasoning += getattr(choice.delta, "reasoning_content", None) or ""
    check(text == EXPECT["text"], f"text {text!r}")
    check(reasoning.split() == EXPECT["reasoning"].split(), f"reasoning {reasoning[:80]!r}...")
    print(f"ok: chat stream with {len(reasoning)} characters of reasoning")


def responses_create():
    response = CLIENT.responses.create(model="gpt-5", input="hi")
    check(response.output_text == EXPECT["text"], f"responses.create text {response.output_text!r}")
    print("ok: responses.create")


def responses_stream():
    with CLIENT.responses.stream(model="gpt-5", input="hi") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    check("response.completed" in kinds, f"events {set(kinds)!r}")
    check(final.output_text == EXPECT["text"], f"responses.stream text {final.output_text!r}")
    print("ok: responses.stream")


if __name__ == "__main__":
    stream_tool_calls()
    stream_reasoning()
    responses_create()
    responses_stream()
