//! The conformance suite: every registered runtime runs the same guests and must agree with the
//! golden files. One test binary, each part a module (a binary each would link every runtime
//! once per part): `cargo test -p conformance --test conformance generated::` runs one part.

mod answers;
mod calls;
mod cases;
mod differential;
mod generated;
mod guest_stack;
mod hello;
mod isolation;
mod load;
mod scenarios;
mod support;
