//! The `embed-silverfir` example (`examples/embed.rs`) prints the demo and then the call with input
//! exactly as the golden files `hello.txt` and `hello_input.txt` say, and exits 0.

#[test]
fn example_output_matches_the_golden_files() {
    golden::check_example(env!("CARGO_PKG_NAME"));
}
