pub mod client_created_per_invocation;
pub mod mangum_lifespan_on;
pub mod unused_heavy_import;
