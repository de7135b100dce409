//! The account as the algebra sees it: `Role`, `ManagedPolicy`, `Usage` (with
//! `ServiceUsage` and `Granularity`) and the planning `Settings`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use whittle_policy::model::Granularity;
use whittle_policy::{ManagedPolicy, Role, ServiceUsage, Settings, Usage};

use super::error::{
    ConvertError, Problem, enumeration, key, nested, non_empty, opt_time, time, time_text,
};
use crate::types::v1 as pb;

impl From<Role> for pb::Role {
    fn from(role: Role) -> Self {
        let Role {
            arn,
            role_id,
            name,
            path,
            create_date,
            tags,
            permissions_boundary,
            last_used,
            inline_policies,
            attached_policies,
        } = role;
        pb::Role {
            arn,
            role_id,
            name,
            path,
            create_date: time_text(create_date),
            tags,
            permissions_boundary,
            last_used: last_used.map(time_text),
            inline_policies,
            attached_policies,
        }
    }
}

impl TryFrom<pb::Role> for Role {
    type Error = ConvertError;

    fn try_from(role: pb::Role) -> Result<Self, ConvertError> {
        let pb::Role {
            arn,
            role_id,
            name,
            path,
            create_date,
            tags,
            permissions_boundary,
            last_used,
            inline_policies,
            attached_policies,
        } = role;
        Ok(Role {
            arn: non_empty("Role", "arn", arn)?,
            role_id: non_empty("Role", "role_id", role_id)?,
            name: non_empty("Role", "name", name)?,
            path,
            create_date: time("Role", "create_date", &create_date)?,
            tags,
            permissions_boundary,
            last_used: opt_time("Role", "last_used", last_used)?,
            inline_policies,
            attached_policies,
        })
    }
}

impl From<ManagedPolicy> for pb::ManagedPolicy {
    fn from(policy: ManagedPolicy) -> Self {
        let ManagedPolicy {
            arn,
            name,
            path,
            policy_id,
            default_version_id,
            attachment_count,
            permissions_boundary_usage_count,
            document,
        } = policy;
        pb::ManagedPolicy {
            arn,
            name,
            path,
            policy_id,
            default_version_id,
            attachment_count,
            permissions_boundary_usage_count,
            document,
        }
    }
}

impl TryFrom<pb::ManagedPolicy> for ManagedPolicy {
    type Error = ConvertError;

    fn try_from(policy: pb::ManagedPolicy) -> Result<Self, ConvertError> {
        let pb::ManagedPolicy {
            arn,
            name,
            path,
            policy_id,
            default_version_id,
            attachment_count,
            permissions_boundary_usage_count,
            document,
        } = policy;
        Ok(ManagedPolicy {
            arn: non_empty("ManagedPolicy", "arn", arn)?,
            name,
            path,
            policy_id,
            default_version_id,
            attachment_count,
            permissions_boundary_usage_count,
            document,
        })
    }
}

impl From<Granularity> for pb::Granularity {
    fn from(granularity: Granularity) -> Self {
        match granularity {
            Granularity::Service => pb::Granularity::Service,
            Granularity::Action => pb::Granularity::Action,
        }
    }
}

impl From<ServiceUsage> for pb::ServiceUsage {
    fn from(usage: ServiceUsage) -> Self {
        let ServiceUsage {
            last_authenticated,
            actions,
        } = usage;
        pb::ServiceUsage {
            last_authenticated: last_authenticated.map(time_text),
            actions: actions
                .into_iter()
                .map(|(name, last_used)| {
                    let last_used = last_used.map(time_text);
                    (name, pb::ActionUsage { last_used })
                })
                .collect(),
        }
    }
}

impl TryFrom<pb::ServiceUsage> for ServiceUsage {
    type Error = ConvertError;

