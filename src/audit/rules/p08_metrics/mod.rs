pub mod missing_metrics;
