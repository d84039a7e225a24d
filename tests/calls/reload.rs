//! A dialplan can be reloaded while the server runs; a broken one is refused and the running
//! one kept.

use crate::support::server::{repo, TestServer};
use crate::support::ua::Ua;
use hotline::tickets::{Category, Disposition};
use std::time::Duration;

#[tokio::test]
async fn reload_takes_a_valid_plan_for_new_calls_and_refuses_a_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::copy(repo().join("dialplans/hotline.toml"), &plan).unwrap();
    let server = TestServer::start_with(|c| c.dialplan = plan.clone()).await;
    let running = server.server.as_ref().unwrap();

    std::fs::write(&plan, "[dialplan]\nstart = \"nowhere\"\n").unwrap();
    let report = running.reload_dialplan().unwrap_err().to_string();
    assert!(report.contains("missing field `languages`"), "{report}");

    // A plan that files every call as "other" and hangs up at once.
    std::fs::write(
        &plan,
        "[dialplan]\nstart = \"s\"\nlanguages = [\"en\"]\n[nodes.s]\nkind = \"set\"\nset = { category = \"other\" }\nnext = \"bye\"\n\
         [nodes.bye]\nkind = \"hangup\"\nprompts = [\"goodbye\"]\n",
    )
    .unwrap();
    running.reload_dialplan().unwrap();
    let mut ua = Ua::udp(server.sip).await;
    ua.connect().await;
    ua.expect_bye(Duration::from_secs(10)).await;
    let t = crate::support::tickets::settled_ticket(running.store(), &ua.call_id).await;
    assert_eq!(
        t.category,
        Some(Category::Other),
        "the call used the reloaded plan"
    );
    assert_eq!(t.disposition, Disposition::Completed);
}

#[tokio::test]
async fn an_english_only_model_for_french_is_refused_at_start() {
    let data = tempfile::tempdir().unwrap();
    let mut config = crate::support::server::test_config(data.path());
    config.transcription.enabled = true;
    config
        .transcription
        .models
        .insert("fr".into(), "tiny.en".into());
    let err = hotline::server::Server::start(config)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert_eq!(err, "transcription model `tiny.en` cannot transcribe `fr` (it is English only); use `base` for fr");
}

#[tokio::test]
async fn an_english_only_default_model_is_refused_at_start() {
    let data = tempfile::tempdir().unwrap();
    let mut config = crate::support::server::test_config(data.path());
    config.transcription.enabled = true;
    config.transcription.default_model = "tiny.en".into();
    let err = hotline::server::Server::start(config)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert_eq!(
        err,
        "default transcription model `tiny.en` is English only, but it would get every caller \
         whose language is not English or not known; keep `default_model = \"base\"` and set \
         `models.en = \"tiny.en\"` instead"
    );
}
