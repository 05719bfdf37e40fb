pub mod task_without_retry_policy;
pub mod task_without_time_limit;
pub mod task_acks_early;
pub mod hardcoded_broker_url;
