//! The `host-wasm3` binary prints the demo and every hostile case exactly as the golden files say,
//! with the documented exit status and a one-line error on stderr; a fuel limit, which wasm3
//! cannot enforce, is refused.

#[test]
fn binary_output_matches_the_golden_files() {
    golden::check_cli::<host_wasm3::Wasm3>(env!("CARGO_BIN_EXE_host-wasm3"));
}
