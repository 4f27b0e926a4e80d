"""Compacts a conversation through byok with the official OpenAI Python SDK.

Run by tests/tests/compact.rs, with byok in front of a stand-in Codex backend that answers an
input ending with `compaction_trigger` with one compaction item, and other requests from
reasoning.sse. Environment:
  OPENAI_BASE_URL  byok's base URL, e.g. http://127.0.0.1:PORT/v1
  BYOK_EXPECT      JSON: {"encrypted": the stand-in's compaction, "text": the recorded answer}
Prints one "ok: ..." line per check; exits non-zero at the first failure.
"""

from byok_sdk import check, expectations, openai_client

EXPECT = expectations()
CLIENT = openai_client()


conversation = [
    {"role": "user", "content": "Create a landing page for a dog cafe."},
    {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Here is the page: ..."}],
    },
    {"role": "user", "content": "Add a footer."},
]
compacted = CLIENT.responses.compact(model="gpt-5.5", input=conversation)
check(compacted.object == "response.compaction", f"object {compacted.object!r}")
kinds = [(item.type, getattr(item, "role", None)) for item in compacted.output]
check(
    kinds == [("message", "user"), ("message", "user"), ("compaction", None)],
    f"output {kinds}",
)
check(
    compacted.output[1].content[0].text == "Add a footer.",
    f"the user messages kept: {compacted.output[1]}",
)
check(
    compacted.output[-1].encrypted_content == EXPECT["encrypted"],
    f"encrypted_content {compacted.output[-1].encrypted_content!r}",
)
check(compacted.usage.total_tokens > 0, f"usage {compacted.usage}")
check(compacted.id.startswith("resp_"), f"id {compacted.id!r}")
print("ok: responses.compact")

# The compacted window replaces the conversation in the next request, as the API's guide says.
window = [item.model_dump(exclude_none=True) for item in compacted.output]
after = CLIENT.responses.create(
    model="gpt-5.5", input=window + [{"role": "user", "content": "Now make it blue."}]
)
check(after.output_text == EXPECT["text"], f"answer after compaction {after.output_text!r}")
print("ok: responses.create with the compacted window")

# A conversation byok kept, named by previous_response_id, compacts too.
first = CLIENT.responses.create(model="gpt-5.5", input="Plan a trip to Lyon.")
chained = CLIENT.responses.compact(
    model="gpt-5.5", previous_response_id=first.id, input="And then Paris."
)
texts = [item.content[0].text for item in chained.output if item.type == "message"]
check(texts == ["Plan a trip to Lyon.", "And then Paris."], f"chained user messages {texts}")
check(chained.output[-1].type == "compaction", f"chained output {chained.output}")
print("ok: responses.compact with previous_response_id")
