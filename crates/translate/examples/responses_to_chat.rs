//! Reads a Responses SSE stream on stdin, writes the Chat Completions chunk stream on stdout.
//!
//! `cargo run -p byok-translate --example responses_to_chat < tests/data/text.sse`

use std::io::{Read, Write};

use byok_translate::{ChatOptions, ChatStreamTranslator, SseTranslator, StreamState};

fn main() -> std::io::Result<()> {
    let options = ChatOptions {
        include_usage: true,
        ..ChatOptions::default()
    };
    let mut translator = ChatStreamTranslator::new(options);
    let (mut stdin, mut stdout) = (std::io::stdin().lock(), std::io::stdout().lock());
    let mut buf = vec![0; 16 * 1024];
    let mut out = Vec::new();
    loop {
        let read = stdin.read(&mut buf)?;
        if read == 0 {
            break;
        }
        translator.feed(&buf[..read], &mut out);
        stdout.write_all(&out)?;
        out.clear();
    }
    translator.finish(&mut out);
    stdout.write_all(&out)?;
    if let StreamState::Failed { message } = translator.state() {
        eprintln!("stream failed: {message}");
        std::process::exit(1);
    }
    Ok(())
}
