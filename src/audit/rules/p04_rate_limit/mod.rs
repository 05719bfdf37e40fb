pub mod missing_rate_limit;
