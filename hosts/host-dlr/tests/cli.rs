//! The `host-dlr` binary prints the demo and every hostile case exactly as the golden files say,
//! with the documented exit status and a one-line error on stderr.

#[test]
fn binary_output_matches_the_golden_files() {
    golden::check_cli::<host_dlr::Dlr>(env!("CARGO_BIN_EXE_host-dlr"));
}
