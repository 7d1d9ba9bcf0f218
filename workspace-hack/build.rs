//! Empty: a build script makes cargo apply the hack's build-dependency features too.
fn main() {}
