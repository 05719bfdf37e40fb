//! svc: generate FastAPI microservices that follow the principles, and audit existing ones.
//!
//! Data flows one way: `cli` parses arguments, `audit` walks -> parses -> builds the service
//! model -> runs rules -> suppresses -> reports, and `new` reads answers -> renders -> writes.

pub mod alloc;
pub mod atomic;
pub mod audit;
pub mod cli;
pub mod init;
pub mod new;
pub mod plural;
pub mod stdout;
pub mod toml_check;
pub mod update;
pub mod yaml_tree;
