//! Chat Completions requests -> Responses requests, field by field.

use byok_translate::{
    ChatOptions, Preset, TranslateError, bundled_models, chat_to_responses, resolve_chat_alias,
    response_to_chat,
};
use serde_json::{Value, json};

fn codex(chat: &Value) -> Value {
    chat_to_responses(chat, Preset::Codex).unwrap().body
}

fn openai(chat: &Value) -> Value {
    chat_to_responses(chat, Preset::OpenAi).unwrap().body
}

fn hi() -> Value {
    json!({"model": "gpt-5", "messages": [{"role": "user", "content": "Hi"}]})
}

fn with(mut chat: Value, key: &str, value: Value) -> Value {
    chat[key] = value;
    chat
}

#[test]
fn system_and_developer_text_becomes_instructions_for_codex_and_developer_items_for_openai() {
    let chat = json!({"model": "gpt-5", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
        {"role": "user", "content": "Hi"},
    ]});
    let body = codex(&chat);
    assert_eq!(body["instructions"], "Be brief.\n\nUse metric units.");
    assert_eq!(
        body["input"],
        json!([{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}])
    );

    let body = openai(&chat);
    assert!(body.get("instructions").is_none());
    assert_eq!(
        body["input"][0],
        json!({"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Be brief."}]})
    );
    assert_eq!(body["input"][1]["content"][0]["text"], "Use metric units.");
}

#[test]
fn the_codex_preset_forces_what_the_backend_demands_and_keeps_only_what_it_accepts() {
    let chat = json!({
        "model": "gpt-5", "messages": [{"role": "user", "content": "Hi"}],
        "stream": false, "temperature": 0.3, "top_p": 0.9, "max_tokens": 10, "max_completion_tokens": 20,
        "presence_penalty": 1, "frequency_penalty": 1, "seed": 4, "metadata": {"a": "b"}, "user": "u",
        "store": true, "stream_options": {"include_usage": true}, "logprobs": true, "n": 1,
        "parallel_tool_calls": false, "prompt_cache_key": "k",
    });
    let body = codex(&chat);
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "include",
            "input",
            "instructions",
            "model",
            "parallel_tool_calls",
            "prompt_cache_key",
            "reasoning",
            "store",
            "stream"
        ]
    );
    assert_eq!(
        (body["store"].clone(), body["stream"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(
        body["instructions"], "",
        "a string even without system messages"
    );
    assert_eq!(body["reasoning"], json!({"summary": "auto"}));
}

#[test]
fn the_openai_preset_keeps_sampling_fields_and_maps_the_token_limit() {
    let chat = json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "Hi"}], "stream": true,
        "temperature": 0.3, "top_p": 0.9, "max_tokens": 10, "user": "u", "metadata": {"a": "b"}});
    let body = openai(&chat);
    assert_eq!(body["temperature"], 0.3);
    assert_eq!(body["top_p"], 0.9);
    assert_eq!(body["max_output_tokens"], 10);
    assert_eq!(body["user"], "u");
    assert_eq!(body["metadata"], json!({"a": "b"}));
    assert_eq!(body["stream"], true);
    assert_eq!(
        body["store"], false,
        "stored only when asked, as with Chat Completions"
    );
    assert_eq!(openai(&with(hi(), "store", true.into()))["store"], true);
    assert!(
        body.get("reasoning").is_none(),
        "no reasoning block for a model that was not asked to reason"
    );
    let newer = openai(&with(
        with(hi(), "max_tokens", json!(10)),
        "max_completion_tokens",
        json!(30),
    ));
    assert_eq!(newer["max_output_tokens"], 30, "max_completion_tokens wins");
}

#[test]
fn effort_comes_from_the_model_suffix_or_reasoning_effort() {
    for (model, effort, base) in [
        ("gpt-5.6-sol-high", "high", "gpt-5.6-sol"),
        ("gpt-5.5-xhigh", "xhigh", "gpt-5.5"),
        ("o4-mini-low", "low", "o4-mini"),
    ] {
        for preset in [Preset::OpenAi, Preset::Codex] {
            let mut chat = with(hi(), "model", model.into());
            resolve_chat_alias(&mut chat, bundled_models()).unwrap();
            let body = chat_to_responses(&chat, preset).unwrap().body;
            assert_eq!(body["model"], base);
            assert_eq!(
                body["reasoning"],
                json!({"effort": effort, "summary": "auto"})
            );
        }
    }
    let mut chat = with(
        with(hi(), "model", "gpt-5.5-high".into()),
        "reasoning_effort",
        "low".into(),
    );
    resolve_chat_alias(&mut chat, bundled_models()).unwrap();
    let body = codex(&chat);
    assert_eq!(
        body["reasoning"]["effort"], "low",
        "an explicit reasoning_effort wins over the suffix"
    );
    assert_eq!(
        codex(&with(hi(), "model", "gpt-5.3-codex-spark".into()))["model"],
        "gpt-5.3-codex-spark"
    );
}

