//! The tiny HTML toolkit of the web log: escaping and the page frame. Pages are written with
//! `format!`, and every value that came from a caller or a user goes through `esc`.

use super::i18n::Lang;
use crate::tickets::Priority;

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A priority as colour *and* text, so it reads without colour vision too.
pub fn priority_badge(priority: Option<Priority>) -> String {
    match priority {
        Some(p) => format!(
            r#"<span class="prio p{}">{} {}</span>"#,
            p.level(),
            p,
            p.label()
        ),
        None => r#"<span class="prio none">no priority</span>"#.to_string(),
    }
}

/// The common frame: title, navigation with the logged-in user, and the logout form.
pub fn page(lang: Lang, title: &str, user: Option<(&str, &str)>, body: &str) -> String {
    let switch = match lang {
        Lang::En => r#"<a href="/lang/fr" hreflang="fr" lang="fr">Français</a>"#,
        Lang::Fr => r#"<a href="/lang/en" hreflang="en" lang="en">English</a>"#,
    };
    // Logged-in pages pop up the calls routed to their technician (`/assets/phone.js`).
    let phone = if user.is_some() {
        r#"<script src="/assets/phone.js" defer></script>"#
    } else {
        ""
    };
    let nav = match user {
        Some((name, csrf)) => format!(
            r#"<nav><a href="/">{}</a> <a href="/tickets">{}</a> <a href="/stats">{}</a> <a href="/oncall">{}</a> <span class="who">{}</span>
<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{}"><button>{}</button></form> {switch}</nav>"#,
            lang.t("Home"),
            lang.t("Call log"),
            lang.t("Statistics"),
            lang.t("On call"),
            esc(name),
            esc(csrf),
            lang.t("Log out"),
        ),
        None => format!("<nav>{switch}</nav>"),
    };
    format!(
        r#"<!doctype html>
<html lang="{code}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Hotline</title>
<link rel="stylesheet" href="/assets/hotline.css">{phone}</head>
<body>{nav}
<h1>{title}</h1>
{body}
</body></html>"#,
        title = esc(title),
        code = lang.code()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_caller_data_is_escaped() {
        assert_eq!(
            esc(r#"<script>"x"&'y'</script>"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn priority_is_shown_as_text_as_well_as_colour() {
        let badge = priority_badge(Priority::new(1));
        assert!(
            badge.contains("p1") && badge.contains("P1 critical"),
            "{badge}"
        );
    }
}
