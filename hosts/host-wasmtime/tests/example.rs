//! The examples print the demo and then the call with input exactly as the golden files
//! `hello.txt` and `hello_input.txt` say, and exit 0: `embed-wasmtime` (`examples/embed.rs`, plain
//! wasmtime code) and `hardened-wasmtime` (`examples/hardened.rs` with `src/imports.rs`, the host a
//! user copies).

#[test]
fn embed_output_matches_the_golden_files() {
    golden::check_example(env!("CARGO_PKG_NAME"));
}

#[test]
fn hardened_output_matches_the_golden_files() {
    golden::check_example_named("hardened-wasmtime");
}