#[test]
fn content_parts_images_and_files() {
    let chat = json!({"model": "gpt-5", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}},
    ]}]});
    assert_eq!(
        codex(&chat)["input"][0]["content"],
        json!([
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"},
            {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"},
            {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"},
        ])
    );
    let audio = json!({"model": "gpt-5", "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]});
    let err = chat_to_responses(&audio, Preset::Codex).unwrap_err();
    assert_eq!(err.param(), Some("messages[0].content[0].type"));
}

#[test]
fn assistant_tool_calls_and_tool_results_become_call_items() {
    let chat = json!({"model": "gpt-5", "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "Let me check.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"c\":21}"},
        {"role": "assistant", "content": "It is 21 °C."},
    ]});
    let input = codex(&chat)["input"].clone();
    assert_eq!(
        input[1],
        json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}]})
    );
    assert_eq!(
        input[2],
        json!({"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"})
    );
    assert_eq!(
        input[3],
        json!({"type": "function_call_output", "call_id": "call_1", "output": "{\"c\":21}"})
    );
    assert_eq!(input[4]["content"][0]["text"], "It is 21 °C.");
}

#[test]
fn tools_tool_choice_and_strict_schemas() {
    let parameters =
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    let chat = json!({"model": "gpt-5", "messages": [{"role": "user", "content": "Hi"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": parameters, "strict": true}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "parallel_tool_calls": false});
    let body = codex(&chat);
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "name": "get_weather", "description": "Weather", "parameters": parameters, "strict": true}])
    );
    assert_eq!(
        body["tool_choice"],
        json!({"type": "function", "name": "get_weather"})
    );
    assert_eq!(body["parallel_tool_calls"], false);
    for choice in ["auto", "none", "required"] {
        assert_eq!(
            codex(&with(chat.clone(), "tool_choice", choice.into()))["tool_choice"],
            choice
        );
    }
    let allowed = json!({"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "get_weather"}}]}});
    assert_eq!(
        codex(&with(chat.clone(), "tool_choice", allowed))["tool_choice"],
        json!({"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_weather"}]})
    );
}

#[test]
fn response_format_becomes_text_format() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
    let chat = with(
        hi(),
        "response_format",
        json!({"type": "json_schema", "json_schema": {"name": "thing", "schema": schema, "strict": true}}),
    );
    assert_eq!(
        codex(&chat)["text"],
        json!({"format": {"type": "json_schema", "name": "thing", "schema": schema, "strict": true}})
    );
    assert_eq!(
        codex(&with(
            hi(),
            "response_format",
            json!({"type": "json_object"})
        ))["text"],
        json!({"format": {"type": "json_object"}})
    );
    let err = chat_to_responses(
        &with(hi(), "response_format", json!({"type": "yaml"})),
        Preset::Codex,
    )
    .unwrap_err();
    assert_eq!(err.param(), Some("response_format.type"));
}

#[test]
fn n_above_one_and_stop_are_refused_with_the_field_named() {
    for preset in [Preset::OpenAi, Preset::Codex] {
        let err = chat_to_responses(&with(hi(), "n", 2.into()), preset).unwrap_err();
        assert_eq!(err.param(), Some("n"));
        assert!(
            err.to_string().contains("`n` > 1 is not supported"),
            "{err}"
        );
        let err = chat_to_responses(&with(hi(), "stop", json!(["\n\n"])), preset).unwrap_err();
        assert_eq!(err.param(), Some("stop"));
        assert!(matches!(err, TranslateError::Unsupported { .. }));
    }
    // What changes nothing is accepted.
    codex(&with(with(hi(), "n", 1.into()), "stop", Value::Null));
    codex(&with(hi(), "stop", json!([])));
}

#[test]
fn malformed_requests_name_the_field_at_fault() {
    assert_eq!(
        chat_to_responses(&json!([1]), Preset::Codex).unwrap_err(),
        TranslateError::NotAnObject
    );
    assert_eq!(
        chat_to_responses(&json!({"messages": []}), Preset::Codex)
            .unwrap_err()
            .param(),
        Some("model")
    );
    assert_eq!(
        chat_to_responses(&json!({"model": "m"}), Preset::Codex)
            .unwrap_err()
            .param(),
        Some("messages")
    );
    let bad_role = json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]});
    assert_eq!(
        chat_to_responses(&bad_role, Preset::Codex)
            .unwrap_err()
            .param(),
        Some("messages[0].role")
    );
    let no_call_id = json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]});
    assert_eq!(
        chat_to_responses(&no_call_id, Preset::Codex)
            .unwrap_err()
            .param(),
        Some("messages[0].tool_call_id")
    );
}

