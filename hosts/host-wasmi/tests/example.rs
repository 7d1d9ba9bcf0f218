//! The `embed-*` example of this host (`examples/embed.rs`) prints the demo and then the call with
//! input exactly as the golden files `hello.txt` and `hello_input.txt` say, and exits 0.
//!
//! The same file in every host crate: the example's name comes from the package's.

use std::path::Path;
use std::process::Command;

#[test]
fn example_output_matches_the_golden_files() {
    let name = env!("CARGO_PKG_NAME").replace("host-", "embed-");
    // `cargo test` builds the examples (not with `--test example`) into `examples/`, next to the
    // `deps/` directory this test binary is in.
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test_binary.parent().and_then(Path::parent).expect("the test binary is in `deps/`");
    let example = profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let output = Command::new(&example)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}): build it with `cargo test`", example.display()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{name} exited with {}:\n{stderr}", output.status);
    let expected = harness::golden::read("hello.txt") + &harness::golden::read("hello_input.txt");
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected, "{name}'s output");
}
