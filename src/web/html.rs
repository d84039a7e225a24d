//! The tiny HTML toolkit of the web log: escaping and the page frame. Pages are written with
//! `format!`, and every value that came from a caller or a user goes through `esc`.

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
pub fn page(title: &str, user: Option<(&str, &str)>, body: &str) -> String {
    let nav = match user {
        Some((name, csrf)) => format!(
            r#"<nav><a href="/tickets">Call log</a> <span class="who">{}</span>
<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{}"><button>Log out</button></form></nav>"#,
            esc(name),
            esc(csrf)
        ),
        None => String::new(),
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Hotline</title>
<style>
body{{font-family:system-ui,sans-serif;margin:1rem 2rem;color:#222}}
table{{border-collapse:collapse}} td,th{{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}}
.prio{{padding:.1rem .4rem;border-radius:.3rem;font-weight:600;white-space:nowrap}}
.p1{{background:#b00020;color:#fff}} .p2{{background:#e65100;color:#fff}} .p3{{background:#f9a825;color:#000}}
.p4{{background:#2e7d32;color:#fff}} .p5{{background:#546e7a;color:#fff}} .none{{background:#eee}}
.live{{background:#fff3cd;padding:.4rem .8rem}} .inline{{display:inline}} nav{{margin-bottom:1rem}} .who{{margin:0 1rem}} .error{{color:#b00020}}
</style></head>
<body>{nav}
<h1>{title}</h1>
{body}
</body></html>"#,
        title = esc(title)
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
