pub mod debug_enabled;
pub mod hardcoded_secret;
pub mod jwt_decode_unverified;
pub mod unauthenticated_route;
