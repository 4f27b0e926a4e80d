//! However the upstream's bytes are split, every translator writes the same output.

mod common;

use byok_translate::{
    ChatOptions, ChatStreamTranslator, ReasoningMode, ResponseCollector, ResponsesPassthrough,
    ResponsesStreamBuilder, SseTranslator, ToolNameMap,
};
use common::{FIXTURES, fixture, run, short_instructions, with_usage};
use proptest::prelude::*;

/// Feeds `stream` in two pieces, split at `at`.
fn split_at(translator: &mut dyn SseTranslator, stream: &[u8], at: usize) -> Vec<u8> {
    run(translator, [&stream[..at], &stream[at..]]).0
}

fn chat() -> ChatStreamTranslator {
    ChatStreamTranslator::new(with_usage())
}

/// Asserts that feeding `stream` in two pieces, split at each of `points`, gives the output
/// of feeding it whole.
fn assert_split_invariant(name: &str, stream: &[u8], points: impl IntoIterator<Item = usize>) {
    let whole = run(&mut chat(), [stream]).0;
    let view = common::chat_view(&whole);
    assert!(
        view.done_last && view.errors.is_empty() && view.finish_reasons.len() == 1,
        "{name}: translates"
    );
    for at in points {
        let split = split_at(&mut chat(), stream, at);
        assert!(
            split == whole,
            "{name}: split at byte {at} changed the output"
        );
    }
}

/// Where splitting can matter: around every line ending (the parser's state changes there:
/// line ends, CRLF pairs, blank lines, field names) and a stride through the lines' insides,
/// thinned evenly to at most `budget` points so the test stays fast in a debug build.
fn split_points(stream: &[u8], budget: usize) -> Vec<usize> {
    let mut points: Vec<usize> = (0..=stream.len()).step_by(97).collect();
    for (at, _) in stream
        .iter()
        .enumerate()
        .filter(|(_, byte)| **byte == b'\n')
    {
        points.extend(at.saturating_sub(1)..=(at + 8).min(stream.len()));
    }
    points.push(stream.len());
    points.sort_unstable();
    points.dedup();
    let keep_every = points.len().div_ceil(budget).max(1);
    points.into_iter().step_by(keep_every).collect()
}

/// Feeds a recording in two pieces, split at every byte boundary in turn (one test per
/// recording, so that the test harness spreads them over the cores).
fn assert_every_split_invariant(name: &str) {
    let stream = fixture(name);
    assert_split_invariant(name, &stream, 0..=stream.len());
}

#[test]
fn text_splits_at_every_byte() {
    assert_every_split_invariant("text");
}

#[test]
fn tools_splits_at_every_byte() {
    assert_every_split_invariant("tools");
}

#[test]
fn reasoning_splits_at_every_byte() {
    assert_every_split_invariant("reasoning");
}

#[test]
fn structured_splits_at_every_byte() {
    assert_every_split_invariant("structured");
}

#[test]
fn text_empty_output_splits_at_every_byte() {
    assert_every_split_invariant("text-empty-output");
}

#[test]
fn tools_empty_output_splits_at_every_byte() {
    assert_every_split_invariant("tools-empty-output");
}

#[test]
fn byte_by_byte_feeding_changes_nothing() {
    for name in ["text", "tools"] {
        let stream = fixture(name);
        let think = ChatOptions {
            reasoning: ReasoningMode::ThinkTags,
            ..with_usage()
        };
        let whole = run(&mut ChatStreamTranslator::new(think.clone()), [&stream[..]]).0;
        let bytes = run(&mut ChatStreamTranslator::new(think), stream.chunks(1)).0;
        assert!(bytes == whole, "{name}");
    }
}

#[test]
fn crlf_line_endings_translate_like_lf() {
    let stream = fixture("tools");
    let crlf: Vec<u8> = String::from_utf8(stream.clone())
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    let cr: Vec<u8> = String::from_utf8(stream.clone())
        .unwrap()
        .replace('\n', "\r")
        .into_bytes();
    let lf = run(&mut chat(), [&stream[..]]).0;
    assert!(run(&mut chat(), crlf.chunks(997)).0 == lf);
    assert!(run(&mut chat(), cr.chunks(997)).0 == lf);
}

