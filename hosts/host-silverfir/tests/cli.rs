//! The `host-silverfir` binary prints the demo and every hostile case exactly as the golden files
//! say, with the documented exit status and a one-line error on stderr.

#[test]
fn binary_output_matches_the_golden_files() {
    golden::check_cli::<host_silverfir::Silverfir>(env!("CARGO_BIN_EXE_host-silverfir"));
}
