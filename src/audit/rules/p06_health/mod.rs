pub mod missing_liveness_route;
pub mod missing_readiness_route;
pub mod health_route_behind_auth;
