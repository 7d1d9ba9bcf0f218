//! The `host-wasmtime-component` binary prints the demo and the call with input exactly as the
//! core hosts do (`tests/golden/hello.txt`, `hello_input.txt`), and every hostile component of
//! `tests/components/` as its golden file says, exiting 1 with one error line.

#[test]
fn cli_output_matches_the_golden_files() {
    golden::check_component_cli::<host_wasmtime_component::WasmtimeComponent>(env!(
        "CARGO_BIN_EXE_host-wasmtime-component"
    ));
}
