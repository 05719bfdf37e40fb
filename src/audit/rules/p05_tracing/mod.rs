pub mod missing_tracing;
