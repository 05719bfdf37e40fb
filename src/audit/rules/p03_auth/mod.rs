pub mod unauthenticated_route;
pub mod jwt_decode_unverified;
pub mod hardcoded_secret;
pub mod debug_enabled;
