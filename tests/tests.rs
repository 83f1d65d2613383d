//! Black-box tests of the `ggen` binary: the golden case folders of
//! tests/cases/ (one test, `cases`), and in modules what a folder cannot
//! hold.

mod tools;
mod util;

mod action;
mod attacks;
mod cases;
mod crash;
mod cross_language;
mod diagrams;
mod digests;
mod fast_path;
mod fuzz_driver;
mod lock;
mod pipes;
mod repository;
mod sarif;
mod signing;
mod targets;
mod verify_paths;
mod watch;
