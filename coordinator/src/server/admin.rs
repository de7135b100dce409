//! AdminService: what operators read and do. A viewer reads; an operator also approves and
//! rolls back; an admin also manages exclusion rules. Every mutating call, allowed or not,
//! leaves an entry in the audit log with the caller from its certificate.

use std::future::Future;

use chrono::Utc;
use tonic::{Request, Response, Status};
use whittle_proto::admin::v1 as pb;
use whittle_proto::admin::v1::admin_service_server::AdminService;
use whittle_proto::convert::{AuditQuery, HistoryQuery, NewExclusion, is_account_id};
use whittle_proto::identity::{Identity, OperatorRole};

use super::actions::{approve, cancel_covered, push_rules, rollback};
use super::auth::{self, Need, ServerError, status};
use super::{Shared, campaigns, org, wire};
use crate::store::{AuditFilter, ExclusionRule, HistoryFilter, NewAuditEntry, NewRule};

/// The most history entries one call returns.
const MAX_HISTORY: usize = 1000;

/// The AdminService handler.
#[derive(Debug)]
pub struct Admin {
    shared: Shared,
}

impl Admin {
    pub fn new(shared: Shared) -> Admin {
        Admin { shared }
    }

    /// Authorises a read.
    fn reader<T>(&self, request: &Request<T>, what: &str) -> Result<Identity, Status> {
        auth::authorize(request, Need::Operator(OperatorRole::Viewer), what).map_err(status)
    }

    /// Authorises a mutating call, runs it, and records it in the audit log whatever the
    /// result, denial included. A failure to write the audit entry is logged; the call's own
    /// result is returned.
    async fn audited<T, Fut>(
        &self,
        identity: Result<Identity, ServerError>,
        action: &str,
        target: String,
        run: impl FnOnce(String) -> Fut,
    ) -> Result<T, Status>
    where
        Fut: Future<Output = Result<(T, String), ServerError>>,
    {
        let (who, result) = match identity {
            Ok(identity) => {
                let who = auth::who(&identity);
                let author = match &identity {
                    Identity::Operator { name, .. } => name.clone(),
                    _ => who.clone(),
                };
                (who, run(author).await)
            }
            Err(ServerError::Denied { who, what }) => {
                (who.clone(), Err(ServerError::Denied { who, what }))
            }
            // No identity: nobody to record.
            Err(e) => return Err(status(e)),
        };
        let outcome = match &result {
            Ok((_, summary)) => summary.clone(),
            Err(e) => format!("error: {e}"),
        };
        let entry = NewAuditEntry {
            who,
            action: action.to_string(),
            target,
            result: outcome,
        };
        self.shared.audit(entry).await;
        result.map(|(value, _)| value).map_err(status)
    }
}

fn need<T>(request: &Request<T>, role: OperatorRole, what: &str) -> Result<Identity, ServerError> {
    auth::authorize(request, Need::Operator(role), what)
}

pub(super) fn account(account_id: &str) -> Result<(), ServerError> {
    if is_account_id(account_id) {
        Ok(())
    } else {
        Err(ServerError::Protocol(format!(
            "account_id {account_id:?} is not a 12-digit account id"
        )))
    }
}