    fn try_from(usage: pb::ServiceUsage) -> Result<Self, ConvertError> {
        const MESSAGE: &str = "ServiceUsage";
        let pb::ServiceUsage {
            last_authenticated,
            actions,
        } = usage;
        let actions = actions
            .into_iter()
            .map(|(name, pb::ActionUsage { last_used })| {
                let at = key("actions", &name);
                lowercase(MESSAGE, &at, &name, "an action name")?;
                let last_used = opt_time(MESSAGE, &format!("{at}.last_used"), last_used)?;
                Ok((name, last_used))
            })
            .collect::<Result<BTreeMap<String, Option<DateTime<Utc>>>, ConvertError>>()?;
        Ok(ServiceUsage {
            last_authenticated: opt_time(MESSAGE, "last_authenticated", last_authenticated)?,
            actions,
        })
    }
}

/// Usage is keyed by lowercase names: another key would never be looked up.
fn lowercase(
    message: &'static str,
    field: &str,
    name: &str,
    what: &str,
) -> Result<(), ConvertError> {
    if name.is_empty() {
        return Err(ConvertError::new(message, field, Problem::Empty));
    }
    if name.chars().any(char::is_uppercase) {
        let problem = Problem::Invalid(format!("{what} must be lowercase"));
        return Err(ConvertError::new(message, field, problem));
    }
    Ok(())
}

impl From<Usage> for pb::Usage {
    fn from(usage: Usage) -> Self {
        let Usage {
            observed_at,
            granularity,
            services,
        } = usage;
        pb::Usage {
            observed_at: time_text(observed_at),
            granularity: pb::Granularity::from(granularity).into(),
            services: services.into_iter().map(|(k, v)| (k, v.into())).collect(),
        }
    }
}

impl TryFrom<pb::Usage> for Usage {
    type Error = ConvertError;

    fn try_from(usage: pb::Usage) -> Result<Self, ConvertError> {
        let pb::Usage {
            observed_at,
            granularity,
            services,
        } = usage;
        let granularity = match enumeration("Usage", "granularity", "Granularity", granularity)? {
            pb::Granularity::Service => Granularity::Service,
            pb::Granularity::Action => Granularity::Action,
            pb::Granularity::Unspecified => {
                return Err(ConvertError::new("Usage", "granularity", Problem::Missing));
            }
        };
        let services = services
            .into_iter()
            .map(|(name, service)| {
                let at = key("services", &name);
                lowercase("Usage", &at, &name, "a service prefix")?;
                Ok((name, nested("Usage", &at, service)?))
            })
            .collect::<Result<BTreeMap<String, ServiceUsage>, ConvertError>>()?;
        Ok(Usage {
            observed_at: time("Usage", "observed_at", &observed_at)?,
            granularity,
            services,
        })
    }
}

impl From<Settings> for pb::Settings {
    fn from(settings: Settings) -> Self {
        let Settings {
            unused_days,
            min_role_age_days,
            max_usage_age_days,
            norepo_sid_prefix,
            never_remove,
            exclusions,
            exclusion_version,
        } = settings;
        pb::Settings {
            unused_days,
            min_role_age_days,
            max_usage_age_days,
            norepo_sid_prefix,
            never_remove,
            exclusions,
            exclusion_version,
        }
    }
}

/// Settings are validated as well as converted: the error names the key.
impl TryFrom<pb::Settings> for Settings {
    type Error = ConvertError;

    fn try_from(settings: pb::Settings) -> Result<Self, ConvertError> {
        let pb::Settings {
            unused_days,
            min_role_age_days,
            max_usage_age_days,
            norepo_sid_prefix,
            never_remove,
            exclusions,
            exclusion_version,
        } = settings;
        let settings = Settings {
            unused_days,
            min_role_age_days,
            max_usage_age_days,
            norepo_sid_prefix,
            never_remove,
            exclusions,
            exclusion_version,
        };
        settings
            .validate()
            .map_err(|e| ConvertError::new("Settings", "", Problem::Settings(e)))?;
        Ok(settings)
    }
}