/// What the OpenAI API refuses is refused, naming the field, rather than dropped or replaced on
/// the way to the backend (before: a `tools` string and a `tool_calls` object vanished, object
/// arguments became `{}`, an object `reasoning_effort` was ignored, a system-only chat went out
/// as an empty conversation and an assistant message without content disappeared).
#[test]
fn what_the_api_refuses_is_refused_not_sent_as_something_else() {
    let user = json!({"role": "user", "content": "What is the weather?"});
    let call = |arguments: Value| {
        json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": arguments}}
        ]})
    };
    let chat = |messages: Value| json!({"model": "gpt-5", "messages": messages});
    let cases = [
        (
            with(hi(), "tools", json!("weather")),
            "tools",
            "Invalid type for 'tools': expected an array of objects, but got a string instead.",
        ),
        (
            with(hi(), "reasoning_effort", json!({"effort": "high"})),
            "reasoning_effort",
            "Invalid type for 'reasoning_effort': expected a string, but got an object instead.",
        ),
        (
            chat(
                json!([user, {"role": "assistant", "content": "Let me look.", "tool_calls": {"id": "call_1"}}]),
            ),
            "messages[1].tool_calls",
            "Invalid type for 'messages[1].tool_calls': expected an array of objects, but got an object instead.",
        ),
        (
            chat(json!([user, call(json!({"city": "Paris"}))])),
            "messages[1].tool_calls[0].function.arguments",
            "Invalid type for 'messages[1].tool_calls[0].function.arguments': expected a string, but got an object instead.",
        ),
        (
            chat(json!([user, {"role": "assistant"}])),
            "messages[1].content",
            "Invalid type for 'messages[1].content': expected one of a string or array of objects, but got null instead.",
        ),
        (
            chat(json!([{"role": "user", "content": 7}])),
            "messages[0].content",
            "Invalid type for 'messages[0].content': expected one of a string or array of objects, but got an integer instead.",
        ),
    ];
    for preset in [Preset::Codex, Preset::OpenAi] {
        for (body, param, message) in &cases {
            let err = chat_to_responses(body, preset).unwrap_err();
            assert_eq!(err.param(), Some(*param), "{body}");
            assert_eq!(err.code(), Some("invalid_type"), "{body}");
            assert_eq!(err.to_string(), *message);
        }
        let missing = chat(json!([user, {"role": "assistant", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "weather"}}
        ]}]));
        let err = chat_to_responses(&missing, preset).unwrap_err();
        assert_eq!(
            err.param(),
            Some("messages[1].tool_calls[0].function.arguments")
        );
        assert_eq!(err.code(), Some("missing_required_parameter"));

        // Instructions alone: nothing to answer.
        let instructions = chat(json!([{"role": "system", "content": "Be brief."}]));
        let err = chat_to_responses(&instructions, preset).unwrap_err();
        assert_eq!(err.param(), Some("messages"));
        assert!(
            err.to_string().contains("no user or assistant message"),
            "{err}"
        );
        let empty = chat(json!([{"role": "user", "content": []}]));
        let err = chat_to_responses(&empty, preset).unwrap_err();
        assert_eq!(err.param(), Some("messages[0].content"));
    }
    // What is well-formed passes: nulls are the defaults, a tool call needs no text, and a
    // conversation may start with the assistant.
    let fine = json!({"model": "gpt-5", "tools": null, "reasoning_effort": null, "messages": [
        {"role": "assistant", "content": "Hello! Ask me about the weather."},
        user,
        call(json!("{\"city\":\"Paris\"}")),
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]});
    let body = codex(&fine);
    assert_eq!(body["input"][2]["arguments"], "{\"city\":\"Paris\"}");
}

#[test]
fn long_tool_names_are_shortened_everywhere_and_restored_in_the_answer() {
    let long = format!("mcp__some_server__{}", "very_long_tool_name_".repeat(4));
    let chat = json!({"model": "gpt-5", "messages": [
        {"role": "user", "content": "Go"},
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": long, "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "done"},
    ], "tools": [{"type": "function", "function": {"name": long, "parameters": {"type": "object"}}}],
       "tool_choice": {"type": "function", "function": {"name": long}}});
    let translated = chat_to_responses(&chat, Preset::Codex).unwrap();
    let sent = translated.body["tools"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(sent.len() <= 64 && sent != long);
    assert!(
        sent.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    );
    assert_eq!(
        translated.body["input"][1]["name"],
        sent.as_str(),
        "the history uses the same short name"
    );
    assert_eq!(translated.body["tool_choice"]["name"], sent.as_str());
    assert!(!translated.tool_names.is_empty());

    let response = json!({"id": "resp_1", "status": "completed", "output": [
        {"type": "function_call", "call_id": "call_2", "name": sent, "arguments": "{}"}]});
    let options = ChatOptions {
        tool_names: translated.tool_names,
        ..ChatOptions::default()
    };
    let answer = response_to_chat(&response, &options);
    assert_eq!(
        answer["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        long.as_str()
    );
    assert_eq!(answer["choices"][0]["finish_reason"], "tool_calls");
}