#[tonic::async_trait]
impl AdminService for Admin {
    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        self.reader(&request, "list accounts")?;
        let accounts = self.shared.blocking(|s| s.list_accounts()).await;
        let accounts = accounts.map_err(status)?;
        Ok(Response::new(pb::ListAccountsResponse {
            accounts: accounts.into_iter().map(wire::account_summary).collect(),
        }))
    }

    async fn list_roles(
        &self,
        request: Request<pb::ListRolesRequest>,
    ) -> Result<Response<pb::ListRolesResponse>, Status> {
        self.reader(&request, "list roles")?;
        let account_id = request.into_inner().account_id;
        account(&account_id).map_err(status)?;
        let plans = self
            .shared
            .blocking(move |s| s.list_plans(&account_id))
            .await;
        let plans = plans.map_err(status)?;
        Ok(Response::new(pb::ListRolesResponse {
            roles: plans.iter().map(wire::role_summary).collect(),
        }))
    }

    async fn get_plan(
        &self,
        request: Request<pb::GetPlanRequest>,
    ) -> Result<Response<pb::GetPlanResponse>, Status> {
        self.reader(&request, "read plans")?;
        let pb::GetPlanRequest {
            account_id,
            role_name,
        } = request.into_inner();
        account(&account_id).map_err(status)?;
        let key = format!("{account_id}/{role_name}");
        let (account_for_ann, role_for_ann) = (account_id.clone(), role_name.clone());
        let plan = self
            .shared
            .blocking(move |s| s.get_plan(&account_id, &role_name))
            .await
            .and_then(|p| p.ok_or_else(|| ServerError::NotFound(format!("no plan for {key}"))))
            .and_then(wire::plan_summary)
            .map_err(status)?;
        let announcements =
            campaigns::announcements(&self.shared, &account_for_ann, &role_for_ann, Utc::now())
                .await
                .map_err(status)?;
        Ok(Response::new(pb::GetPlanResponse {
            plan: Some(plan.into()),
            announcements,
        }))
    }

    async fn approve(
        &self,
        request: Request<pb::ApproveRequest>,
    ) -> Result<Response<pb::ApproveResponse>, Status> {
        let identity = need(&request, OperatorRole::Operator, "approve plans");
        let req = request.into_inner();
        let target = if req.all_removable {
            format!("account {} (all removable)", req.account_id)
        } else {
            format!(
                "account {} roles {}",
                req.account_id,
                req.role_names.join(",")
            )
        };
        let decisions = self
            .audited(identity, "approve", target, |author| {
                approve(&self.shared, req, author)
            })
            .await?;
        Ok(Response::new(pb::ApproveResponse { decisions }))
    }

    async fn list_exclusions(
        &self,
        request: Request<pb::ListExclusionsRequest>,
    ) -> Result<Response<pb::ListExclusionsResponse>, Status> {
        self.reader(&request, "list exclusions")?;
        let (version, rules) = self
            .shared
            .blocking(|s| s.rules_at_version())
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListExclusionsResponse {
            rules: Some(wire::rules_to_wire(version, rules).into()),
        }))
    }

    async fn add_exclusion(
        &self,
        request: Request<pb::AddExclusionRequest>,
    ) -> Result<Response<pb::AddExclusionResponse>, Status> {
        let identity = need(&request, OperatorRole::Admin, "add exclusion rules");
        let req = request.into_inner();
        let target = format!("reason {:?}", req.reason);
        let (rule, version) = self
            .audited(identity, "add_exclusion", target, |author| async move {
                let new = NewExclusion::try_from(req)?;
                let rule = NewRule {
                    selector: wire::selector_to_store(new.selector),
                    reason: new.reason,
                    author,
                    expires_at: new.expires_at,
                };
                let (rule, version) = self
                    .shared
                    .blocking(move |s| s.add_rule(rule, Utc::now()))
                    .await?;
                let pushed = push_rules(&self.shared).await?;
                let cancelled = cancel_covered(&self.shared).await?;
                let summary = format!(
                    "ok: rule {} version {version}, {pushed} agents, {cancelled} pending \
                     decisions cancelled",
                    rule.id
                );
                Ok(((rule, version), summary))
            })
            .await?;
        Ok(Response::new(pb::AddExclusionResponse {
            rule: Some(wire::rule_to_wire(rule).into()),
            version,
        }))
    }

    async fn remove_exclusion(
        &self,
        request: Request<pb::RemoveExclusionRequest>,
    ) -> Result<Response<pb::RemoveExclusionResponse>, Status> {
        let identity = need(&request, OperatorRole::Admin, "remove exclusion rules");
        let id = request.into_inner().id;
        let target = format!("rule {id}");
        let version = self
            .audited(identity, "remove_exclusion", target, |_| async move {
                let (_, version): (ExclusionRule, u64) =
                    self.shared.blocking(move |s| s.remove_rule(&id)).await?;
                let pushed = push_rules(&self.shared).await?;
                Ok((version, format!("ok: version {version}, {pushed} agents")))
            })
            .await?;
        Ok(Response::new(pb::RemoveExclusionResponse { version }))
    }

    async fn history(
        &self,
        request: Request<pb::HistoryRequest>,
    ) -> Result<Response<pb::HistoryResponse>, Status> {
        self.reader(&request, "read history")?;
        let query = HistoryQuery::try_from(request.into_inner()).map_err(ServerError::from);
        let query = query.map_err(status)?;
        let limit = query
            .limit
            .map_or(MAX_HISTORY, |l| (l as usize).min(MAX_HISTORY));
        let filter = HistoryFilter {
            account_id: query.account_id,
            changes: whittle_policy::change::ChangeFilter {
                role_name: query.role_name,
                since: query.since,
                ..Default::default()
            },
            limit: Some(limit),
            newest_first: true,
        };
        let changes = self.shared.blocking(move |s| s.history(&filter)).await;
        Ok(Response::new(pb::HistoryResponse {
            changes: changes
                .map_err(status)?
                .into_iter()
                .map(Into::into)
                .collect(),
        }))
    }

    async fn rollback(
        &self,
        request: Request<pb::RollbackRequest>,
    ) -> Result<Response<pb::RollbackResponse>, Status> {
        let identity = need(&request, OperatorRole::Operator, "roll back");
        let req = request.into_inner();
        let target = match &req.target {
            Some(pb::rollback_request::Target::RoleName(r)) => {
                format!("account {} role {r}", req.account_id)
            }
            Some(pb::rollback_request::Target::ChangeId(c)) => {
                format!("account {} change {c}", req.account_id)
            }
            Some(pb::rollback_request::Target::Since(t)) => {
                format!("account {} since {t}", req.account_id)
            }
            None => format!("account {} (no target)", req.account_id),
        };
        let response = self
            .audited(identity, "rollback", target, |author| {
                rollback(&self.shared, req, author)
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn audit(
        &self,
        request: Request<pb::AuditRequest>,
    ) -> Result<Response<pb::AuditResponse>, Status> {
        self.reader(&request, "read the audit log")?;
        let query = AuditQuery::try_from(request.into_inner()).map_err(ServerError::from);
        let query = query.map_err(status)?;
        let filter = AuditFilter {
            since: query.since,
            after_seq: None,
            limit: query.limit.map(|l| l as usize),
            newest_first: true,
        };
        let entries = self.shared.blocking(move |s| s.audit(&filter)).await;
        Ok(Response::new(pb::AuditResponse {
            entries: entries
                .map_err(status)?
                .into_iter()
                .map(wire::audit_entry)
                .collect(),
        }))
    }
    async fn list_decisions(
        &self,
        request: Request<pb::ListDecisionsRequest>,
    ) -> Result<Response<pb::ListDecisionsResponse>, Status> {
        self.reader(&request, "list decisions")?;
        let decisions = org::list_decisions(&self.shared, request.into_inner()).await;
        Ok(Response::new(pb::ListDecisionsResponse {
            decisions: decisions.map_err(status)?,
        }))
    }

    async fn get_rollback(
        &self,
        request: Request<pb::GetRollbackRequest>,
    ) -> Result<Response<pb::GetRollbackResponse>, Status> {
        self.reader(&request, "read rollback requests")?;
        let id = request.into_inner().request_id;
        let response = org::get_rollback(&self.shared, id).await;
        Ok(Response::new(response.map_err(status)?))
    }

    async fn create_campaign(
        &self,
        request: Request<pb::CreateCampaignRequest>,
    ) -> Result<Response<pb::CreateCampaignResponse>, Status> {
        let identity = need(&request, OperatorRole::Operator, "create campaigns");
        let req = request.into_inner();
        let target = if req.accounts.is_empty() {
            "all accounts".to_string()
        } else {
            format!("accounts {}", req.accounts.join(","))
        };
        let settings = self.shared.campaign_settings;
        let campaign = self
            .audited(identity, "create_campaign", target, |author| {
                campaigns::create(&self.shared, req, author, settings)
            })
            .await?;
        Ok(Response::new(pb::CreateCampaignResponse {
            campaign: Some(campaigns::to_wire(campaign)),
        }))
    }

    async fn list_campaigns(
        &self,
        request: Request<pb::ListCampaignsRequest>,
    ) -> Result<Response<pb::ListCampaignsResponse>, Status> {
        self.reader(&request, "list campaigns")?;
        let list = self.shared.blocking(|s| s.list_campaigns()).await;
        Ok(Response::new(pb::ListCampaignsResponse {
            campaigns: list
                .map_err(status)?
                .into_iter()
                .rev()
                .map(campaigns::to_wire)
                .collect(),
        }))
    }

    async fn get_campaign(
        &self,
        request: Request<pb::GetCampaignRequest>,
    ) -> Result<Response<pb::GetCampaignResponse>, Status> {
        self.reader(&request, "read campaigns")?;
        let id = request.into_inner().campaign_id;
        let key = id.clone();
        let campaign = self
            .shared
            .blocking(move |s| s.get_campaign(&key))
            .await
            .and_then(|c| c.ok_or_else(|| ServerError::NotFound(format!("no campaign {id}"))))
            .map_err(status)?;
        Ok(Response::new(pb::GetCampaignResponse {
            campaign: Some(campaigns::to_wire(campaign)),
        }))
    }

    async fn control_campaign(
        &self,
        request: Request<pb::ControlCampaignRequest>,
    ) -> Result<Response<pb::ControlCampaignResponse>, Status> {
        let identity = need(&request, OperatorRole::Operator, "control campaigns");
        let pb::ControlCampaignRequest {
            campaign_id,
            control,
        } = request.into_inner();
        let control =
            pb::CampaignControl::try_from(control).unwrap_or(pb::CampaignControl::Unspecified);
        let action = match control {
            pb::CampaignControl::Pause => "pause_campaign",
            pb::CampaignControl::Resume => "resume_campaign",
            pb::CampaignControl::Cancel => "cancel_campaign",
            pb::CampaignControl::Unspecified => "control_campaign",
        };
        let target = format!("campaign {campaign_id}");
        let campaign = self
            .audited(identity, action, target, |author| async move {
                campaigns::control(&self.shared, campaign_id, control, &author).await
            })
            .await?;
        Ok(Response::new(pb::ControlCampaignResponse {
            campaign: Some(campaigns::to_wire(campaign)),
        }))
    }

    async fn add_opt_out(
        &self,
        request: Request<pb::AddOptOutRequest>,
    ) -> Result<Response<pb::AddOptOutResponse>, Status> {
        let identity = need(&request, OperatorRole::Operator, "add opt-outs");
        let req = request.into_inner();
        let target = format!("{}/{}", req.account_id, req.role_name);
        let opt_out = self
            .audited(identity, "add_opt_out", target, |author| {
                org::add_opt_out(&self.shared, req, author)
            })
            .await?;
        Ok(Response::new(pb::AddOptOutResponse {
            opt_out: Some(opt_out),
        }))
    }

    async fn list_opt_outs(
        &self,
        request: Request<pb::ListOptOutsRequest>,
    ) -> Result<Response<pb::ListOptOutsResponse>, Status> {
        self.reader(&request, "list opt-outs")?;
        let include_expired = request.into_inner().include_expired;
        let now = Utc::now();
        let list = self.shared.blocking(|s| s.list_opt_outs()).await;
        Ok(Response::new(pb::ListOptOutsResponse {
            opt_outs: list
                .map_err(status)?
                .into_iter()
                .filter(|o| include_expired || o.is_active(now))
                .map(|o| org::opt_out_to_wire(o, now))
                .collect(),
        }))
    }

    async fn remove_opt_out(
        &self,
        request: Request<pb::RemoveOptOutRequest>,
    ) -> Result<Response<pb::RemoveOptOutResponse>, Status> {
        let identity = need(&request, OperatorRole::Operator, "remove opt-outs");
        let pb::RemoveOptOutRequest {
            account_id,
            role_name,
        } = request.into_inner();
        let target = format!("{account_id}/{role_name}");
        self.audited(identity, "remove_opt_out", target, |_| async move {
            account(&account_id)?;
            self.shared
                .blocking(move |s| s.remove_opt_out(&account_id, &role_name))
                .await?;
            Ok(((), "ok".to_string()))
        })
        .await?;
        Ok(Response::new(pb::RemoveOptOutResponse {}))
    }

    async fn report(
        &self,
        request: Request<pb::ReportRequest>,
    ) -> Result<Response<pb::ReportResponse>, Status> {
        self.reader(&request, "read the report")?;
        let top = request.into_inner().top;
        let report = org::report(&self.shared, top, Utc::now()).await;
        Ok(Response::new(report.map_err(status)?))
    }
}
