pub mod http_call_without_timeout;
pub mod blocking_call_in_async;
pub mod missing_retry_or_circuit_breaker;
pub mod http_client_per_request;
