//! The usage resources: `consilium://usage/me` (the caller's today against their plan, and
//! the last 7 days) and `consilium://usage/platform` (admins only: by plan, top users, burn
//! rate). The numbers come from `crate::metering`; this file only serves them.

use rmcp::ErrorData as McpError;
use rmcp::model::Resource;

use crate::identity::Scope;
use crate::mcp::RegistryBuilder;

pub const USAGE_ME_URI: &str = "consilium://usage/me";
pub const USAGE_PLATFORM_URI: &str = "consilium://usage/platform";

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.resource(
        Resource::new(USAGE_ME_URI, "usage-me")
            .with_title("My usage")
            .with_description(
                "Your usage today against your plan's limits (with when each resets), and your last 7 days",
            )
            .with_mime_type("application/json"),
        |scope, uri| async move {
            let principal = &scope.principal;
            let report = scope
                .app
                .meter
                .usage_me(&principal.user_id, &principal.plan)
                .await
                .map_err(|e| McpError::internal_error(format!("usage unavailable: {e}"), None))?;
            crate::mcp::json_resource(&report, uri)
        },
    );
    builder.resource_for(
        Some(Scope::Admin),
        Resource::new(USAGE_PLATFORM_URI, "usage-platform")
            .with_title("Platform usage")
            .with_description(
                "Admins: requests and tokens by plan today and over 7 days, the top users, and the burn rate",
            )
            .with_mime_type("application/json"),
        |scope, uri| async move {
            let report = scope
                .app
                .meter
                .usage_platform()
                .await
                .map_err(|e| McpError::internal_error(format!("usage unavailable: {e}"), None))?;
            crate::mcp::json_resource(&report, uri)
        },
    );
}
