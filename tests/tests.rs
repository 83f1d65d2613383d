//! Black-box tests of the `ggen` binary, one module per topic.

mod tools;
mod util;

mod builtin_targets;
mod cross_language;
mod defaults;
mod errors;
mod init;
mod overrides;
mod sync;
mod targets;
mod verify;
mod watch;