#[test]
fn answering_as_the_asked_model_changes_only_the_model_at_every_split() {
    for name in FIXTURES {
        let stream = short_instructions(&fixture(name));
        let passthrough =
            || ResponsesPassthrough::new(ToolNameMap::default()).answering_as("gpt-5");
        let whole = run(&mut passthrough(), [&stream[..]]).0;
        if !name.ends_with("-empty-output") {
            // Byte for byte the recording, the lifecycle events' dated model name aside.
            let expected = String::from_utf8(stream.clone())
                .unwrap()
                .replace(r#""model":"gpt-5-2025-08-07""#, r#""model":"gpt-5""#);
            assert!(
                whole == expected.as_bytes(),
                "{name}: only the model changed"
            );
        }
        let lifecycle = common::events(&whole)
            .into_iter()
            .filter_map(|event| event.get("response").map(|r| r["model"].clone()))
            .collect::<Vec<_>>();
        assert!(lifecycle.len() >= 3, "{name}");
        assert!(
            lifecycle.iter().all(|m| m == "gpt-5"),
            "{name}: {lifecycle:?}"
        );
        for at in split_points(&stream, 200) {
            assert!(
                split_at(&mut passthrough(), &stream, at) == whole,
                "{name}: split at {at}"
            );
        }
    }
}

/// A recording as a kept response answered as `gpt-5` after `resp_before` serves it: the
/// marked fields changed, every other byte as it came.
fn kept_marks(stream: &[u8]) -> String {
    String::from_utf8(stream.to_vec())
        .unwrap()
        .replace(r#""model":"gpt-5-2025-08-07""#, r#""model":"gpt-5""#)
        .replace(r#""store":false"#, r#""store":true"#)
        .replace(
            r#""previous_response_id":null"#,
            r#""previous_response_id":"resp_before""#,
        )
}

#[test]
fn a_kept_response_is_marked_in_place_and_kept_whole_at_every_split() {
    for name in FIXTURES {
        let stream = short_instructions(&fixture(name));
        let passthrough = || {
            ResponsesPassthrough::new(ToolNameMap::default())
                .answering_as("gpt-5")
                .stored(Some("resp_before".into()))
        };
        let mut whole_run = passthrough();
        let whole = run(&mut whole_run, [&stream[..]]).0;
        let kept = whole_run.take_response().expect("the response is kept");
        let events = common::events(&whole);
        let responses: Vec<_> = events.iter().filter_map(|e| e.get("response")).collect();
        assert_eq!(
            responses.len(),
            3,
            "{name}: created, in_progress, completed"
        );
        for response in &responses {
            assert_eq!(response["store"], true, "{name}");
            assert_eq!(response["previous_response_id"], "resp_before", "{name}");
            assert_eq!(response["model"], "gpt-5", "{name}");
        }
        assert_eq!(&kept, responses[2], "{name}: kept as served");
        assert!(
            kept["output"].as_array().is_some_and(|o| !o.is_empty()),
            "{name}: the kept output is whole"
        );
        if !name.ends_with("-empty-output") {
            // Byte for byte the recording, the marked fields aside (spliced, not rewritten).
            let expected = kept_marks(&stream);
            assert!(
                whole == expected.as_bytes(),
                "{name}: only the marks changed"
            );
        }
        for at in split_points(&stream, 200) {
            let mut split = passthrough();
            assert!(
                split_at(&mut split, &stream, at) == whole,
                "{name}: split at {at}"
            );
            assert_eq!(
                split.take_response(),
                Some(kept.clone()),
                "{name}: split at {at}"
            );
        }
    }
}

#[test]
fn long_instructions_are_read_past_and_still_echoed_whole() {
    // The recordings as they came: their lifecycle events' 11 KB `instructions` are emptied in
    // a copy before the events are read (crates/translate/src/stream/mod.rs), which changes
    // nothing a client gets, split anywhere.
    for name in FIXTURES {
        let stream = fixture(name);
        let short = short_instructions(&stream);
        assert!(
            stream.len() > short.len() + 10_000,
            "{name}: long instructions"
        );
        let chat_whole = run(&mut chat(), [&stream[..]]).0;
        assert!(
            chat_whole == run(&mut chat(), [&short[..]]).0,
            "{name}: Chat"
        );
        let kept = || {
            ResponsesPassthrough::new(ToolNameMap::default())
                .answering_as("gpt-5")
                .stored(Some("resp_before".into()))
        };
        let mut whole_run = kept();
        let whole = run(&mut whole_run, [&stream[..]]).0;
        let response = whole_run.take_response().expect("the response is kept");
        let instructions = common::events(&stream)
            .into_iter()
            .find_map(|event| {
                event["response"]["instructions"]
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap();
        assert_eq!(response["instructions"], instructions.as_str(), "{name}");
        if !name.ends_with("-empty-output") {
            let expected = kept_marks(&stream);
            assert!(
                whole == expected.as_bytes(),
                "{name}: only the marks changed"
            );
        }
        for at in split_points(&stream, 60) {
            assert!(
                split_at(&mut chat(), &stream, at) == chat_whole,
                "{name}: Chat, split at {at}"
            );
            let mut split = kept();
            assert!(
                split_at(&mut split, &stream, at) == whole,
                "{name}: split at {at}"
            );
            assert_eq!(
                split.take_response().as_ref(),
                Some(&response),
                "{name}: split at {at}"
            );
        }
    }
}

#[test]
fn the_other_translators_do_not_depend_on_splits_either() {
    for name in FIXTURES {
        let stream = short_instructions(&fixture(name));
        let passthrough = || ResponsesPassthrough::new(ToolNameMap::default());
        let whole = run(&mut passthrough(), [&stream[..]]).0;
        if !name.ends_with("-empty-output") {
            assert!(whole == stream, "{name}: passed through untouched");
        }
        let collected = collect([&stream[..]]);
        // The Chat chunks of the recording, as a Chat upstream would send them.
        let chat_stream = run(&mut chat(), [&stream[..]]).0;
        let built = run(&mut ResponsesStreamBuilder::new("m"), [&chat_stream[..]]).0;
        for at in split_points(&stream, 200) {
            assert!(
                split_at(&mut passthrough(), &stream, at) == whole,
                "{name}: passthrough split at {at}"
            );
            assert_eq!(
                collect([&stream[..at], &stream[at..]]),
                collected,
                "{name}: collector split at {at}"
            );
        }
        for at in split_points(&chat_stream, 200) {
            let split = split_at(&mut ResponsesStreamBuilder::new("m"), &chat_stream, at);
            assert!(split == built, "{name}: reverse builder split at {at}");
        }
    }
}

fn collect<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> serde_json::Value {
    let mut collector = ResponseCollector::new();
    for piece in pieces {
        collector.feed(piece);
    }
    collector.finish().expect("the recording completes")
}

/// Cuts `stream` at the given points (taken modulo its length), sorted.
fn pieces<'a>(stream: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut % (stream.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts {
        pieces.push(&stream[start..cut]);
        start = cut;
    }
    pieces.push(&stream[start..]);
    pieces
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_splits_never_change_the_chat_chunks(fixture_at in 0..FIXTURES.len(), cuts in prop::collection::vec(any::<usize>(), 0..40)) {
        let stream = fixture(FIXTURES[fixture_at]);
        let whole = run(&mut chat(), [&stream[..]]).0;
        let split = run(&mut chat(), pieces(&stream, &cuts)).0;
        prop_assert!(split == whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000), cuts in prop::collection::vec(any::<usize>(), 0..8)) {
        let chunks = pieces(&bytes, &cuts);
        run(&mut chat(), chunks.clone());
        run(&mut ResponsesPassthrough::new(ToolNameMap::default()), chunks.clone());
        run(&mut ResponsesStreamBuilder::new("m"), chunks.clone());
        let mut collector = ResponseCollector::new();
        for chunk in chunks {
            collector.feed(chunk);
        }
        let _ = collector.finish();
    }

    #[test]
    fn damaged_recordings_never_panic(fixture_at in 0..FIXTURES.len(), flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..20)) {
        let mut stream = fixture(FIXTURES[fixture_at]);
        let len = stream.len();
        for (at, byte) in flips {
            stream[at % len] = byte;
        }
        let (out, _) = run(&mut chat(), [&stream[..]]);
        // Whatever came in, what goes out is SSE a Chat client can read.
        for payload in common::events(&out) {
            prop_assert!(payload.is_object() || payload == "[DONE]");
        }
        run(&mut ResponsesPassthrough::new(ToolNameMap::default()), [&stream[..]]);
    }
}
