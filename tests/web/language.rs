//! The French and English interface: chosen by the browser, switched by a link, remembered.

use super::Web;

#[tokio::test]
async fn the_browser_language_picks_the_interface_and_the_link_switches_it() {
    let web = Web::start().await;
    let (cookie, _) = web.session().await;

    let login = web
        .get("/login", &[("Accept-Language", "fr-FR,fr;q=0.9,en;q=0.8")])
        .await;
    assert!(login.text().contains(r#"<html lang="fr">"#));
    assert!(login.text().contains("Mot de passe"), "{}", login.text());

    let english = web.get("/tickets", &[("Cookie", &cookie)]).await;
    assert!(english.text().contains("<h1>Call log</h1>"));
    assert!(english.text().contains(r#"href="/lang/fr""#));

    let switch = web
        .get(
            "/lang/fr",
            &[("Referer", "http://127.0.0.1:8080/tickets?priority=P1")],
        )
        .await;
    assert_eq!(switch.status, 303);
    assert_eq!(switch.header("location"), Some("/tickets?priority=P1"));
    let lang = switch.cookie("hotline_lang").expect("language cookie");
    assert_eq!(lang, "fr");

    let both = format!("{cookie}; hotline_lang={lang}");
    let french = web
        .get("/tickets", &[("Cookie", &both), ("Accept-Language", "en")])
        .await;
    let text = french.text();
    assert!(text.contains("<h1>Journal des appels</h1>"), "{text}");
    assert!(text.contains("Priorité") && text.contains("Exporter en CSV"));
    assert!(text.contains(r#"href="/lang/en""#));

    let stats = web.get("/stats", &[("Cookie", &both)]).await;
    assert_eq!(stats.status, 200);
    assert!(stats.text().contains("Appels par jour"));
}

#[tokio::test]
async fn the_switch_refuses_unknown_languages_and_foreign_redirects() {
    let web = Web::start().await;
    assert_eq!(web.get("/lang/de", &[]).await.status, 400);
    let away = web
        .get(
            "/lang/en",
            &[("Referer", "http://evil.example//evil.example/x")],
        )
        .await;
    assert_eq!(away.status, 303);
    assert_eq!(away.header("location"), Some("/tickets"));
    let none = web.get("/lang/en", &[]).await;
    assert_eq!(none.header("location"), Some("/tickets"));
}

/// The caller heard "12 hours" (the IVR's words for the stored estimate); the ticket page says
/// the same, in English or in French, rather than a count of minutes.
#[tokio::test]
async fn the_ticket_page_shows_the_estimate_as_the_caller_heard_it() {
    let web = Web::start().await;
    let (reference, _) = web.seed_ticket("800").await;
    let t = web
        .store()
        .ticket_by_ref(&reference.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let (cookie, _) = web.session().await;
    let path = format!("/tickets/{reference}");
    let french = format!("{cookie}; hotline_lang=fr");
    for (estimate, english, in_french) in [
        (12 * 3600, "12 hours", "12 heures"),
        (
            90 * 60,
            "one hour and 30 minutes",
            "une heure et 30 minutes",
        ),
        (3 * 86400, "3 days", "3 jours"),
    ] {
        web.store()
            .set_estimate(t.id, std::time::Duration::from_secs(estimate))
            .await
            .unwrap();
        let html = web.get(&path, &[("Cookie", &cookie)]).await.text();
        assert!(
            html.contains(&format!("<td>{english}</td>")),
            "{english}: {html}"
        );
        assert!(!html.contains("minutes</td>") || english.ends_with("minutes"));
        let html = web.get(&path, &[("Cookie", &french)]).await.text();
        assert!(
            html.contains(&format!("<td>{in_french}</td>")),
            "{in_french}: {html}"
        );
    }
}
