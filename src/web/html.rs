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
    let nav = match user {
        Some((name, csrf)) => format!(
            r#"<nav><a href="/tickets">{}</a> <a href="/stats">{}</a> <span class="who">{}</span>
<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{}"><button>{}</button></form> {switch}</nav>"#,
            lang.t("Call log"),
            lang.t("Statistics"),
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
<style>
body{{font-family:system-ui,sans-serif;margin:1rem 2rem;color:#222}}
table{{border-collapse:collapse}} td,th{{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}}
.prio{{padding:.1rem .4rem;border-radius:.3rem;font-weight:600;white-space:nowrap}}
.p1{{background:#b00020;color:#fff}} .p2{{background:#e65100;color:#fff}} .p3{{background:#f9a825;color:#000}}
.p4{{background:#2e7d32;color:#fff}} .p5{{background:#546e7a;color:#fff}} .none{{background:#eee}}
svg.chart{{display:block;margin:.5rem 0;font-size:12px}} svg .axis{{fill:#555;font-size:10px}}
rect.bar{{fill:#3b6ea5}} rect.p1{{fill:#b00020}} rect.p2{{fill:#e65100}} rect.p3{{fill:#f9a825}}
rect.p4{{fill:#2e7d32}} rect.p5{{fill:#546e7a}} rect.none{{fill:#bbb}}
.live{{background:#fff3cd;padding:.4rem .8rem}} .inline{{display:inline}} nav{{margin-bottom:1rem}} .who{{margin:0 1rem}} .error{{color:#b00020}}
</style></head>
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
