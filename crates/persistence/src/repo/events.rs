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

/// A page of the credential's events in `seq` order (the order they were written in); the cursor
/// is the id of the last event of the previous page.
///
/// `NotFound` when the team holds no event of the credential at all (the credential never
/// existed in the team), whatever the cursor says, so that a cursor does not turn the 404 of a
/// missing credential into an empty page. A deleted credential keeps its trail and so its pages.
/// A cursor that names no event of this trail gives an empty page.
pub(crate) fn list_in_team(
    conn: &mut DbConn,
    team_id: TeamId,
    credential_id: CredentialId,
    page: PageRequest,
) -> Result<Page<AuditEvent>, StoreError> {
    let team = team_id.to_string();
    let credential = credential_id.to_string();
    let after_seq = match page.after {
        None => None,
        Some(after) => {
            let seq = audit_events::table
                .filter(audit_events::id.eq(after.to_string()))
                .filter(audit_events::team_id.eq(&team))
                .filter(audit_events::credential_id.eq(&credential))
                .select(audit_events::seq)
                .get_result::<i64>(conn)
                .optional()
                .map_err(db_error)?;
            match seq {
                Some(seq) => Some(seq),
                None if any_in_team(conn, team_id, credential_id)? => {
                    return Ok(Page {
                        items: Vec::new(),
                        next_after: None,
                    });
                }
                None => return Err(StoreError::NotFound),
            }
        }
    };
    let mut query = audit_events::table
        .filter(audit_events::team_id.eq(&team))
        .filter(audit_events::credential_id.eq(&credential))
        .select(AuditEventRow::as_select())
        .order(audit_events::seq.asc())
        .limit(fetch_limit(page))
        .into_boxed();
    if let Some(after_seq) = after_seq {
        query = query.filter(audit_events::seq.gt(after_seq));
    }
    let rows = query.load(conn).map_err(db_error)?;
    // With a cursor the trail is known to exist: the cursor's event is in it.
    if rows.is_empty() && after_seq.is_none() {
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
