//! The rota edit forms' handlers (leads only): save a team, a rotation, an override; delete a
//! team, a rotation, an override. Each checks, in this order, the login, the role, the form's
//! fields (typed: a bad value is a 422 naming the field), the CSRF token and the accounts the
//! form names, and only then writes, with the same store functions as the command line, so a
//! refused form leaves the rota as it was.

use super::rota_fields::{
    CategoryList, Day, Field, LocalDateTime, Name, OptionalUser, TimeZoneName, UserList,
};
use super::CsrfForm;
use crate::oncall::{local_instant, BusinessHours, Coverage, Handover, Rotation, Team};
use crate::store::{Store, TeamSettings};
use crate::web::auth::Auth;
use crate::web::html::{esc, page};
use crate::web::i18n::Lang;
use crate::web::{AppState, PageError, WebError};
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use serde::Deserialize;

/// A name as one URL path segment: teams made on the command line may hold any character.
pub(crate) fn path_segment(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where a team's edit page is.
pub(crate) fn team_url(team: &str) -> String {
    format!("/oncall/teams/{}", path_segment(team))
}

/// The team named in the path: 404 if there is none.
pub(crate) async fn load_team(store: &Store, name: &str) -> Result<Team, WebError> {
    store
        .rota(Utc::now())
        .await?
        .teams
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| WebError::NotFound(format!("no team `{name}`")))
}

/// Refuses a form naming an account that does not exist, naming the field.
async fn check_accounts<'a>(
    store: &Store,
    named: impl IntoIterator<Item = (&'static str, &'a str)>,
) -> Result<(), WebError> {
    let accounts = store.user_names().await?;
    for (field, name) in named {
        if !accounts.iter().any(|a| a == name) {
            return Err(WebError::Unprocessable(format!(
                "{field}: no account `{name}` (add one with `hotline user add`)"
            )));
        }
    }
    Ok(())
}

/// A refused rota form: the error page names what was wrong and links back to the form (the
/// browser's Back button keeps what was typed). Not logged in: the login page, as elsewhere.
pub(crate) struct FormError {
    error: WebError,
    back: String,
}

impl IntoResponse for FormError {
    fn into_response(self) -> Response {
        if matches!(self.error, WebError::Unauthorized) {
            return PageError(self.error).into_response();
        }
        self.error.log();
        let body = page(
            Lang::En,
            "Error",
            None,
            &format!(
                r#"<p class="error">{}</p><p><a href="{}">Back to the form</a></p>"#,
                esc(&self.error.to_string()),
                esc(&self.back)
            ),
        );
        (self.error.status(), Html(body)).into_response()
    }
}

/// The edit page of the team in the path, or the team list when there is no path to go by.
fn back_to(team: Option<&str>) -> String {
    team.map_or_else(|| "/oncall/teams".to_string(), team_url)
}

/// Login, then role, then the form: a technician is refused (403) whatever the form says.
fn lead_with_form<T>(
    auth: Result<Auth, WebError>,
    form: Result<Form<T>, FormRejection>,
) -> Result<(Auth, T), WebError> {
    let auth = auth?;
    auth.require_lead()?;
    let Form(form) = form?;
    Ok((auth, form))
}

/// A team's settings, members and categories.
#[cfg(test)]
mod tests {
    #[test]
    fn names_are_escaped_as_path_segments() {
        assert_eq!(
            super::team_url("night shift/2#a"),
            "/oncall/teams/night%20shift%2F2%23a"
        );
        assert_eq!(super::team_url("network"), "/oncall/teams/network");
    }
}

#[derive(Deserialize)]
pub(crate) struct TeamForm {
    csrf: Option<String>,
    name: Field<Name>,
    time_zone: Field<TimeZoneName>,
    #[serde(default)]
    lead: Field<OptionalUser>,
    business_hours: Field<BusinessHours>,
    #[serde(default)]
    members: Field<UserList>,
    #[serde(default)]
    categories: Field<CategoryList>,
    /// Set by the "new team" form: an existing team of that name is refused, not overwritten.
    #[serde(default)]
    new: bool,
}

pub(crate) async fn save_team(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    form: Result<Form<TeamForm>, FormRejection>,
) -> Result<Redirect, FormError> {
    let back = "/oncall/teams".to_string();
    async {
        let (auth, form) = lead_with_form(auth, form)?;
        auth.check_csrf(form.csrf.as_deref())?;
        let lead = form.lead.0 .0;
        let members = form.members.0 .0;
        check_accounts(
            &state.store,
            lead.iter()
                .map(|l| ("lead", l.as_str()))
                .chain(members.iter().map(|m| ("members", m.as_str()))),
        )
        .await?;
        let name = form.name.0 .0;
        if form.new && state.store.rota(Utc::now()).await?.team(&name).is_some() {
            return Err(WebError::Unprocessable(format!(
                "name: a team `{name}` already exists (edit it on its own page)"
            )));
        }
        state
            .store
            .replace_team(
                &TeamSettings {
                    name: name.clone(),
                    time_zone: form.time_zone.0 .0,
                    lead,
                    business_hours: form.business_hours.0,
                },
                &members,
                &form.categories.0 .0,
            )
            .await?;
        Ok::<_, WebError>(Redirect::to(&team_url(&name)))
    }
    .await
    .map_err(|error| FormError { error, back })
}

