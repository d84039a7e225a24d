//! One test per class of dialplan mistake, each asserting the exact report.

use hotline::ivr::check_str;
use std::path::{Path, PathBuf};

fn prompts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts")
}

const HEADER: &str = r#"[dialplan]
start = "welcome"
languages = ["en", "fr"]

[defaults]
invalid_prompt = "invalid_choice"
timeout_prompt = "no_input"
"#;

/// The report for `nodes` appended to the standard header.
fn report(nodes: &str) -> String {
    let text = format!("{HEADER}{nodes}");
    match check_str(&text, Path::new("plan.toml"), &prompts()) {
        Ok(_) => "ok".into(),
        Err(r) => r.to_string(),
    }
}

const END: &str = "\n[nodes.bye]\nkind = \"hangup\"\nprompts = [\"goodbye\"]\n";

#[test]
fn a_valid_small_plan_passes() {
    let plan = "\n[nodes.welcome]\nkind = \"play\"\nprompts = [\"welcome\"]\nnext = \"bye\"\n";
    assert_eq!(report(&format!("{plan}{END}")), "ok");
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let r = report("\n[nodes.welcome\nkind = \"play\"\n");
    assert_eq!(r, "plan.toml:9:15: unclosed table, expected `]`");
}

#[test]
fn unknown_node_kind_is_named() {
    let r = report("\n[nodes.welcome]\nkind = \"plai\"\nprompts = [\"welcome\"]\nnext = \"bye\"\n");
    assert_eq!(
        r,
        "plan.toml:10:8: node `welcome`: unknown kind `plai`, expected one of `play`, `menu`, `collect`, `record`, `say`, `branch`, `set`, `route`, `goto`, `hangup`"
    );
}

#[test]
fn unknown_field_is_named() {
    let r = report("\n[nodes.welcome]\nkind = \"play\"\nprompts = [\"welcome\"]\nnext = \"bye\"\nnxet = \"bye\"\n");
    assert!(r.contains("unknown field `nxet`"), "{r}");
}

#[test]
fn unknown_node_reference_points_at_the_reference() {
    let plan = "\n[nodes.welcome]\nkind = \"play\"\nprompts = [\"welcome\"]\nnext = \"byee\"\n";
    // Graph checks (reachability) wait until every reference resolves.
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:12:8: node `welcome`: next refers to unknown node `byee`"
    );
}

#[test]
fn missing_start_node_is_reported() {
    let r = report(END);
    assert!(
        r.contains("plan.toml:2:9: start node `welcome` does not exist"),
        "{r}"
    );
}

#[test]
fn missing_prompt_is_reported_per_language() {
    let plan =
        "\n[nodes.welcome]\nkind = \"play\"\nprompts = [\"no_such_prompt\"]\nnext = \"bye\"\n";
    let r = report(&format!("{plan}{END}"));
    let p = prompts();
    assert_eq!(
        r,
        format!(
            "plan.toml:11:12: node `welcome`: prompt `no_such_prompt` has no `en` recording ({}/en/no_such_prompt.wav is missing)\n\
             plan.toml:11:12: node `welcome`: prompt `no_such_prompt` has no `fr` recording ({}/fr/no_such_prompt.wav is missing)",
            p.display(),
            p.display()
        )
    );
}

#[test]
fn unreachable_node_is_reported() {
    let plan = "\n[nodes.welcome]\nkind = \"play\"\nprompts = [\"welcome\"]\nnext = \"bye\"\n\n[nodes.orphan]\nkind = \"goto\"\nnext = \"bye\"\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:14:1: node `orphan` is unreachable from the start node `welcome`"
    );
}

#[test]
fn menu_without_options_is_reported() {
    let plan = "\n[nodes.welcome]\nkind = \"menu\"\nprompts = [\"choose_category\"]\noptions = {}\nfallback = \"bye\"\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:9:1: node `welcome`: menu has no options, so the caller has no way out"
    );
}

#[test]
fn menu_key_must_be_a_single_key() {
    let plan = "\n[nodes.welcome]\nkind = \"menu\"\nprompts = [\"choose_category\"]\noptions.\"12\" = { next = \"bye\" }\nfallback = \"bye\"\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:12:9: node `welcome`: option `12` is not a single key (0-9, *, #, A-D)"
    );
}

#[test]
fn menu_without_invalid_prompt_is_reported() {
    let text = "[dialplan]\nstart = \"m\"\nlanguages = [\"en\"]\n\n[nodes.m]\nkind = \"menu\"\nprompts = [\"choose_category\"]\noptions.\"1\" = { next = \"bye\" }\nfallback = \"bye\"\n\n[nodes.bye]\nkind = \"hangup\"\n";
    let r = check_str(text, Path::new("plan.toml"), &prompts())
        .unwrap_err()
        .to_string();
    assert_eq!(
        r,
        "plan.toml:5:1: node `m`: no invalid_prompt (set one here or in [defaults])\n\
         plan.toml:5:1: node `m`: no timeout_prompt (set one here or in [defaults])"
    );
}

#[test]
fn invalid_ticket_value_is_named() {
    let plan = "\n[nodes.welcome]\nkind = \"menu\"\nprompts = [\"choose_category\"]\noptions.\"1\" = { next = \"bye\", set = { category = \"printer\" } }\nfallback = \"bye\"\n";
    let r = report(&format!("{plan}{END}"));
    assert!(
        r.contains(
            "unknown category `printer` (expected one of: hardware software network account other)"
        ),
        "{r}"
    );
}

#[test]
fn loop_without_input_is_reported() {
    let plan = "\n[nodes.welcome]\nkind = \"play\"\nprompts = [\"welcome\"]\nnext = \"again\"\n\n[nodes.again]\nkind = \"goto\"\nnext = \"welcome\"\n";
    let r = report(plan);
    assert!(r.contains("plan.toml:14:1: nodes `again` → `welcome` → `again` loop without ever waiting for the caller"), "{r}");
    assert!(
        r.contains("node `welcome` can never reach a hangup node"),
        "{r}"
    );
}

#[test]
fn branch_value_must_exist() {
    let plan = "\n[nodes.welcome]\nkind = \"branch\"\non = \"priority\"\ncases = { P9 = \"bye\" }\ndefault = \"bye\"\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:12:11: node `welcome`: `P9` is not a priority value"
    );
}

#[test]
fn unreadable_file_is_reported() {
    let r = hotline::ivr::check_file(Path::new("/nonexistent/plan.toml"), &prompts())
        .unwrap_err()
        .to_string();
    assert_eq!(
        r,
        "/nonexistent/plan.toml: cannot read the dialplan: No such file or directory (os error 2)"
    );
}
