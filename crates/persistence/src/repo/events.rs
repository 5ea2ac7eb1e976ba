//! The audit trail. Events have no foreign key to their credential: they outlive it.

use credvault_domain::audit::AuditEvent;
use credvault_domain::ids::{CredentialId, TeamId};
use diesel::prelude::*;

use crate::conn::DbConn;
use crate::error::db_error;
use crate::repo::{fetch_limit, into_page};
use crate::rows::AuditEventRow;
use crate::schema::audit_events;
use crate::{Page, PageRequest, StoreError};

pub(crate) fn insert(conn: &mut DbConn, event: &AuditEvent) -> Result<(), StoreError> {
    diesel::insert_into(audit_events::table)
        .values(&AuditEventRow::from_domain(event)?)
        .execute(conn)
        .map_err(db_error)?;
    Ok(())
}

/// A page of the credential's events; `NotFound` when the team holds no event of it at all (the
/// credential never existed in the team), whatever the cursor says, so that a cursor does not
/// turn the 404 of a missing credential into an empty page. A deleted credential keeps its trail
/// and so its pages.
pub(crate) fn list_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    credential_id: CredentialId,
    page: PageRequest,
) -> Result<Page<AuditEvent>, StoreError> {
    let mut query = audit_events::table
        .filter(audit_events::team_id.eq(team_id.to_string()))
        .filter(audit_events::credential_id.eq(credential_id.to_string()))
        .select(AuditEventRow::as_select())
        .order(audit_events::id.asc())
        .limit(fetch_limit(page))
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(audit_events::id.gt(after.to_string()));
    }
    let rows = query.load(conn).map_err(db_error)?;
    if rows.is_empty() && (page.after.is_none() || !any_in_team(conn, team_id, credential_id)?) {
        return Err(StoreError::NotFound);
    }
    into_page(rows, page, AuditEventRow::into_domain, |event| {
        *event.id.as_uuid()
    })
}

/// Whether the team holds any event of the credential.
fn any_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    credential_id: CredentialId,
) -> Result<bool, StoreError> {
    diesel::select(diesel::dsl::exists(
        audit_events::table
            .filter(audit_events::team_id.eq(team_id.to_string()))
            .filter(audit_events::credential_id.eq(credential_id.to_string())),
    ))
    .get_result(conn)
    .map_err(db_error)
}
