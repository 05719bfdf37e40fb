pub mod print_call;
pub mod missing_structured_logging;
