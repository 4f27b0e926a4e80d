"""Drives byok's response store with the official OpenAI Python SDK.

Run by tests/tests/stored.rs, with byok in front of a stand-in Codex backend that answers every
request from reasoning.sse (each answer with a response id of its own). Environment:
  OPENAI_BASE_URL  byok's base URL, e.g. http://127.0.0.1:PORT/v1
  BYOK_EXPECT      JSON: {"text": the recorded answer}
Prints one "ok: ..." line per check, then one JSON line {"ids": [first, second]}; exits non-zero
at the first failure.
"""

import json

import openai
from byok_sdk import check, expectations, openai_client

EXPECT = expectations()
CLIENT = openai_client()


first = CLIENT.responses.create(model="gpt-5", input="Factorial of 5, step by step.")
check(first.output_text == EXPECT["text"], f"first answer {first.output_text!r}")
check(first.store is True, f"store {first.store!r}: byok keeps it, so it must say so")
print("ok: responses.create kept the response")

# The second turn names only the first: byok sends the whole history upstream.
stream = CLIENT.responses.create(
    model="gpt-5",
    input="And of 6?",
    previous_response_id=first.id,
    stream=True,
)
second = None
for event in stream:
    if event.type == "response.completed":
        second = event.response
check(second is not None, "no response.completed event")
check(second.id != first.id, f"the second response has the first's id {second.id!r}")
check(second.previous_response_id == first.id, f"previous_response_id {second.previous_response_id!r}")
check(second.output_text == EXPECT["text"], f"second answer {second.output_text!r}")
print("ok: responses.create(previous_response_id=..., stream=True)")

got = CLIENT.responses.retrieve(second.id)
check(got.id == second.id, f"retrieved {got.id!r}")
check(got.output_text == EXPECT["text"], f"retrieved answer {got.output_text!r}")
check(got.previous_response_id == first.id, "retrieved previous_response_id")
print("ok: responses.retrieve")

items = CLIENT.responses.input_items.list(second.id, order="asc")
texts = [part.text for item in items.data for part in item.content]
check(texts == ["And of 6?"], f"input items {texts!r}")
print("ok: responses.input_items.list")

CLIENT.responses.delete(first.id)
try:
    CLIENT.responses.retrieve(first.id)
    check(False, "a deleted response was retrieved")
except openai.NotFoundError:
    pass
print("ok: responses.delete")

print(json.dumps({"ids": [first.id, second.id]}))
