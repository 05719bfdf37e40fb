pub mod missing_structured_logging;
pub mod print_call;