pub(crate) async fn delete_team(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    team: Result<Path<String>, PathRejection>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Redirect, FormError> {
    let back = back_to(team.as_ref().ok().map(|Path(t)| t.as_str()));
    async {
        let (auth, form) = lead_with_form(auth, form)?;
        let Path(team) = team?;
        auth.check_csrf(form.csrf.as_deref())?;
        // Already gone (a second click) is not an error: the list no longer shows it either way.
        state.store.delete_team(&team).await?;
        Ok::<_, WebError>(Redirect::to("/oncall/teams"))
    }
    .await
    .map_err(|error| FormError { error, back })
}

/// A rotation: members take turns in the order given.
#[derive(Deserialize)]
pub(crate) struct RotationForm {
    csrf: Option<String>,
    name: Field<Name>,
    coverage: Field<Coverage>,
    handover: Field<Handover>,
    starts_on: Field<Day>,
    members: Field<UserList>,
    /// Set by the "new rotation" form: an existing rotation of that name is refused, not
    /// replaced.
    #[serde(default)]
    new: bool,
}

pub(crate) async fn save_rotation(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    team: Result<Path<String>, PathRejection>,
    form: Result<Form<RotationForm>, FormRejection>,
) -> Result<Redirect, FormError> {
    let back = back_to(team.as_ref().ok().map(|Path(t)| t.as_str()));
    async {
        let (auth, form) = lead_with_form(auth, form)?;
        let Path(team) = team?;
        auth.check_csrf(form.csrf.as_deref())?;
        let team = load_team(&state.store, &team).await?;
        let name = form.name.0 .0;
        if form.new
            && state
                .store
                .rota(Utc::now())
                .await?
                .rotations
                .iter()
                .any(|r| r.team == team.name && r.name == name)
        {
            return Err(WebError::Unprocessable(format!(
                "name: {} already has a rotation `{name}` (change it in its own form)",
                team.name
            )));
        }
        let members = form.members.0 .0;
        if members.is_empty() {
            return Err(WebError::Unprocessable(
                "members: a rotation needs at least one member".into(),
            ));
        }
        check_accounts(
            &state.store,
            members.iter().map(|m| ("members", m.as_str())),
        )
        .await?;
        state
            .store
            .save_rotation(&Rotation {
                team: team.name.clone(),
                name,
                coverage: form.coverage.0,
                handover: form.handover.0,
                starts_on: form.starts_on.0 .0,
                members,
            })
            .await?;
        Ok::<_, WebError>(Redirect::to(&team_url(&team.name)))
    }
    .await
    .map_err(|error| FormError { error, back })
}

pub(crate) async fn delete_rotation(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    path: Result<Path<(String, String)>, PathRejection>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Redirect, FormError> {
    let back = back_to(path.as_ref().ok().map(|Path((t, _))| t.as_str()));
    async {
        let (auth, form) = lead_with_form(auth, form)?;
        let Path((team, rotation)) = path?;
        auth.check_csrf(form.csrf.as_deref())?;
        let team = load_team(&state.store, &team).await?;
        state.store.delete_rotation(&team.name, &rotation).await?;
        Ok::<_, WebError>(Redirect::to(&team_url(&team.name)))
    }
    .await
    .map_err(|error| FormError { error, back })
}

/// Someone covers a colleague (or, with `covered` empty, takes the whole shift) from one
/// local date-time to another, in the team's time zone.
#[derive(Deserialize)]
pub(crate) struct OverrideForm {
    csrf: Option<String>,
    covering: Field<Name>,
    #[serde(default)]
    covered: Field<OptionalUser>,
    from: Field<LocalDateTime>,
    until: Field<LocalDateTime>,
}

pub(crate) async fn add_override(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    team: Result<Path<String>, PathRejection>,
    form: Result<Form<OverrideForm>, FormRejection>,
) -> Result<Redirect, FormError> {
    let back = back_to(team.as_ref().ok().map(|Path(t)| t.as_str()));
    async {
        let (auth, form) = lead_with_form(auth, form)?;
        let Path(team) = team?;
        auth.check_csrf(form.csrf.as_deref())?;
        let team = load_team(&state.store, &team).await?;
        let covering = form.covering.0 .0;
        let covered = form.covered.0 .0;
        let from = local_instant(team.time_zone, form.from.0 .0);
        let until = local_instant(team.time_zone, form.until.0 .0);
        if until <= from {
            return Err(WebError::Unprocessable(
                "until: must be after `from`".into(),
            ));
        }
        if covered.as_deref() == Some(covering.as_str()) {
            return Err(WebError::Unprocessable(
                "covered: someone cannot cover themself".into(),
            ));
        }
        check_accounts(
            &state.store,
            std::iter::once(("covering", covering.as_str()))
                .chain(covered.iter().map(|c| ("covered", c.as_str()))),
        )
        .await?;
        state
            .store
            .add_override(&team.name, &covering, covered.as_deref(), from, until)
            .await?;
        Ok::<_, WebError>(Redirect::to(&team_url(&team.name)))
    }
    .await
    .map_err(|error| FormError { error, back })
}

pub(crate) async fn remove_override(
    State(state): State<AppState>,
    auth: Result<Auth, WebError>,
    path: Result<Path<(String, i64)>, PathRejection>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Redirect, FormError> {
    let back = back_to(path.as_ref().ok().map(|Path((t, _))| t.as_str()));
    async {
        let (auth, form) = lead_with_form(auth, form)?;
        let Path((team, id)) = path?;
        auth.check_csrf(form.csrf.as_deref())?;
        let team = load_team(&state.store, &team).await?;
        // Already removed (a second click) is not an error.
        state.store.remove_team_override(&team.name, id).await?;
        Ok::<_, WebError>(Redirect::to(&team_url(&team.name)))
    }
    .await
    .map_err(|error| FormError { error, back })
}
