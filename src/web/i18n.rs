//! The interface language of the web log: English or French, chosen by the `hotline_lang`
//! cookie (set by the FR / EN links) or else by the browser's Accept-Language.
//!
//! Texts are looked up by their English wording, gettext style, so a page reads naturally in
//! the source and a text without a translation still shows, in English.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use std::convert::Infallible;

pub const LANG_COOKIE: &str = "hotline_lang";

/// The language a page is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Fr,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            _ => None,
        }
    }

    /// The cookie first, then the first of the browser's languages that we have.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        if let Some(lang) = super::auth::cookie(headers, LANG_COOKIE).and_then(Lang::parse) {
            return lang;
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mut ranked: Vec<(f32, Lang)> = accept
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let lang = Lang::parse(tag.split('-').next()?)?;
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(1.0);
                Some((q, lang))
            })
            .collect();
        // Stable sort: among equal weights the browser's order wins.
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.first().map(|(_, l)| *l).unwrap_or_default()
    }

    /// `en` in this language (itself when there is no translation).
    pub fn t(self, en: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Fr => french(en).unwrap_or(en),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Lang, Infallible> {
        Ok(Lang::from_headers(&parts.headers))
    }
}

fn french(en: &str) -> Option<&'static str> {
    Some(match en {
        // Frame and login.
        "Call log" => "Journal des appels",
        "Take call" => "Prendre l'appel",
        "Call back" => "Rappeler",
        "Conversation" => "Conversation",
        "Statistics" => "Statistiques",
        "Log out" => "Se déconnecter",
        "Log in" => "Connexion",
        "Name" => "Nom",
        "Password" => "Mot de passe",
        "Wrong name or password." => "Nom ou mot de passe incorrect.",
        "Too many failed logins from your address; wait {} s and try again." => {
            "Trop d'échecs de connexion depuis votre adresse ; attendez {} s et réessayez."
        }
        // Call log.
        "Status" => "Statut",
        "status" => "statut",
        "Priority" => "Priorité",
        "Category" => "Catégorie",
        "Call" => "Appel",
        "From" => "Du",
        "To" => "Au",
        "Filter" => "Filtrer",
        "Search" => "Rechercher",
        "words, number, name, HD-…" => "mots, numéro, nom, HD-…",
        "New calls: reload" => "Nouveaux appels : recharger",
        "any" => "tous",
        "Ticket" => "Ticket",
        "Received (UTC)" => "Reçu (UTC)",
        "Caller" => "Appelant",
        "Assignee" => "Assigné à",
        "No tickets." => "Aucun ticket.",
        "← Newer" => "← Plus récents",
        "Older →" => "Plus anciens →",
        "Page" => "Page",
        "Export CSV" => "Exporter en CSV",
        "all pages" => "toutes les pages",
        // Ticket page.
        "Language" => "Langue",
        "Impact / urgency" => "Impact / urgence",
        "Estimate told to the caller" => "Délai annoncé à l'appelant",
        "none given" => "aucun",
        // The estimate, in the words of the prompts the caller heard.
        "one minute" => "une minute",
        "minutes" => "minutes",
        "one hour" => "une heure",
        "one day" => "un jour",
        "days" => "jours",
        "and" => "et",
        "Change" => "Modifier",
        "Acknowledge" => "Prendre en compte",
        "In progress" => "En cours",
        "Resolve" => "Résoudre",
        "Close" => "Clore",
        "Assign to" => "Assigner à",
        "Assign" => "Assigner",
        "Answers" => "Réponses",
        "Voicemail" => "Message vocal",
        "Transcript" => "Transcription",
        "Draft: the voicemail is still being transcribed, part by part." => {
            "Brouillon : le message vocal est encore en cours de transcription, partie par partie."
        }
        "Draft: the whole recording is being transcribed once more; this text will be replaced." => {
            "Brouillon : l'enregistrement entier est transcrit une seconde fois ; ce texte sera remplacé."
        }
        "Call timeline" => "Déroulement de l'appel",
        "Notes and changes" => "Notes et modifications",
        "Add note" => "Ajouter une note",
        "unassigned" => "désassigné",
        "assigned to" => "assigné à",
        "no priority" => "sans priorité",
        // Statistics.
        "Recurring within" => "Récurrence sur",
        "hours" => "heures",
        "Show" => "Afficher",
        "{calls} calls from {from} to {to} (UTC days)." => {
            "{calls} appels du {from} au {to} (jours UTC)."
        }
        "Calls per day" => "Appels par jour",
        "Calls per category" => "Appels par catégorie",
        "none chosen" => "non choisie",
        "Priorities" => "Priorités",
        "Share of calls per priority" => "Part des appels par priorité",
        "Abandoned calls" => "Appels abandonnés",
        "{n} of {total} ended calls abandoned ({rate})." => {
            "{n} appels terminés sur {total} abandonnés ({rate})."
        }
        "Abandoned calls per menu step" => "Abandons par étape du menu",
        "Response times" => "Délais de réponse",
        "Target" => "Objectif",
        "Met" => "Tenu",
        "Missed" => "Manqué",
        "Open, overdue" => "Ouvert, en retard",
        "Open, within target" => "Ouvert, dans les délais",
        "Met of answered" => "Tenus sur traités",
        "Time to answer and queue abandonment" => "Délai de prise d'appel et abandons en file",
        "Time to answer runs from the start of the call to a technician taking it (median and 90th percentile). Queue abandonment counts the calls that waited in a queue and have ended, and how many of their callers hung up there." => {
            "Le délai de prise d'appel va du début de l'appel au décroché d'un technicien (médiane et 90e centile). Les abandons en file comptent les appels terminés qui ont attendu dans une file, et combien de leurs appelants y ont raccroché."
        }
        "Answered by a technician" => "Pris par un technicien",
        "Median time to answer" => "Délai médian",
        "90th percentile" => "90e centile",
        "Ended after queueing" => "Terminés après attente en file",
        "Abandoned in queue" => "Abandonnés en file",
        "Median time to answer by a technician" => "Délai médian de prise d'appel par un technicien",
        "Recurring incidents" => "Incidents récurrents",
        "Tickets of one category whose transcripts share at least {share} of their words, within {hours} hours of each other." => {
            "Tickets d'une même catégorie dont les transcriptions partagent au moins {share} de leurs mots, à moins de {hours} heures d'intervalle."
        }
        "None found." => "Aucun.",
        // Who is on call and the rota edit pages.
        "Who is on call" => "Qui est d'astreinte",
        "On call" => "Astreinte",
        "available" => "disponible",
        "on a call" => "en ligne",
        "away" => "absent",
        "offline" => "hors ligne",
        "primary" => "principal",
        "secondary" => "second",
        "lead" => "responsable",
        "Mon" => "lun.",
        "Tue" => "mar.",
        "Wed" => "mer.",
        "Thu" => "jeu.",
        "Fri" => "ven.",
        "Sat" => "sam.",
        "Sun" => "dim.",
        "covers" => "remplace",
        "takes the shift" => "prend l'astreinte",
        "no phone" => "aucun téléphone",
        "reachable" => "joignable",
        "unreachable" => "injoignable",
        "not rung" => "pas appelé",
        "override" => "remplacement",
        "Time zone" => "Fuseau horaire",
        "Business hours" => "Heures ouvrées",
        "Categories" => "Catégories",
        "none" => "aucune",
        "Edit" => "Modifier",
        "On call now" => "D'astreinte maintenant",
        "On call at the chosen time" => "D'astreinte à l'heure choisie",
        "Nobody is on call." => "Personne n'est d'astreinte.",
        "Queue" => "File d'attente",
        "Waiting" => "Attend depuis",
        "Nobody is waiting." => "Personne n'attend.",
        "Call-back requests" => "Demandes de rappel",
        "Nobody is waiting for a call-back." => "Personne n'attend de rappel.",
        "Team" => "Équipe",
        "Position" => "Rang",
        "Technician" => "Technicien",
        "Presence now" => "Présence actuelle",
        "Phones" => "Téléphones",
        "Rings for" => "Sonne pendant",
        "Shifts" => "Astreintes",
        "Times in" => "Heures en",
        "No rotation covers this time." => "Aucun roulement ne couvre cette période.",
        "Until" => "Jusqu'au",
        "Primary" => "Principal",
        "Secondary" => "Second",
        "Lead" => "Responsable",
        "Overrides" => "Remplacements",
        "Override" => "Remplacement",
        "Technicians' phones" => "Téléphones des techniciens",
        "No technician yet." => "Aucun technicien pour l'instant.",
        "Phone" => "Téléphone",
        "Transport" => "Transport",
        "Address" => "Adresse",
        "State" => "État",
        "Registration expires" => "Fin d'enregistrement",
        "no phone registered" => "aucun téléphone enregistré",
        "Shown for" => "Affiché pour",
        "Back to now" => "Revenir à maintenant",
        "Edit teams, rotations and overrides" => "Modifier les équipes, roulements et remplacements",
        "No team yet." => "Aucune équipe pour l'instant.",
        "an IANA name, e.g. Europe/Paris" => "un nom IANA, par ex. Europe/Paris",
        "rung after the primary and the secondary" => "appelé après le principal et le second",
        "e.g. mon-fri 08:00-18:00, local time" => "par ex. mon-fri 08:00-18:00, heure locale",
        "Members" => "Membres",
        "account names, separated by commas" => "noms de comptes, séparés par des virgules",
        "of:" => "parmi :",
        "A category has one team: listing it here moves it from its current team." => "Une catégorie a une seule équipe : l'indiquer ici la retire de son équipe actuelle.",
        "Save team" => "Enregistrer l'équipe",
        "always" => "toujours",
        "business hours" => "heures ouvrées",
        "out of hours" => "hors heures ouvrées",
        "Rotation" => "Roulement",
        "Rotations" => "Roulements",
        "Covers" => "Couvre",
        "Handover" => "Relève",
        "daily HH:MM or weekly DAY HH:MM, local time" => "daily HH:MM ou weekly JOUR HH:MM (jour en anglais : mon…sun), heure locale",
        "Starts on" => "Commence le",
        "Members in turn order" => "Membres dans l'ordre des tours",
        "Save rotation" => "Enregistrer le roulement",
        "Add rotation" => "Ajouter le roulement",
        "Delete rotation" => "Supprimer le roulement",
        "Remove" => "Retirer",
        "Covering" => "Remplaçant",
        "Covered" => "Remplacé",
        "empty: takes the whole shift" => "vide : prend toute l'astreinte",
        "Add override" => "Ajouter le remplacement",
        "Teams" => "Équipes",
        "New team" => "Nouvelle équipe",
        "Teams and rotations" => "Équipes et roulements",
        "All teams" => "Toutes les équipes",
        "Delete team" => "Supprimer l'équipe",
        "New rotation" => "Nouveau roulement",
        "No override." => "Aucun remplacement.",
        "New override" => "Nouveau remplacement",
        "calls" => "appels",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_cookie_wins_over_the_browser() {
        let h = headers(&[
            (header::COOKIE, "a=b; hotline_lang=fr"),
            (header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9"),
        ]);
        assert_eq!(Lang::from_headers(&h), Lang::Fr);
    }

    #[test]
    fn accept_language_is_ranked_by_weight() {
        let h = headers(&[(header::ACCEPT_LANGUAGE, "de-DE, en;q=0.5, fr-CA;q=0.8")]);
        assert_eq!(Lang::from_headers(&h), Lang::Fr);
        let h = headers(&[(header::ACCEPT_LANGUAGE, "fr-FR, en;q=0.9")]);
        assert_eq!(Lang::from_headers(&h), Lang::Fr);
        assert_eq!(Lang::from_headers(&HeaderMap::new()), Lang::En);
        let h = headers(&[(header::ACCEPT_LANGUAGE, "de, es;q=0.4")]);
        assert_eq!(Lang::from_headers(&h), Lang::En);
    }

    #[test]
    fn untranslated_text_stays_english() {
        assert_eq!(Lang::Fr.t("Call log"), "Journal des appels");
        assert_eq!(Lang::Fr.t("no such text"), "no such text");
        assert_eq!(Lang::En.t("Call log"), "Call log");
    }
}
